//! Why a plan cannot be used: every problem, each naming its field.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, ErrorKind};

/// One validation problem, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a plan cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// Not JSON/YAML, or not of the plan's shape (unknown field, wrong type, missing field).
    #[error("the plan cannot be read: {0}")]
    Syntax(String),
    /// Well-formed, but wrong; every problem is listed.
    #[error("the plan has {} problem(s):\n{}", .0.len(), render_problems(.0))]
    Invalid(Vec<Problem>),
}

fn render_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl PlanError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            PlanError::Syntax(_) => &[],
            PlanError::Invalid(p) => p,
        }
    }
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Self {
        Error::new(ErrorKind::InvalidInput, e.to_string())
    }
}
