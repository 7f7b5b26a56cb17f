//! dns-flip: move the shop's traffic to the target region, in the plan's traffic mode.
//!
//! * `record_upsert`: each hosted zone's records in one atomic UPSERT batch (split only at the
//!   Route 53 request limits), zones in parallel; `status` then reports when every change is
//!   `INSYNC`. A zone whose records already read as planned is left alone.
//! * `health_check`: the other region's health checks are inverted (reported unhealthy) and the
//!   target's restored, so Route 53's failover records answer with the target.
//! * `routing_control`: the target's ARC routing controls `On` and the other region's `Off`, in
//!   one `UpdateRoutingControlStates` call, trying each cluster endpoint in turn until one
//!   answers (the data-plane path AWS recommends during a regional outage).
//! * `digitalocean` and `linode`: each domain's record sets through the provider's API
//!   (DigitalOcean's, or Linode's DNS Manager) with the token from the plan's SecureString (read
//!   for every flip), one request per record
//!   ([`lifeboat_core::traffic::reconcile`]: updates, then creates, then deletes), then every set
//!   read back; nothing to wait for afterwards (the provider serves what its API reads).
//!
//! * `guard` (the copy's schedule): the returning home region's traffic off. When another
//!   region holds the writer ([`lifeboat_core::fence::observe`]), traffic is flipped to the
//!   writer's region (nothing is sent when it already goes there); a change is said on the topic.
//!
//! Always first: the target region's database must be the global cluster's writer, or the flip
//! is refused (`PreconditionFailed`) and nothing changes. Every answer carries the previous
//! values, so the change can be undone.

use futures::future::join_all;
use lifeboat_core::fence::{self, GuardVerdict};
use lifeboat_core::plan::{ArcClusterEndpoint, DnsProvider, TrafficMode, ValidPlan};
use lifeboat_core::ports::{
    DomainRecord, DomainRecords, HealthChecks, Notifier, ParameterStore, RecordSets, RecordValue,
    RoutingControls, Secret,
};
use lifeboat_core::steps::upsert_batches;
use lifeboat_core::traffic::{
    self, DomainSets, Flip, Switch, ZoneRecords, domain_set_reads_as, reconcile, same_record,
};
use lifeboat_core::{Error, Result, store};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The function's configuration (from its environment, read once at init).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the plan is (`LIFEBOAT_PLAN_PARAMETER`) and the region this copy runs in
    /// (`AWS_REGION`): the default target.
    pub plan: lifeboat_lambda::PlanConfig,
    /// The plan's other region (`LIFEBOAT_PEER_REGION`): its copy's run lock is read by `guard`.
    pub peer_region: String,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &lifeboat_lambda::Env<F>) -> Result<Self> {
        let plan = lifeboat_lambda::PlanConfig::from_env(env)?;
        let peer_region = env.peer_region(&plan.region)?;
        Ok(Self { plan, peer_region })
    }
}

/// One submitted Route 53 change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneChange {
    pub zone_id: String,
    pub change_id: String,
}

/// A request, as the state machine (or `cargo lambda invoke`) sends it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    Flip {
        /// Region to send traffic to (default: the function's own region).
        #[serde(default)]
        target_region: Option<String>,
        #[serde(default)]
        run_id: Option<String>,
    },
    /// Whether the changes a `flip` returned have propagated.
    Status {
        #[serde(default)]
        changes: Vec<ZoneChange>,
    },
    /// The copy's schedule: the returning home region's traffic goes to the writer's region.
    Guard {},
}

/// A record set as it read before the flip (`value: null`: it did not exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousRecord {
    pub zone_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub value: Option<RecordValue>,
}

/// What the traffic resources read before the flip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previous {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<PreviousRecord>,
    /// Health check id → inverted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<(String, bool)>,
    /// Routing control ARN → on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_controls: Vec<(String, bool)>,
    /// A DNS provider's record sets, every record as it read (empty: the set did not exist).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domain_records: Vec<PreviousDomainSet>,
}

/// A provider's record set as it read before the flip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousDomainSet {
    pub domain: String,
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub records: Vec<DomainRecord>,
}

