//! `lifeboat plan validate`.

use super::*;

/// `plan validate FILE`.
pub fn plan_validate(file: &Path) -> Result<Output> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        let msg = format!("cannot read {}: {e}", file.display());
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::not_found(msg)
        } else {
            Error::invalid_input(msg)
        }
    })?;
    match Plan::parse(&text).and_then(Plan::validate) {
        Ok(plan) => Ok(Output {
            text: format!(
                "{}: valid plan for app '{}' (primary {}, regions {})",
                file.display(),
                plan.app(),
                plan.primary_region(),
                plan.region_names().join(", ")
            ),
            json: json!({"valid": true, "app": plan.app(), "problems": []}),
            exit: Exit::Ok,
        }),
        Err(PlanError::Invalid(problems)) => {
            let mut text = format!("{}: {} problem(s)\n", file.display(), problems.len());
            for p in &problems {
                let _ = writeln!(text, "  {}: {}", p.field, p.message);
            }
            Ok(Output {
                text,
                json: json!({"valid": false, "problems": problems
                    .iter()
                    .map(|p| json!({"field": p.field, "message": p.message}))
                    .collect::<Vec<_>>()}),
                exit: Exit::Invalid,
            })
        }
        Err(other) => Ok(Output {
            text: format!("{}: {other}", file.display()),
            json: json!({"valid": false, "problems": [{"field": "", "message": other.to_string()}]}),
            exit: Exit::Invalid,
        }),
    }
}
