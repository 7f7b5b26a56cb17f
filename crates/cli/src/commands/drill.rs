//! `lifeboat drill`.

use super::*;

/// `drill [ARGS]`: the local drill, from a lifeboat checkout (the current directory or
/// `LIFEBOAT_REPO`).
pub fn drill(args: &[String]) -> Result<Exit> {
    let root = std::env::var_os("LIFEBOAT_REPO")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let script = root.join("scripts/drill.py");
    if !script.is_file() {
        return Err(Error::not_found(format!(
            "{} not found: run `lifeboat drill` from a lifeboat checkout (or set LIFEBOAT_REPO); \
             `make drill` sets everything up",
            script.display()
        )));
    }
    let python = root.join(".venv/bin/python");
    let python = if python.is_file() {
        python
    } else {
        std::path::PathBuf::from("python3")
    };
    let status = std::process::Command::new(python)
        .arg(&script)
        .args(args)
        .current_dir(&root)
        .status()
        .map_err(|e| Error::internal(format!("cannot run the drill: {e}")))?;
    Ok(match status.code() {
        Some(0) => Exit::Ok,
        Some(2) => Exit::Invalid,
        _ => Exit::Failed,
    })
}
