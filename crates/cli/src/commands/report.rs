//! `lifeboat report`.

use super::*;

/// The region a run went into, from its id (`<app>-to-<region>-<window>`).
pub fn run_region(run: &str) -> Option<&str> {
    let (_, rest) = run.rsplit_once("-to-")?;
    let (region, _) = rest.rsplit_once('-')?;
    lifeboat_core::plan::is_region_name(region).then_some(region)
}

/// `report RUN [--html FILE]`.
pub async fn report(global: &Global, run: &str, html: Option<&Path>) -> Result<Output> {
    let run_id = lifeboat_core::run::RunId::parse(run)?;
    // A failover's report is kept by the copy it went into; a failback's (`-back-to-`) by the
    // copy it came home from (--region).
    let region = match run_region(run) {
        Some(r) if !run.contains("-back-to-") => r.to_string(),
        _ => global.region()?,
    };
    let params = SsmParameterStore::new(&sdk(global, &region).await?);
    let name = report_parameter(&global.app, run_id.as_str());
    let text = params.get(&name).await?.ok_or_else(|| {
        Error::not_found(format!(
            "no report at {name} in {region} (has the run ended? is --app right?)"
        ))
    })?;
    let report: Report = serde_json::from_str(&text)
        .map_err(|e| Error::internal(format!("the report at {name} is not readable: {e}")))?;
    let mut out = crate::html::text(&report);
    if let Some(path) = html {
        std::fs::write(path, crate::html::page(&report))
            .map_err(|e| Error::invalid_input(format!("cannot write {}: {e}", path.display())))?;
        let _ = writeln!(out, "HTML report: {}", path.display());
    }
    Ok(Output {
        text: out,
        json: to_json("the report", &report)?,
        exit: Exit::Ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_id_names_its_region() {
        assert_eq!(
            run_region("shop-to-us-west-2-1795309200"),
            Some("us-west-2")
        );
        assert_eq!(
            run_region("shop-to-us-west-2-1795309200-resume-1"),
            None,
            "a resumed run's id is not parsed; --region names it"
        );
        assert_eq!(run_region("nonsense"), None);
    }
}
