//! verify: after traffic moved, is the shop really served from the target region?
//!
//! Checks, all at once, each with its own timeout: the database writer is the target's cluster;
//! each of the target region's own health endpoints answers as the plan expects (status, body);
//! each public check (through the public name) answers as expected; with the plan's cache, the
//! target region's Sentinels all watch one of its nodes, which answers as the master. The answer
//! is `passed` or not, with one line of evidence per check. A failed check is an answer, not an
//! error: the state machine decides whether to look again or to report.

use std::time::Duration;

use futures::future::join_all;
use lifeboat_core::plan::{DatabaseProvider, HealthEndpoint, ValidPlan};
use lifeboat_core::ports::{CacheNodes, HttpGetter, ParameterStore};
use lifeboat_core::steps::judge;
use lifeboat_core::{Result, store};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The function's configuration (from its environment, read once at init).
pub use lifeboat_lambda::PlanConfig as Config;

/// A request, as the state machine (or `cargo lambda invoke`) sends it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Region that must now serve the shop (default: the function's own region).
    #[serde(default)]
    pub target_region: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    /// Which attempt this is (the workflow tries again until the plan's verify deadline).
    #[serde(default)]
    pub attempt: Option<u32>,
}

/// What kind of check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The target's cluster is the global database's writer.
    DatabaseWriter,
    /// One of the target region's own health endpoints.
    RegionalEndpoint,
    /// Through the public name.
    PublicName,
    /// The plan's cache: the target region's master, watched by its Sentinels.
    CacheMaster,
}

/// One check and its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub kind: CheckKind,
    pub passed: bool,
    pub evidence: String,
}

/// The function's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub passed: bool,
    pub target_region: String,
    /// The attempt this answer is for (1 when not given).
    pub attempt: u32,
    pub checks: Vec<Check>,
}

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<Http, Db, Params, Cache> {
    pub http: Http,
    pub db: Db,
    pub params: Params,
    pub cache: Cache,
}

/// The handler: built once at init, called per request.
#[derive(Debug)]
pub struct Handler<Http, Db, Params, Cache> {
    pub config: Config,
    pub ports: Ports<Http, Db, Params, Cache>,
}

impl<
    Http: HttpGetter,
    Db: lifeboat_core::ports::AnyDatabase,
    Params: ParameterStore,
    Cache: CacheNodes,
> Handler<Http, Db, Params, Cache>
{
    pub async fn handle(&self, event: Value) -> Result<Response> {
        let request: Request = lifeboat_lambda::parse_event("verify request", event)?;
        let plan = store::load_plan(&self.ports.params, &self.config.plan_parameter).await?;
        let target = request
            .target_region
            .unwrap_or_else(|| self.config.region.clone());
        let region = plan.region(&target)?;
        let http = region
            .health_endpoints
            .iter()
            .map(|ep| (CheckKind::RegionalEndpoint, ep))
            .chain(
                region
                    .public_checks
                    .iter()
                    .map(|ep| (CheckKind::PublicName, ep)),
            )
            .map(|(kind, ep)| self.http_check(kind, ep));
        let (db, http, cache) = futures::join!(
            self.writer_check(&plan, &target),
            join_all(http),
            self.cache_check(&plan, &target)
        );
        let mut checks = vec![db];
        checks.extend(http);
        checks.extend(cache);
        let passed = checks.iter().all(|c| c.passed);
        let attempt = request.attempt.unwrap_or(1).max(1);
        tracing::info!(run_id = request.run_id.as_deref().unwrap_or("-"), target = %target, attempt, passed, checks = ?checks, "verify");
        Ok(Response {
            passed,
            target_region: target,
            attempt,
            checks,
        })
    }

    async fn writer_check(&self, plan: &ValidPlan, target: &str) -> Check {
        let seen = lifeboat_core::database::writer_region(
            &self.ports.db,
            &self.ports.params,
            plan,
            target,
        )
        .await;
        let none = match plan.database_provider() {
            DatabaseProvider::AuroraGlobal => "the global database has no writer",
            DatabaseProvider::Patroni => "neither region's Patroni cluster has a primary",
            DatabaseProvider::Mysql => "neither region's MySQL server takes writes",
        };
        let (passed, evidence) = match seen {
            Ok(Some(w)) if w == target => (true, format!("database writer is in {target}")),
            Ok(Some(w)) => (false, format!("database writer is in {w}, not {target}")),
            Ok(None) => (false, none.to_string()),
            Err(e) => (false, format!("could not read the database writer: {e}")),
        };
        Check {
            kind: CheckKind::DatabaseWriter,
            passed,
            evidence,
        }
    }

    /// `None` without a cache in the plan.
    async fn cache_check(&self, plan: &ValidPlan, target: &str) -> Option<Check> {
        let cache = plan.cache()?;
        let region = plan.region(target).ok()?.cache.as_ref()?;
        let seen = async {
            let password = lifeboat_core::cache::password(&self.ports.params, cache).await?;
            lifeboat_core::cache::active_master(&self.ports.cache, cache, region, password.as_ref())
                .await
        }
        .await;
        let (passed, evidence) = match seen {
            Ok(master) => (
                true,
                format!(
                    "cache master is {master} in {target}, watched by its {} sentinel(s) as {}",
                    region.sentinels.len(),
                    cache.master_name
                ),
            ),
            Err(e) => (false, format!("cache: {}", e.message())),
        };
        Some(Check {
            kind: CheckKind::CacheMaster,
            passed,
            evidence,
        })
    }

    async fn http_check(&self, kind: CheckKind, ep: &HealthEndpoint) -> Check {
        let seen = self
            .ports
            .http
            .get(&ep.url, Duration::from_millis(ep.timeout_ms.into()))
            .await;
        let (passed, evidence) = match judge(ep, &seen) {
            Ok(e) => (true, e),
            Err(e) => (false, e),
        };
        Check {
            kind,
            passed,
            evidence,
        }
    }
}

#[cfg(test)]
mod tests;