/// The function's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Response {
    Flipped {
        mode: TrafficMode,
        target_region: String,
        /// Route 53 changes to wait for (`status`); empty in the other modes.
        changes: Vec<ZoneChange>,
        /// Zones (or provider domains) whose records already read as planned (nothing sent).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unchanged_zones: Vec<String>,
        /// Provider record sets changed (`name type`), each read back as planned.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changed_sets: Vec<String>,
        /// The ARC cluster endpoint that took the update.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
        previous: Previous,
    },
    InSync {
        changes: Vec<ZoneChange>,
    },
    Pending {
        pending: Vec<ZoneChange>,
    },
    /// `guard`: the verdict and, when traffic had to move, the flip and the announcement.
    Guarded {
        region: String,
        #[serde(flatten)]
        verdict: GuardVerdict,
        /// Whether any traffic resource was changed.
        moved: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        flip: Option<Box<Response>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        announced: Option<String>,
    },
}

impl Response {
    /// Whether a flip changed anything (records sent, a health check or routing control set).
    pub fn moved(&self, target: &str, plan: &ValidPlan) -> bool {
        let Response::Flipped {
            changes,
            changed_sets,
            previous,
            ..
        } = self
        else {
            return false;
        };
        // A switch moved when it was not as the flip sets it.
        let wanted: Vec<Switch> = match traffic::flip_into(plan, target) {
            Ok(Flip::HealthChecks(s)) | Ok(Flip::RoutingControls { controls: s, .. }) => s,
            Ok(Flip::Records(_)) | Ok(Flip::Domains { .. }) | Err(_) => Vec::new(),
        };
        let set_to = |id: &String| wanted.iter().find(|s| &s.id == id).map(|s| s.on);
        !changes.is_empty()
            || !changed_sets.is_empty()
            || previous
                .health_checks
                .iter()
                .any(|(id, inverted)| set_to(id).is_some_and(|on| *inverted == on))
            || previous
                .routing_controls
                .iter()
                .any(|(arn, on)| set_to(arn).is_some_and(|want| *on != want))
    }
}

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<Records, Checks, Arc, Db, Params, PeerParams, Topic, DoDomains, LinodeDomains> {
    pub records: Records,
    pub checks: Checks,
    pub arc: Arc,
    pub db: Db,
    pub params: Params,
    /// The other region's parameter store (its copy's run lock), read where reachable.
    pub peer_params: PeerParams,
    pub notifier: Topic,
    /// DigitalOcean's domain records (mode `digitalocean`).
    pub digitalocean: DoDomains,
    /// Linode's domain records (mode `linode`).
    pub linode: LinodeDomains,
}

/// The handler: built once at init, called per request.
#[derive(Debug)]
pub struct Handler<Records, Checks, Arc, Db, Params, PeerParams, Topic, DoDomains, LinodeDomains> {
    pub config: Config,
    pub ports: Ports<Records, Checks, Arc, Db, Params, PeerParams, Topic, DoDomains, LinodeDomains>,
}

impl<Records, Checks, Arc, Db, Params, PeerParams, Topic, DoDomains, LinodeDomains>
    Handler<Records, Checks, Arc, Db, Params, PeerParams, Topic, DoDomains, LinodeDomains>
