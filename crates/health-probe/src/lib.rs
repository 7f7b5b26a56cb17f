//! health-probe: lifeboat's canary. It runs on a schedule in the standby region (static
//! stability: an alarm that lives in the failed region dies with it) and probes the other
//! region's health endpoints in rounds, a round failing when any endpoint fails: a round every
//! `LIFEBOAT_PROBE_INTERVAL_MS` (9 s) for `LIFEBOAT_CANARY_WATCH_MS` (72 s, so each minute's
//! invocation overlaps the next), never fewer than the plan's `n` rounds. The plan's rule
//! (`triggers.canary`: k of the last n rounds) is judged after every round
//! ([`lifeboat_core::canary`]): the outage is reported the round it is reached.
//!
//! * Every invocation writes one CloudWatch Embedded Metric Format line to stdout: metrics
//!   `PrimaryProbeFailures`, `Probes` and `PrimaryHealthy` in namespace `Lifeboat`, dimensions `App` and
//!   `ProbedRegion`. CloudWatch Logs turns it into metrics; no API call on the probe's path. The
//!   plan's alarm (e.g. `PrimaryProbeFailures` >= k over a minute) watches them.
//! * The round at least `k` of the last `n` rounds failed (`triggers.canary.failures_required`),
//!   it stops probing and puts an EventBridge event (source `lifeboat.probe`, detail-type `Primary Unhealthy`, detail
//!   a [`CanaryReport`]) on this region's default bus, which alarm-to-failover accepts.

use std::collections::VecDeque;
use std::time::Duration;

use futures::future::join_all;
use lifeboat_core::canary::{self, Cadence, DEFAULT_CADENCE, Window};
use lifeboat_core::plan::{CanaryPlan, ValidPlan};
use lifeboat_core::ports::{Clock, EventPublisher, HttpGetter, ParameterStore};
use lifeboat_core::steps::judge;
use lifeboat_core::trigger::{CANARY_DETAIL_TYPE, CANARY_SOURCE, CanaryReport};
use lifeboat_core::{Error, Result, store};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The CloudWatch namespace of the canary's metrics.
pub use lifeboat_core::metrics::NAMESPACE;
use lifeboat_core::metrics::{self, Unit};

/// The function's configuration (from its environment, read once at init).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the plan is (`LIFEBOAT_PLAN_PARAMETER`) and the region this copy runs in
    /// (`AWS_REGION`): the other region is probed.
    pub plan: lifeboat_lambda::PlanConfig,
    /// From one round's start to the next (`LIFEBOAT_PROBE_INTERVAL_MS`, default 9000).
    pub interval: Duration,
    /// How long an invocation keeps starting rounds (`LIFEBOAT_CANARY_WATCH_MS`, default
    /// 72000): a little more than the schedule's minute, so that invocations overlap.
    pub watch: Duration,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &lifeboat_lambda::Env<F>) -> Result<Self> {
        Ok(Self {
            plan: lifeboat_lambda::PlanConfig::from_env(env)?,
            interval: env.millis("LIFEBOAT_PROBE_INTERVAL_MS", DEFAULT_CADENCE_MS.0, 60_000)?,
            watch: env.millis("LIFEBOAT_CANARY_WATCH_MS", DEFAULT_CADENCE_MS.1, 80_000)?,
        })
    }
}

pub use lifeboat_lambda::{LineSink, Scheduled, StdoutLines};

/// The template's cadence in milliseconds (interval, watch): core's [`DEFAULT_CADENCE`].
const DEFAULT_CADENCE_MS: (u64, u64) = (
    DEFAULT_CADENCE.interval_seconds as u64 * 1000,
    DEFAULT_CADENCE.watch_seconds as u64 * 1000,
);

/// The function's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub probed_region: String,
    pub probes: u32,
    pub failures: u32,
    /// Whether a `Primary Unhealthy` event was put.
    pub event_sent: bool,
    pub evidence: Vec<String>,
}

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<Http, Events, Params, Sink, Time> {
    pub http: Http,
    pub events: Events,
    pub params: Params,
    pub metrics: Sink,
    pub clock: Time,
}

/// The handler: built once at init, called per request.
#[derive(Debug)]
pub struct Handler<Http, Events, Params, Sink, Time> {
    pub config: Config,
    pub ports: Ports<Http, Events, Params, Sink, Time>,
}

