//! Error kinds shared by every crate. The kind survives from the adapter that saw the failure
//! to the Lambda `errorType` the state machine matches on.

use std::fmt;

/// What kind of failure this is. The string form ([`ErrorKind::as_str`]) is the stable
/// Lambda `errorType` and the only thing ASL `ErrorEquals` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// A network fault, timeout or 5xx: retrying later may succeed.
    Transient,
    /// The service throttled us: retry with backoff.
    Throttled,
    /// The world is not in a state that allows the action (e.g. the target is not ready,
    /// replication lag is above the guard, another operation is in progress).
    PreconditionFailed,
    /// The request or event is malformed; retrying the same input cannot succeed.
    InvalidInput,
    /// A named resource does not exist.
    NotFound,
    /// The caller lacks permission.
    AccessDenied,
    /// A bug or an answer we cannot interpret; not retried.
    Internal,
    /// The promotion possible now is riskier than the one a person approved (the primary
    /// stopped answering after a switchover was approved; the lag grew past what was shown):
    /// nothing was changed, and the workflow asks again.
    ApprovalOutdated,
}

impl ErrorKind {
    /// Every kind, in a stable order (used by contract tests of the ASL).
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::Transient,
        ErrorKind::Throttled,
        ErrorKind::PreconditionFailed,
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::AccessDenied,
        ErrorKind::Internal,
        ErrorKind::ApprovalOutdated,
    ];

    /// The stable `errorType` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Transient => "Transient",
            ErrorKind::Throttled => "Throttled",
            ErrorKind::PreconditionFailed => "PreconditionFailed",
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::AccessDenied => "AccessDenied",
            ErrorKind::Internal => "Internal",
            ErrorKind::ApprovalOutdated => "ApprovalOutdated",
        }
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Transient | ErrorKind::Throttled)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// lifeboat's error: a kind, a human message, and (for adapter errors) the original error as
/// `source()`, never flattened into the message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Source>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    pub fn precondition(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PreconditionFailed, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefix the message with what we were doing, keeping kind and source.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_are_stable_strings() {
        let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "Transient",
                "Throttled",
                "PreconditionFailed",
                "InvalidInput",
                "NotFound",
                "AccessDenied",
                "Internal",
                "ApprovalOutdated"
            ]
        );
    }

    #[test]
    fn only_transient_and_throttled_are_retryable() {
        for kind in ErrorKind::ALL {
            assert_eq!(
                kind.is_retryable(),
                matches!(kind, ErrorKind::Transient | ErrorKind::Throttled),
                "{kind}"
            );
        }
    }

    #[test]
    fn context_keeps_kind_and_source() {
        let io = std::io::Error::other("socket closed");
        let err = Error::with_source(ErrorKind::Transient, "DescribeGlobalClusters", io)
            .context("reading the global database");
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert_eq!(
            err.to_string(),
            "reading the global database: DescribeGlobalClusters"
        );
        let source = std::error::Error::source(&err).map(|s| s.to_string());
        assert_eq!(source.as_deref(), Some("socket closed"));
    }
}