where
    Records: RecordSets,
    Checks: HealthChecks,
    Arc: RoutingControls,
    Db: lifeboat_core::ports::AnyDatabase,
    Params: ParameterStore,
    PeerParams: ParameterStore,
    Topic: Notifier,
    DoDomains: DomainRecords,
    LinodeDomains: DomainRecords,
{
    pub async fn handle(&self, event: Value) -> Result<Response> {
        let request: Request = lifeboat_lambda::parse_event("dns-flip request", event)?;
        match request {
            Request::Flip {
                target_region,
                run_id,
            } => {
                let plan =
                    store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
                let target = target_region.unwrap_or_else(|| self.config.plan.region.clone());
                plan.region(&target)?;
                let run = run_id.as_deref().unwrap_or("-");
                let out = self.flip(&plan, &target, run).await;
                tracing::info!(run_id = run, target = %target, outcome = ?out, "flip");
                out
            }
            Request::Status { changes } => self.status(changes).await,
            Request::Guard {} => self.guard().await,
        }
    }

    /// The returning home region's traffic off: flipped to the writer's region when another
    /// region holds the writer (idempotent: nothing is sent when it already goes there).
    async fn guard(&self) -> Result<Response> {
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        let region = self.config.plan.region.clone();
        let verdict = fence::observe(
            &self.ports.db,
            &self.ports.params,
            &self.ports.peer_params,
            &plan,
            &region,
        )
        .await?;
        let GuardVerdict::Fence { writer_region, .. } = &verdict else {
            tracing::info!(region = %region, verdict = ?verdict, "guard");
            return Ok(Response::Guarded {
                region,
                verdict,
                moved: false,
                flip: None,
                announced: None,
            });
        };
        let flip = self.flip(&plan, writer_region, "guard").await?;
        let moved = flip.moved(writer_region, &plan);
        let announced = if moved {
            let subject = format!(
                "lifeboat {}: {region}'s traffic moved to {writer_region} (it holds the writer)",
                plan.app()
            );
            let message = format!(
                "{region} is back and its traffic still pointed at it, while {writer_region} holds \
                 the database writer. lifeboat's copy in {region} moved the traffic to \
                 {writer_region} ({:?} mode) so that one region serves writes. Bring the shop home \
                 with `lifeboat failback`.\n",
                plan.traffic().mode
            );
            let topic = &plan.region(&region)?.notification_topic_arn;
            Some(
                self.ports
                    .notifier
                    .publish(topic, &subject, &message)
                    .await?,
            )
        } else {
            None
        };
        tracing::warn!(region = %region, writer = %writer_region, moved, "guard: traffic off");
        Ok(Response::Guarded {
            region,
            verdict,
            moved,
            flip: Some(Box::new(flip)),
            announced,
        })
    }

    async fn flip(&self, plan: &ValidPlan, target: &str, run: &str) -> Result<Response> {
        // Never send traffic to a region whose database is not the writer.
        let writer = lifeboat_core::database::writer_region(
            &self.ports.db,
            &self.ports.params,
            plan,
            target,
        )
        .await?;
        if writer.as_deref() != Some(target) {
            return Err(Error::precondition(format!(
                "the database writer is in {}, not {target}: traffic is not sent to a region \
                 whose database cannot take writes (promote the database first)",
                writer.as_deref().unwrap_or("no region")
            )));
        }
        let mode = plan.traffic().mode;
        match traffic::flip_into(plan, target)? {
            Flip::Records(zones) => self.upsert_records(&zones, target, run).await,
            Flip::HealthChecks(switches) => {
                // In the order core gives: the target's restored before the other's inverted.
                let wanted: Vec<(String, bool)> =
                    switches.into_iter().map(|s| (s.id, !s.on)).collect();
                let mut previous = Vec::new();
                for (id, _) in &wanted {
                    previous.push((id.clone(), self.ports.checks.inverted(id).await?));
                }
                for ((id, inverted), (_, was)) in wanted.iter().zip(&previous) {
                    if inverted != was {
                        self.ports.checks.set_inverted(id, *inverted).await?;
                    }
                }
                Ok(Response::Flipped {
                    mode,
                    target_region: target.to_string(),
                    changes: Vec::new(),
                    unchanged_zones: Vec::new(),
                    changed_sets: Vec::new(),
                    endpoint: None,
                    previous: Previous {
                        health_checks: previous,
                        ..Previous::default()
                    },
                })
            }
            Flip::Domains {
                provider,
                token_parameter,
                domains,
            } => match provider {
                DnsProvider::Digitalocean => {
                    let port = &self.ports.digitalocean;
                    self.set_domain_records(port, mode, &token_parameter, &domains, target)
                        .await
                }
                DnsProvider::Linode => {
                    let port = &self.ports.linode;
                    self.set_domain_records(port, mode, &token_parameter, &domains, target)
                        .await
                }
            },
            Flip::RoutingControls {
                controls,
                endpoints,
            } => {
                let wanted: Vec<(String, bool)> =
                    controls.into_iter().map(|s| (s.id, s.on)).collect();
                let (used, previous) = self.update_routing_controls(&endpoints, &wanted).await?;
                Ok(Response::Flipped {
                    mode,
                    target_region: target.to_string(),
                    changes: Vec::new(),
                    unchanged_zones: Vec::new(),
                    changed_sets: Vec::new(),
                    endpoint: Some(used),
                    previous: Previous {
                        routing_controls: previous,
                        ..Previous::default()
                    },
                })
            }
        }
    }

    async fn upsert_records(
        &self,
        zones: &[ZoneRecords],
        target: &str,
        run: &str,
    ) -> Result<Response> {
        let comment = format!("lifeboat {run}: traffic to {target}");
        let per_zone = zones.iter().map(|zone| async {
            let wanted = &zone.records;
            let keys: Vec<(String, String)> = wanted
                .iter()
                .map(|w| (w.name.clone(), w.record_type.clone()))
                .collect();
            let values = self
                .ports
                .records
                .read_records(&zone.zone_id, &keys)
                .await?;
            let previous: Vec<PreviousRecord> = wanted
                .iter()
                .zip(values)
                .map(|(w, value)| PreviousRecord {
                    zone_id: zone.zone_id.clone(),
                    name: w.name.clone(),
                    record_type: w.record_type.clone(),
                    value,
                })
                .collect();
            let already = previous
                .iter()
                .zip(wanted.iter())
                .all(|(p, w)| p.value.as_ref().is_some_and(|v| same_record(v, w)));
            let mut changes = Vec::new();
            if !already {
                for batch in upsert_batches(wanted) {
                    let change_id = self
                        .ports
                        .records
                        .upsert(&zone.zone_id, &batch, &comment)
                        .await?;
                    changes.push(ZoneChange {
                        zone_id: zone.zone_id.clone(),
                        change_id,
                    });
                }
            }
            Ok::<_, Error>((zone.zone_id.clone(), previous, changes))
        });
        let mut all_changes = Vec::new();
        let mut all_previous = Vec::new();
        let mut unchanged = Vec::new();
        let mut failures = Vec::new();
        for result in join_all(per_zone).await {
            match result {
                Ok((zone, previous, changes)) => {
                    if changes.is_empty() {
                        unchanged.push(zone);
                    }
                    all_previous.extend(previous);
                    all_changes.extend(changes);
                }
                Err(e) => failures.push(e),
            }
        }
        if let Some(first) = failures.into_iter().next() {
            let done: Vec<_> = all_changes.iter().map(|c| c.zone_id.as_str()).collect();
            return Err(first.context(format!(
                "zones changed so far: [{}]; the flip is safe to repeat",
                done.join(", ")
            )));
        }
        Ok(Response::Flipped {
            mode: TrafficMode::RecordUpsert,
            target_region: target.to_string(),
            changes: all_changes,
            unchanged_zones: unchanged,
            changed_sets: Vec::new(),
            endpoint: None,
            previous: Previous {
                records: all_previous,
                ..Previous::default()
            },
        })
    }

    /// Each domain's sets as planned at the provider, then read back; on a failure the error
    /// says which sets changed so far (the flip is safe to repeat: a set that reads as planned
    /// gets no request).
    async fn set_domain_records<D: DomainRecords>(
        &self,
        port: &D,
        mode: TrafficMode,
        token_parameter: &str,
        domains: &[DomainSets],
        target: &str,
    ) -> Result<Response> {
        let token = match self.ports.params.get(token_parameter).await? {
            Some(t) if !t.trim().is_empty() => Secret::new(t.trim()),
            _ => {
                let field = serde_json::to_value(mode)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                return Err(Error::precondition(format!(
                    "the SecureString {token_parameter} (traffic.{field}.token_parameter) holds \
                     no API token: create it before a flip can move traffic"
                )));
            }
        };
        let mut previous = Vec::new();
        let mut changed = Vec::new();
        let mut unchanged = Vec::new();
        for domain in domains {
            let d = &domain.domain;
            let attempt = self
                .set_domain(port, &token, domain, &mut previous, &mut changed)
                .await;
            match attempt {
                Ok(false) => unchanged.push(d.clone()),
                Ok(true) => {}
                Err(e) => {
                    return Err(e.context(format!(
                        "{d}: sets changed so far: [{}]; the flip is safe to repeat",
                        changed.join(", ")
                    )));
                }
            }
        }
        Ok(Response::Flipped {
            mode,
            target_region: target.to_string(),
            changes: Vec::new(),
            unchanged_zones: unchanged,
            changed_sets: changed,
            endpoint: None,
            previous: Previous {
                domain_records: previous,
                ..Previous::default()
            },
        })
    }

    /// One domain: whether anything was sent.
    async fn set_domain<D: DomainRecords>(
        &self,
        domains: &D,
        token: &Secret,
        domain: &DomainSets,
        previous: &mut Vec<PreviousDomainSet>,
        changed: &mut Vec<String>,
    ) -> Result<bool> {
        let d = &domain.domain;
        let mut sent = false;
        for wanted in &domain.records {
            let current = domains
                .list(token, d, &wanted.name, &wanted.record_type)
                .await?;
            let ops = reconcile(&current, wanted);
            previous.push(PreviousDomainSet {
                domain: d.clone(),
                name: wanted.name.clone(),
                record_type: wanted.record_type.clone(),
                records: current,
            });
            if ops.is_empty() {
                continue;
            }
            traffic::send(domains, token, d, &ops).await?;
            sent = true;
            changed.push(format!("{} {}", wanted.name, wanted.record_type));
            // The change is served when the provider reads it back as planned.
            let now = domains
                .list(token, d, &wanted.name, &wanted.record_type)
                .await?;
            if !domain_set_reads_as(&now, wanted) {
                return Err(Error::new(
                    lifeboat_core::ErrorKind::Transient,
                    format!(
                        "{} {} reads back as [{}] after {} request(s), not as planned: another \
                         writer changed it meanwhile, or the provider has not applied it yet",
                        wanted.name,
                        wanted.record_type,
                        now.iter()
                            .map(|r| lifeboat_core::text::inert(&r.data.value, 80))
                            .collect::<Vec<_>>()
                            .join(", "),
                        ops.len()
                    ),
                ));
            }
        }
        Ok(sent)
    }

    /// Read the previous states and update, through the first endpoint that answers. A
    /// retryable failure (timeout, 5xx, throttling) moves on to the next endpoint; any other
    /// failure (a safety rule's conflict, a missing control) is final.
    async fn update_routing_controls(
        &self,
        endpoints: &[ArcClusterEndpoint],
        wanted: &[(String, bool)],
    ) -> Result<(String, Vec<(String, bool)>)> {
        let mut last: Option<Error> = None;
        for ep in endpoints {
            let attempt = async {
                let mut previous = Vec::with_capacity(wanted.len());
                for (arn, _) in wanted {
                    previous.push((arn.clone(), self.ports.arc.state(ep, arn).await?));
                }
                self.ports.arc.update(ep, wanted).await?;
                Ok::<_, Error>(previous)
            };
            match attempt.await {
                Ok(previous) => return Ok((ep.endpoint.clone(), previous)),
                Err(e) if e.kind().is_retryable() => {
                    tracing::warn!(endpoint = %ep.endpoint, error = %e, "ARC endpoint failed; trying the next");
                    last = Some(e.context(format!("ARC endpoint {}", ep.endpoint)));
                }
                Err(e) => return Err(e.context(format!("ARC endpoint {}", ep.endpoint))),
            }
        }
        Err(match last {
            Some(e) => e.context(format!(
                "all {} ARC cluster endpoints failed",
                endpoints.len()
            )),
            None => Error::invalid_input("traffic.arc_cluster_endpoints is empty"),
        })
    }

    async fn status(&self, changes: Vec<ZoneChange>) -> Result<Response> {
        let polls = changes.iter().map(|c| async move {
            let synced = self.ports.records.change_in_sync(&c.change_id).await?;
            Ok::<_, Error>((c.clone(), synced))
        });
        let mut pending = Vec::new();
        for result in join_all(polls).await {
            let (change, synced) = result?;
            if !synced {
                pending.push(change);
            }
        }
        Ok(if pending.is_empty() {
            Response::InSync { changes }
        } else {
            Response::Pending { pending }
        })
    }
}

#[cfg(test)]
mod tests;