impl<Http, Events, Params, Sink, Time> Handler<Http, Events, Params, Sink, Time>
where
    Http: HttpGetter,
    Events: EventPublisher,
    Params: ParameterStore,
    Sink: LineSink,
    Time: Clock,
{
    pub async fn handle(&self, event: Value) -> Result<Response> {
        Scheduled::parse("health-probe", event)?;
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        let probed = plan.other_region(&self.config.plan.region)?.to_string();
        let canary = plan.triggers().canary;
        let mut window = Window::new(&canary);
        let evidence = self.probe(&plan, &probed, &canary, &mut window).await?;
        let unhealthy = window.reached();
        // Reported: the failed rounds among the last n when the rule was reached, else the most
        // any n consecutive rounds held (the metric the alarm path reads).
        let failures = if unhealthy {
            window.failures()
        } else {
            window.worst()
        };
        self.ports.metrics.line(&emf(
            plan.app(),
            &probed,
            self.ports.clock.now(),
            canary.of_probes,
            failures,
            !unhealthy,
        ));
        if unhealthy {
            let report = CanaryReport {
                app: plan.app().to_string(),
                probed_region: probed.clone(),
                failures,
                probes: canary.of_probes,
                at: self.ports.clock.now(),
                evidence: evidence.clone(),
            };
            let detail = serde_json::to_string(&report)
                .map_err(|e| Error::internal(format!("canary report: {e}")))?;
            self.ports
                .events
                .put_event(
                    &self.config.plan.region,
                    CANARY_SOURCE,
                    CANARY_DETAIL_TYPE,
                    &detail,
                )
                .await?;
            tracing::warn!(probed = %probed, failures, probes = canary.of_probes, "primary unhealthy: event sent");
        } else {
            tracing::info!(probed = %probed, failures, probes = canary.of_probes, "probed");
        }
        Ok(Response {
            probed_region: probed,
            probes: canary.of_probes,
            failures,
            event_sent: unhealthy,
            evidence,
        })
    }

    /// Rounds `interval` apart (from the invocation's start) until the rule is reached or the
    /// watch is over; each round probes every endpoint at once and fails if any does. The
    /// evidence: what failed, in the rounds that count.
    async fn probe(
        &self,
        plan: &ValidPlan,
        region: &str,
        rule: &CanaryPlan,
        window: &mut Window,
    ) -> Result<Vec<String>> {
        let endpoints = &plan.region(region)?.health_endpoints;
        if endpoints.is_empty() {
            return Err(Error::invalid_input(format!(
                "regions.{region}.health_endpoints is empty: nothing to probe"
            )));
        }
        let cadence = Cadence {
            schedule_seconds: DEFAULT_CADENCE.schedule_seconds,
            interval_seconds: self.config.interval.as_secs_f64(),
            watch_seconds: self.config.watch.as_secs_f64(),
        };
        let rounds = canary::rounds(rule, &cadence);
        let started = tokio::time::Instant::now();
        let mut evidence: VecDeque<Vec<String>> = VecDeque::new();
        for i in 0..rounds {
            if i > 0 {
                tokio::time::sleep_until(started + self.config.interval * i).await;
            }
            let seen = join_all(endpoints.iter().map(|ep| async move {
                let timeout = Duration::from_millis(ep.timeout_ms.into());
                judge(ep, &self.ports.http.get(&ep.url, timeout).await)
            }))
            .await;
            let failed: Vec<String> = seen.into_iter().filter_map(|r| r.err()).collect();
            let reached = window.record(!failed.is_empty());
            evidence.push_back(failed);
            while evidence.len() > window.of() as usize {
                evidence.pop_front();
            }
            if reached {
                break;
            }
        }
        Ok(evidence.into_iter().flatten().collect())
    }
}

/// One Embedded Metric Format line: the canary's metrics ([`metrics`]).
pub fn emf(
    app: &str,
    probed_region: &str,
    at: time::OffsetDateTime,
    probes: u32,
    failures: u32,
    healthy: bool,
) -> String {
    metrics::emf(
        at,
        &[
            (metrics::DIM_APP, app),
            (metrics::DIM_PROBED_REGION, probed_region),
        ],
        &[
            (
                metrics::PRIMARY_PROBE_FAILURES,
                Unit::Count,
                u64::from(failures),
            ),
            (metrics::PROBES, Unit::Count, u64::from(probes)),
            (metrics::PRIMARY_HEALTHY, Unit::None, u64::from(healthy)),
        ],
    )
}

#[cfg(test)]
mod tests;
