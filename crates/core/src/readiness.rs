//! Readiness evaluation: would the plan work if the primary went dark now?
//!
//! Checks the plan against the live account, each check a [`Finding`] with a [`Severity`]:
//!
//! * **database**: the global cluster exists with exactly the plan's clusters as members, the
//!   target cluster is `available`, no switchover/failover is under way, the standby's
//!   replication lag is within the RPO guard (the same snapshot code the state machine's Assess
//!   step and alarm-to-failover decide on: [`crate::steps::readiness`]);
//! * **compute**: every ECS service and Auto Scaling group of both regions exists, and each
//!   group's max allows its active capacity;
//! * **traffic**: the records, health checks and routing controls the plan names exist;
//! * **notifications and secrets**: both regions' topics exist, and the secrets this region's
//!   copy needs (the approval link key, the Slack webhook) exist; their values are never read
//!   into a finding;
//! * **buckets**: every bucket the plan names exists, has versioning on, and an enabled
//!   replication rule into one of the other region's buckets.
//!
//! A check that cannot be made (the call failed) is a `warning` naming the error: in a dark
//! region that is expected, and it must not hide the other findings.

use std::fmt::Write as _;
use std::time::Duration;

use futures::future::join_all;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{ErrorKind, Result};
use crate::plan::{DatabaseProvider, ValidPlan};
use crate::ports::{
    AlarmReader, AutoScalingGroups, Buckets, CacheNodes, DatabaseCapacity, EcsServices,
    GlobalDatabase, HealthChecks, ParameterStore, PatroniClusters, RecordSets,
    ReplicationLagSource, RoutingControls, Topics,
};
use crate::trigger::{AlarmState, Trigger};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The check passed.
    Ok,
    /// The check could not be made, or something weakens the plan without breaking it.
    Warning,
    /// A failover would be refused or would fail.
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    GlobalCluster,
    TargetCluster,
    ReplicationLag,
    /// The target's database capacity against the primary's (`database_capacity`).
    DatabaseCapacity,
    EcsService,
    #[serde(rename = "autoscaling_group")]
    AutoScalingGroup,
    DnsRecord,
    HealthCheck,
    RoutingControl,
    Topic,
    Secret,
    Bucket,
    /// The run lock: a stale lock (its execution no longer runs) is reported.
    RunLock,
    /// A plan resource outside what the deployed template's IAM policies grant.
    Permission,
    /// The plan's cache: the target's Sentinels and nodes as a failover would find them.
    Cache,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::GlobalCluster => "global_cluster",
            Check::TargetCluster => "target_cluster",
            Check::ReplicationLag => "replication_lag",
            Check::DatabaseCapacity => "database_capacity",
            Check::EcsService => "ecs_service",
            Check::AutoScalingGroup => "autoscaling_group",
            Check::DnsRecord => "dns_record",
            Check::HealthCheck => "health_check",
            Check::RoutingControl => "routing_control",
            Check::Topic => "topic",
            Check::Secret => "secret",
            Check::Bucket => "bucket",
            Check::RunLock => "run_lock",
            Check::Permission => "permission",
            Check::Cache => "cache",
        }
    }
}

/// What the deployed template's IAM policies are scoped to (its parameters, handed to readiness
/// as `LIFEBOAT_SCOPE_*`): a plan resource outside them would fail with AccessDenied in the
/// middle of a failover.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scopes {
    /// `EcsClusterName`: dr-scale-up may update services of this cluster only.
    pub ecs_cluster: Option<String>,
    /// `AutoScalingGroupPrefix`: groups whose names start with it.
    pub asg_prefix: Option<String>,
    /// `HostedZoneId`: dns-flip may change records in this zone only.
    pub hosted_zone: Option<String>,
    /// `BucketNamePrefix`: readiness reads buckets whose names start with it.
    pub bucket_prefix: Option<String>,
}

/// Every plan resource outside `scopes`, as a critical finding naming the resource and the
/// template parameter that would have to change (or the plan). Pure: no AWS call.
pub fn permission_scopes(plan: &ValidPlan, scopes: &Scopes) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut outside = |subject: String, what: String| {
        out.push(Finding::new(
            Check::Permission,
            Severity::Critical,
            subject,
            format!(
                "outside what the template grants ({what}): a failover would meet AccessDenied"
            ),
        ));
    };
    for region in plan.region_names() {
        let Ok(rp) = plan.region(region) else {
            continue;
        };
        if let Some(cluster) = &scopes.ecs_cluster {
            for s in &rp.compute.ecs_services {
                if &s.cluster != cluster {
                    outside(
                        format!("{region}/{}/{}", s.cluster, s.service),
                        format!("EcsClusterName is '{cluster}'"),
                    );
                }
            }
        }
        if let Some(prefix) = &scopes.asg_prefix {
            for g in &rp.compute.autoscaling_groups {
                if !g.name.starts_with(prefix.as_str()) {
                    outside(
                        format!("{region}/{}", g.name),
                        format!("AutoScalingGroupPrefix is '{prefix}'"),
                    );
                }
            }
        }
        if let Some(zone) = &scopes.hosted_zone {
            for z in &rp.traffic.hosted_zones {
                if &z.zone_id != zone {
                    outside(
                        format!("{region}/hostedzone/{}", z.zone_id),
                        format!("HostedZoneId is '{zone}'"),
                    );
                }
            }
        }
        if let Some(prefix) = &scopes.bucket_prefix {
            for b in &rp.buckets {
                if !b.starts_with(prefix.as_str()) {
                    outside(
                        format!("{region}/s3/{b}"),
                        format!("BucketNamePrefix is '{prefix}'"),
                    );
                }
            }
        }
    }
    if out.is_empty()
        && (scopes.ecs_cluster.is_some()
            || scopes.asg_prefix.is_some()
            || scopes.hosted_zone.is_some()
            || scopes.bucket_prefix.is_some())
    {
        out.push(Finding::new(
            Check::Permission,
            Severity::Ok,
            "template scopes",
            "every plan resource is within what the template grants".into(),
        ));
    }
    out
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    /// What was checked (a cluster ARN, `region/cluster/service`, a record name, ...).
    pub subject: String,
    pub message: String,
}

impl Finding {
    /// A stale run lock, as readiness reports it: a warning (the next legitimate run takes it
    /// over, so a failover would still work), said loudly.
    pub fn stale_lock(app: &str, stale: &crate::store::StaleLock) -> Finding {
        Finding::new(
            Check::RunLock,
            Severity::Warning,
            crate::run::lock_parameter(app),
            format!(
                "STALE: {}; the next legitimate run takes it over (or delete it)",
                stale.why
            ),
        )
    }

    fn new(check: Check, severity: Severity, subject: impl Into<String>, message: String) -> Self {
        Self {
            check,
            severity,
            subject: subject.into(),
            message,
        }
    }
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadinessReport {
    pub app: String,
    /// The region a failover would go into.
    pub target_region: String,
    /// The region holding the writer when checked, if known.
    pub writer_region: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    pub findings: Vec<Finding>,
}

impl ReadinessReport {
    /// The worst severity found (`Ok` when there are no findings).
    pub fn worst(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The findings that are not `ok`, as stable lines: two evaluations with the same problems
    /// have the same digest (used to notify on change only).
    pub fn digest(&self) -> String {
        let mut lines: Vec<String> = self
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Ok)
            .map(|f| format!("{} {} {}", f.severity.as_str(), f.check.as_str(), f.subject))
            .collect();
        lines.sort();
        lines.join("\n")
    }

    /// A one-line summary.
    pub fn headline(&self) -> String {
        let verdict = match self.worst() {
            Severity::Ok => "ready",
            Severity::Warning => "ready, with warnings",
            Severity::Critical => "NOT READY",
        };
        format!(
            "lifeboat {}: failover into {} {verdict} ({} critical, {} warnings, {} ok)",
            self.app,
            self.target_region,
            self.count(Severity::Critical),
            self.count(Severity::Warning),
            self.count(Severity::Ok)
        )
    }

    /// The report as plain text (notification body, CLI output): problems first.
    pub fn text(&self) -> String {
        let mut out = self.headline();
        let _ = write!(
            out,
            "\nchecked at {} (writer: {})\n",
            self.checked_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            self.writer_region.as_deref().unwrap_or("unknown")
        );
        let mut sorted: Vec<&Finding> = self.findings.iter().collect();
        sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in sorted {
            let _ = writeln!(
                out,
                "  {:<8} {:<17} {}: {}",
                f.severity.as_str(),
                f.check.as_str(),
                f.subject,
                f.message
            );
        }
        out
    }
}

/// The account, through the ports readiness reads (never writes).
pub struct Account<'a, D, L, E, G, R, H, C, T, P, B, K> {
    pub db: &'a D,
    pub lag: &'a L,
    pub ecs: &'a E,
    pub asg: &'a G,
    pub records: &'a R,
    pub health_checks: &'a H,
    pub routing: &'a C,
    pub topics: &'a T,
    /// Parameter Store of the region whose copy is checked (its secrets).
    pub params: &'a P,
    pub buckets: &'a B,
    /// The plan's cache: read through its Sentinels only (no password).
    pub cache: &'a K,
}

impl<D, L, E, G, R, H, C, T, P, B, K> std::fmt::Debug
    for Account<'_, D, L, E, G, R, H, C, T, P, B, K>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").finish_non_exhaustive()
    }
}

/// Evaluate the plan for a failover into `target`. `secrets` are the SecureString parameters the
/// target region's copy needs (the link key; the plan's Slack webhook is added here).
pub async fn evaluate<D, L, E, G, R, H, C, T, P, B, K>(
    account: &Account<'_, D, L, E, G, R, H, C, T, P, B, K>,
    plan: &ValidPlan,
    target: &str,
    secrets: &[String],
    now: OffsetDateTime,
) -> Result<ReadinessReport>
where
    D: crate::ports::AnyDatabase + DatabaseCapacity,
    L: ReplicationLagSource,
    E: EcsServices,
    G: AutoScalingGroups,
    R: RecordSets,
    H: HealthChecks,
    C: RoutingControls,
    T: Topics,
    P: ParameterStore,
    B: Buckets,
    K: CacheNodes,
{
    plan.region(target)?;
    let (mut findings, writer_region) =
        database(account.db, account.lag, account.params, plan, target, now).await;
    let primary = writer_region
        .clone()
        .filter(|w| w != target)
        .unwrap_or_else(|| plan.primary_region().to_string());
    findings.extend(database_capacity(account.db, plan, target, &primary).await);
    let (compute, traffic, notifications, secrets, buckets, cache) = futures::join!(
        compute(account.ecs, account.asg, plan),
        traffic(
            account.records,
            account.health_checks,
            account.routing,
            plan
        ),
        topics(account.topics, plan),
        secret_params(account.params, plan, secrets),
        buckets(account.buckets, plan),
        cache(account.cache, plan, target, &primary),
    );
    findings.extend(compute);
    findings.extend(traffic);
    findings.extend(notifications);
    findings.extend(secrets);
    findings.extend(buckets);
    findings.extend(cache);
    Ok(ReadinessReport {
        app: plan.app().to_string(),
        target_region: target.to_string(),
        writer_region,
        checked_at: now,
        findings,
    })
}

/// Readiness never re-reads an alarm (there is no trigger).
struct NoAlarms;

impl AlarmReader for NoAlarms {
    async fn alarm_state(&self, _region: &str, _alarm: &str) -> Result<Option<AlarmState>> {
        Ok(None)
    }

    async fn muted(&self, _region: &str, _alarm: &str) -> Result<Option<String>> {
        Ok(None)
    }
}

/// What the lag is measured from, as a finding names it.
fn lag_evidence(plan: &ValidPlan) -> &'static str {
    match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => "AuroraGlobalDBReplicationLag datapoint",
        DatabaseProvider::Patroni => {
            "measurement (both leaders answering, the standby's replayed transaction time known)"
        }
        DatabaseProvider::Mysql => {
            "reading (the source answering as the writer, the replica's threads running and its \
             Seconds_Behind_Master given)"
        }
    }
}

/// Aurora: the global cluster's members are exactly the plan's clusters, none being rebuilt.
async fn aurora_members<D: GlobalDatabase>(
    db: &D,
    plan: &ValidPlan,
    target: &str,
    gid: &str,
    out: &mut Vec<Finding>,
) {
    // Members: exactly the plan's clusters.
    match db.describe_global(target, gid).await {
        Err(e) => out.push(could_not(Check::GlobalCluster, gid, &e)),
        Ok(view) => {
            let mut problems = Vec::new();
            for region in plan.region_names() {
                let Ok(arn) = plan.cluster_arn(region) else {
                    continue;
                };
                match view.member(arn) {
                    None => {
                        problems.push(format!("{arn} ({region}) is not a member"))
                    }
                    Some(m) if m.synchronization_status.as_deref() == Some("pending-resync") => {
                        problems.push(format!(
                            "{arn} ({region}) is still being rebuilt as a secondary (pending-resync)"
                        ))
                    }
                    Some(_) => {}
                }
            }
            let strangers: Vec<&str> = view
                .members
                .iter()
                .map(|m| m.cluster_arn.as_str())
                .filter(|arn| plan.region_of_cluster(arn).is_none())
                .collect();
            if problems.is_empty() {
                let mut msg = format!(
                    "members are the plan's clusters; writer: {}",
                    view.writer_arn().unwrap_or("none")
                );
                let severity = if strangers.is_empty() {
                    Severity::Ok
                } else {
                    let _ = write!(
                        msg,
                        "; also has members the plan does not name: {}",
                        strangers.join(", ")
                    );
                    Severity::Warning
                };
                out.push(Finding::new(Check::GlobalCluster, severity, gid, msg));
            } else {
                out.push(Finding::new(
                    Check::GlobalCluster,
                    Severity::Critical,
                    gid,
                    problems.join("; "),
                ));
            }
        }
    }
}

/// MySQL: each region's server answers; one takes writes and the other is a read-only replica
/// that replicates (a replica whose threads stopped has unknown lag, never 0: critical, as a
/// promotion into it could not be judged). Which region is the writer is the snapshot's (two
/// writers is critical there).
async fn mysql_servers<D, P>(db: &D, params: &P, plan: &ValidPlan, out: &mut Vec<Finding>)
where
    D: crate::ports::MysqlServers,
    P: ParameterStore,
{
    use crate::mysql;
    let login = match mysql::login(params, plan, false).await {
        Ok(l) => l,
        Err(e) => {
            out.push(could_not(Check::GlobalCluster, "MySQL servers", &e));
            return;
        }
    };
    for region in plan.region_names() {
        let Ok(server) = plan.mysql_server(region) else {
            continue;
        };
        let subject = format!("{region} MySQL server");
        let seen = mysql::read(db, server, &login).await;
        let view = match &seen.answer {
            Ok(v) => v,
            Err(e) => {
                out.push(could_not(Check::GlobalCluster, &subject, e));
                continue;
            }
        };
        let gtid = crate::text::inert(&view.gtid_position, 120);
        out.push(match (&view.replica, view.read_only) {
            (None, false) => Finding::new(
                Check::GlobalCluster,
                Severity::Ok,
                &subject,
                format!("{server} takes writes (GTID {gtid})"),
            ),
            (Some(r), false) => Finding::new(
                Check::GlobalCluster,
                Severity::Critical,
                &subject,
                format!(
                    "{server} is writable while it replicates {}: writes there would fork it \
                     from its source (set read_only)",
                    crate::text::inert(&r.source, 120)
                ),
            ),
            (None, true) => Finding::new(
                Check::GlobalCluster,
                Severity::Critical,
                &subject,
                format!("{server} is read-only and replicates nothing (GTID {gtid})"),
            ),
            (Some(r), true) => match mysql::replica_lag(view) {
                mysql::ReplicaLag::Seconds { seconds } => Finding::new(
                    Check::GlobalCluster,
                    Severity::Ok,
                    &subject,
                    format!(
                        "{server}, read-only, replicates {} ({seconds} s behind; GTID {gtid})",
                        crate::text::inert(&r.source, 120)
                    ),
                ),
                mysql::ReplicaLag::Unknown { reason } => Finding::new(
                    Check::GlobalCluster,
                    Severity::Critical,
                    &subject,
                    format!(
                        "{server} does not replicate {}: {reason}; its lag is unknown",
                        crate::text::inert(&r.source, 120)
                    ),
                ),
            },
        });
    }
}

/// Patroni: each region's cluster answers with one leader; the standby region's leader
/// streams. Which region is the writer is the snapshot's (two primaries is critical there).
async fn patroni_members<D: PatroniClusters>(db: &D, plan: &ValidPlan, out: &mut Vec<Finding>) {
    for region in plan.region_names() {
        let Ok(apis) = plan.patroni_members(region) else {
            continue;
        };
        let seen = crate::patroni::read(db, apis).await;
        let subject = format!("{region} Patroni cluster");
        let answered = seen.iter().filter(|m| m.answer.is_ok()).count();
        if answered == 0 {
            let e = crate::cache::none_answered("no member answered", &seen);
            out.push(could_not(Check::GlobalCluster, &subject, &e));
            continue;
        }
        out.push(match crate::patroni::leader(region, &seen) {
            Err(e) => Finding::new(
                Check::GlobalCluster,
                Severity::Critical,
                &subject,
                e.to_string(),
            ),
            Ok(None) => Finding::new(
                Check::GlobalCluster,
                Severity::Critical,
                &subject,
                format!("{answered} of {} members answer, none leads", seen.len()),
            ),
            Ok(Some((_, v))) => {
                let role = match &v.role {
                    crate::ports::PgRole::Primary => "primary",
                    crate::ports::PgRole::StandbyLeader => "standby leader",
                    crate::ports::PgRole::Replica(r) => r.as_str(),
                };
                let severity = if crate::patroni::runs(v) {
                    Severity::Ok
                } else {
                    Severity::Critical
                };
                Finding::new(
                    Check::GlobalCluster,
                    severity,
                    &subject,
                    format!(
                        "{answered} of {} members answer; leader {} ({role}, {}, timeline {})",
                        seen.len(),
                        v.name,
                        v.state,
                        v.timeline.map_or("?".to_string(), |t| t.to_string())
                    ),
                )
            }
        });
    }
}

fn could_not(check: Check, subject: &str, e: &crate::Error) -> Finding {
    // Not found, or not allowed: a failover that needs it would fail the same way. Anything else
    // (a region dark, throttling) may pass by the time it is needed.
    let (severity, message) = match e.kind() {
        ErrorKind::NotFound => (Severity::Critical, format!("does not exist ({e})")),
        ErrorKind::AccessDenied => (
            Severity::Critical,
            format!(
                "lifeboat's role is not allowed to reach it ({e}): a failover would fail here; grant what infra/template.yaml grants, scoped to this resource"
            ),
        ),
        _ => (Severity::Warning, format!("could not be checked: {e}")),
    };
    Finding::new(check, severity, subject, message)
}

/// Would a failover have enough database? The capacity the target's cluster would have at the
/// plan's active level (or as it is, when the plan sets none) against the primary's now
/// (core's [`crate::db_capacity::shortfall`]).
async fn database_capacity<D: DatabaseCapacity>(
    db: &D,
    plan: &ValidPlan,
    target: &str,
    primary: &str,
) -> Vec<Finding> {
    let (Ok(target_plan), Ok(primary_plan)) = (plan.region(target), plan.region(primary)) else {
        return Vec::new();
    };
    let (Some(subject), Some(primary_arn)) = (
        target_plan.db_cluster_arn.as_deref(),
        primary_plan.db_cluster_arn.as_deref(),
    ) else {
        // Capacity is Aurora's: another provider's plan sets none (validation).
        return Vec::new();
    };
    let planned =
        match crate::db_capacity::target(plan, target, crate::db_capacity::DbLevel::Active) {
            Ok(t) => t,
            Err(e) => return vec![could_not(Check::DatabaseCapacity, subject, &e)],
        };
    let (dr, source) = futures::join!(
        db.describe_capacity(target, subject),
        db.describe_capacity(primary, primary_arn)
    );
    let dr = match dr {
        Ok(v) => v,
        Err(e) => return vec![could_not(Check::DatabaseCapacity, subject, &e)],
    };
    let mut out = Vec::new();
    let source = match source {
        Ok(v) => v,
        Err(e) => {
            out.push(Finding::new(
                Check::DatabaseCapacity,
                Severity::Warning,
                subject,
                format!(
                    "the primary's capacity in {primary} could not be read ({e}): not compared"
                ),
            ));
            return out;
        }
    };
    if let Some(t) = &planned {
        for note in crate::db_capacity::step(t, &dr).left_alone {
            out.push(Finding::new(
                Check::DatabaseCapacity,
                Severity::Warning,
                subject,
                note,
            ));
        }
    }
    let short = crate::db_capacity::shortfall(planned.as_ref(), &dr, &source);
    if short.is_empty() {
        out.push(Finding::new(
            Check::DatabaseCapacity,
            Severity::Ok,
            subject,
            match &planned {
                Some(_) => "a failover raises it to the plan's active level, at least the primary's, before traffic shifts".to_string(),
                None => "no smaller than the primary's, as it is".to_string(),
            },
        ));
    }
    for message in short {
        out.push(Finding::new(
            Check::DatabaseCapacity,
            Severity::Warning,
            subject,
            message,
        ));
    }
    out
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

async fn database<D, L, P>(
    db: &D,
    lag: &L,
    params: &P,
    plan: &ValidPlan,
    target: &str,
    now: OffsetDateTime,
) -> (Vec<Finding>, Option<String>)
where
    D: crate::ports::AnyDatabase,
    L: ReplicationLagSource,
    P: ParameterStore,
{
    let mut out = Vec::new();
    // Whose writes the run would move: the plan's clusters, as the provider describes them.
    let (members_subject, target_subject) = match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => {
            let (Ok(gid), Ok(arn)) = (plan.global_cluster_id(), plan.cluster_arn(target)) else {
                return (out, None);
            };
            aurora_members(db, plan, target, gid, &mut out).await;
            (gid.to_string(), arn.to_string())
        }
        DatabaseProvider::Patroni => {
            patroni_members(db, plan, &mut out).await;
            (
                "Patroni clusters".to_string(),
                format!("{target} Patroni cluster"),
            )
        }
        DatabaseProvider::Mysql => {
            mysql_servers(db, params, plan, &mut out).await;
            (
                "MySQL servers".to_string(),
                format!("{target} MySQL server"),
            )
        }
    };

    // The same snapshot the failover decides on.
    let source = match plan.other_region(target) {
        Ok(s) => s.to_string(),
        Err(e) => {
            out.push(could_not(Check::TargetCluster, target, &e));
            return (out, None);
        }
    };
    let trigger = Trigger::Manual {
        requested_by: "readiness".into(),
        at: now,
    };
    let target_arn = target_subject;
    let snap = match crate::steps::readiness(
        db, lag, &NoAlarms, params, plan, target, &source, &trigger, now,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            out.push(could_not(Check::TargetCluster, &target_arn, &e));
            return (out, None);
        }
    };
    let target_is_writer = snap.writer_region.as_deref() == Some(target);
    if let Some(op) = &snap.operation_in_progress {
        out.push(Finding::new(
            Check::GlobalCluster,
            Severity::Warning,
            &members_subject,
            format!("a switchover or failover is under way ({op})"),
        ));
    }
    out.push(if snap.target_cluster_available {
        Finding::new(
            Check::TargetCluster,
            Severity::Ok,
            &target_arn,
            if target_is_writer {
                "available, and already the writer".into()
            } else {
                "available".into()
            },
        )
    } else {
        Finding::new(
            Check::TargetCluster,
            Severity::Critical,
            &target_arn,
            "not available: lifeboat never promotes into it".into(),
        )
    });

    // Lag of the standby (the target, unless the target already holds the writer).
    let standby = if target_is_writer {
        source.as_str()
    } else {
        target
    };
    let guard = plan.rpo_guard();
    // (the usable lag, the newest datapoint's age): the snapshot has both for the target.
    let lag_value = if standby == target {
        Ok((snap.replication_lag, snap.replication_lag_age))
    } else {
        crate::database::standby_lag(db, lag, params, plan, standby, now).await
    };
    let subject = format!("{standby} standby");
    out.push(match lag_value {
        Err(e) => could_not(Check::ReplicationLag, &subject, &e),
        Ok((None, Some(age))) => Finding::new(
            Check::ReplicationLag,
            Severity::Warning,
            subject,
            format!(
                "the newest {} is {} old, older than the RPO guard of {}: the lag counts as unknown",
                lag_evidence(plan),
                secs(age),
                secs(guard)
            ),
        ),
        Ok((None, None)) => Finding::new(
            Check::ReplicationLag,
            Severity::Warning,
            subject,
            format!(
                "no {}: the lag is unknown and the RPO guard cannot be judged",
                lag_evidence(plan)
            ),
        ),
        Ok((Some(l), _)) if l > guard => Finding::new(
            Check::ReplicationLag,
            Severity::Critical,
            subject,
            format!(
                "{} is above the RPO guard of {}: an unplanned failover would be refused",
                secs(l),
                secs(guard)
            ),
        ),
        Ok((Some(l), _)) => Finding::new(
            Check::ReplicationLag,
            Severity::Ok,
            subject,
            format!("{} (guard {})", secs(l), secs(guard)),
        ),
    });
    (out, snap.writer_region)
}

async fn compute<E: EcsServices, G: AutoScalingGroups>(
    ecs: &E,
    asg: &G,
    plan: &ValidPlan,
) -> Vec<Finding> {
    let mut services = Vec::new();
    let mut groups = Vec::new();
    for region in plan.region_names() {
        let Ok(rp) = plan.region(region) else {
            continue;
        };
        for s in &rp.compute.ecs_services {
            services.push(async move {
                let subject = format!("{region}/{}/{}", s.cluster, s.service);
                match ecs.describe_service(region, &s.cluster, &s.service).await {
                    Err(e) => could_not(Check::EcsService, &subject, &e),
                    Ok(None) => Finding::new(
                        Check::EcsService,
                        Severity::Critical,
                        subject,
                        "does not exist (or is inactive)".into(),
                    ),
                    Ok(Some(v)) => Finding::new(
                        Check::EcsService,
                        Severity::Ok,
                        subject,
                        format!(
                            "{}, desired {} (active capacity {})",
                            v.status, v.desired, s.active_count
                        ),
                    ),
                }
            });
        }
        for g in &rp.compute.autoscaling_groups {
            groups.push(async move {
                let subject = format!("{region}/{}", g.name);
                let need = g.active.desired.max(g.active.min);
                match asg.describe_group(region, &g.name).await {
                    Err(e) => could_not(Check::AutoScalingGroup, &subject, &e),
                    Ok(None) => Finding::new(
                        Check::AutoScalingGroup,
                        Severity::Critical,
                        subject,
                        "does not exist".into(),
                    ),
                    Ok(Some(v)) if v.max < need => Finding::new(
                        Check::AutoScalingGroup,
                        Severity::Critical,
                        subject,
                        format!(
                            "max {} does not allow the active capacity (min {}, desired {}): \
                             scale-up would be refused",
                            v.max, g.active.min, g.active.desired
                        ),
                    ),
                    Ok(Some(v)) => Finding::new(
                        Check::AutoScalingGroup,
                        Severity::Ok,
                        subject,
                        format!(
                            "min {} desired {} max {} (active {})",
                            v.min, v.desired, v.max, g.active.desired
                        ),
                    ),
                }
            });
        }
    }
    let mut out = join_all(services).await;
    out.extend(join_all(groups).await);
    out
}

async fn traffic<R: RecordSets, H: HealthChecks, C: RoutingControls>(
    records: &R,
    checks: &H,
    routing: &C,
    plan: &ValidPlan,
) -> Vec<Finding> {
    let mut health = Vec::new();
    let mut controls = Vec::new();
    // Each region names the same records with its own values: check each record once, and a
    // zone's records together (one listing of the zone where the adapter can).
    let mut seen = std::collections::BTreeSet::new();
    let mut zones: Vec<(&str, Vec<(String, String)>)> = Vec::new();
    for region in plan.region_names() {
        let Ok(rp) = plan.region(region) else {
            continue;
        };
        for zone in &rp.traffic.hosted_zones {
            for r in &zone.records {
                if !seen.insert((&zone.zone_id, &r.name, &r.record_type)) {
                    continue;
                }
                let key = (r.name.clone(), r.record_type.clone());
                match zones.iter_mut().find(|(id, _)| *id == zone.zone_id) {
                    Some((_, wanted)) => wanted.push(key),
                    None => zones.push((&zone.zone_id, vec![key])),
                }
            }
        }
        for id in &rp.traffic.health_check_ids {
            health.push(async move {
                let subject = format!("{region} {id}");
                match checks.inverted(id).await {
                    Err(e) => could_not(Check::HealthCheck, &subject, &e),
                    Ok(inverted) => Finding::new(
                        Check::HealthCheck,
                        Severity::Ok,
                        subject,
                        format!("exists (inverted: {inverted})"),
                    ),
                }
            });
        }
        for arn in &rp.traffic.routing_control_arns {
            controls.push(async move {
                let mut last = None;
                for endpoint in &plan.traffic().arc_cluster_endpoints {
                    match routing.state(endpoint, arn).await {
                        Ok(on) => {
                            return Finding::new(
                                Check::RoutingControl,
                                Severity::Ok,
                                arn.as_str(),
                                format!(
                                    "exists ({}), read through {}",
                                    if on { "On" } else { "Off" },
                                    endpoint.region
                                ),
                            );
                        }
                        Err(e) if e.kind() == ErrorKind::NotFound => {
                            return could_not(Check::RoutingControl, arn, &e);
                        }
                        Err(e) => last = Some(e),
                    }
                }
                match last {
                    Some(e) => could_not(Check::RoutingControl, arn, &e),
                    None => Finding::new(
                        Check::RoutingControl,
                        Severity::Critical,
                        arn.as_str(),
                        "the plan names no ARC cluster endpoint to read it through".into(),
                    ),
                }
            });
        }
    }
    // Verify polls until this deadline; a record whose TTL is longer may still be served from
    // caches when Verify gives up.
    let deadline = plan.traffic().verify_deadline_seconds;
    let record_checks = zones.iter().map(|(zone_id, wanted)| async move {
        let subject =
            |(name, record_type): &(String, String)| format!("{zone_id}/{name} {record_type}");
        match records.read_records(zone_id, wanted).await {
            Err(e) => wanted
                .iter()
                .map(|w| could_not(Check::DnsRecord, &subject(w), &e))
                .collect::<Vec<_>>(),
            Ok(found) => wanted
                .iter()
                .zip(found)
                .map(|(w, value)| match value {
                    None => Finding::new(
                        Check::DnsRecord,
                        Severity::Critical,
                        subject(w),
                        "does not exist in the zone".into(),
                    ),
                    Some(v) if v.ttl > deadline => Finding::new(
                        Check::DnsRecord,
                        Severity::Warning,
                        subject(w),
                        format!(
                            "exists ({}), but its TTL of {} s is longer than traffic.verify_deadline_seconds ({deadline} s): resolvers may keep the old answer after Verify has given up; raise verify_deadline_seconds to at least {} or lower the TTL",
                            v.values.join(", "),
                            v.ttl,
                            v.ttl
                        ),
                    ),
                    Some(v) => Finding::new(
                        Check::DnsRecord,
                        Severity::Ok,
                        subject(w),
                        format!("exists ({})", v.values.join(", ")),
                    ),
                })
                .collect(),
        }
    });
    let mut out: Vec<Finding> = join_all(record_checks)
        .await
        .into_iter()
        .flatten()
        .collect();
    out.extend(join_all(health).await);
    out.extend(join_all(controls).await);
    out
}

async fn topics<T: Topics>(topics: &T, plan: &ValidPlan) -> Vec<Finding> {
    let checks = plan.region_names().into_iter().filter_map(|region| {
        let arn = plan.region(region).ok()?.notification_topic_arn.clone();
        Some(async move {
            match topics.topic_exists(&arn).await {
                Err(e) => could_not(Check::Topic, &arn, &e),
                Ok(false) => Finding::new(
                    Check::Topic,
                    Severity::Critical,
                    arn,
                    "does not exist: approvals and reports could not be sent".into(),
                ),
                Ok(true) => Finding::new(Check::Topic, Severity::Ok, arn, "exists".into()),
            }
        })
    });
    join_all(checks).await
}

async fn secret_params<P: ParameterStore>(
    params: &P,
    plan: &ValidPlan,
    secrets: &[String],
) -> Vec<Finding> {
    let mut names: Vec<String> = secrets.to_vec();
    if let Some(slack) = &plan.approval().slack_webhook_parameter {
        names.push(slack.clone());
    }
    if let Some(password) = plan.cache().and_then(|c| c.password_parameter.as_ref()) {
        names.push(password.clone());
    }
    if let Some(m) = &plan.database().mysql {
        names.push(m.password_parameter.clone());
        names.push(m.replication_password_parameter.clone());
    }
    names.sort();
    names.dedup();
    let checks = names.into_iter().map(|name| async move {
        // Metadata only: readiness never reads these secrets' values (only the functions that
        // use them may). Under MySQL it reads lifeboat's own login to read the servers
        // (mysql_servers), never the replication user's.
        match params.exists(&name).await {
            Err(e) => could_not(Check::Secret, &name, &e),
            Ok(false) => Finding::new(
                Check::Secret,
                Severity::Critical,
                name,
                "does not exist".into(),
            ),
            Ok(true) => Finding::new(Check::Secret, Severity::Ok, name, "exists".into()),
        }
    });
    join_all(checks).await
}

/// Would the cache move? Read through the Sentinels only (readiness never reads the password):
/// the target's Sentinels must watch nothing under the plan's name (a standby's Sentinels that
/// watch would fail its nodes over on their own: two writers), and each target node must be a
/// replica of the shop's master, link up, as the active region's Sentinels see it (else a
/// failover would promote a cache without the shop's data). `cold`: the target's Sentinels must
/// watch one of its nodes.
async fn cache<K: CacheNodes>(
    port: &K,
    plan: &ValidPlan,
    target: &str,
    active: &str,
) -> Vec<Finding> {
    let Some(cache) = plan.cache() else {
        return Vec::new();
    };
    let (Some(ours), Some(theirs)) = (
        plan.region(target).ok().and_then(|r| r.cache.as_ref()),
        plan.region(active).ok().and_then(|r| r.cache.as_ref()),
    ) else {
        return Vec::new();
    };
    let name = &cache.master_name;
    let cold = cache.on_failover == crate::plan::CacheFailover::Cold;
    let mut out = Vec::new();
    for s in &ours.sentinels {
        let subject = format!("{target}/sentinel {s}");
        out.push(match (port.watched(s, name).await, cold) {
            (Err(e), _) => could_not(Check::Cache, &subject, &e),
            (Ok(None), false) => Finding::new(
                Check::Cache,
                Severity::Ok,
                subject,
                format!("watches nothing as {name} (standby)"),
            ),
            (Ok(Some(m)), false) => Finding::new(
                Check::Cache,
                Severity::Critical,
                subject,
                format!(
                    "watches {m} as {name}: a standby region's Sentinels must watch nothing, or they fail its nodes over on their own (two writers)"
                ),
            ),
            (Ok(Some(m)), true) if ours.nodes.iter().any(|n| n.eq_ignore_ascii_case(&m)) => {
                Finding::new(
                    Check::Cache,
                    Severity::Ok,
                    subject,
                    format!("watches {m} as {name} (a cold cache of the region's own)"),
                )
            }
            (Ok(w), true) => Finding::new(
                Check::Cache,
                Severity::Critical,
                subject,
                format!(
                    "watches {} as {name}, not one of {target}'s nodes: a cold cache must be the region's own",
                    w.as_deref().unwrap_or("nothing")
                ),
            ),
        });
    }
    if cold || target == active {
        return out;
    }
    // the shop's master and its replicas, as the first active Sentinel that answers sees them
    let mut seen = None;
    let mut last_error = None;
    for s in &theirs.sentinels {
        match futures::join!(port.watched(s, name), port.replicas(s, name)) {
            (Ok(Some(master)), Ok(replicas)) => {
                seen = Some((master, replicas));
                break;
            }
            (Ok(None), _) => {
                last_error = Some(crate::Error::not_found(format!(
                    "sentinel {s} watches nothing as {name}"
                )));
            }
            (Err(e), _) | (_, Err(e)) => last_error = Some(e),
        }
    }
    let Some((master, replicas)) = seen else {
        let e = last_error.unwrap_or_else(|| crate::Error::not_found("no sentinel listed"));
        out.push(could_not(
            Check::Cache,
            &format!("{active}/sentinels ({name})"),
            &e,
        ));
        return out;
    };
    for node in &ours.nodes {
        let subject = format!("{target}/{node}");
        out.push(match replicas.iter().find(|r| r.addr.eq_ignore_ascii_case(node)) {
            Some(r) if r.link_up => Finding::new(
                Check::Cache,
                Severity::Ok,
                subject,
                format!("replicates the shop's master {master} (link up, offset {})", r.offset),
            ),
            Some(_) => Finding::new(
                Check::Cache,
                Severity::Critical,
                subject,
                format!("replicates {master} but its link is down: a failover would promote a stale copy"),
            ),
            None => Finding::new(
                Check::Cache,
                Severity::Critical,
                subject,
                format!(
                    "is not a replica of the shop's master {master} as {active}'s Sentinels see it: a failover would promote a cache without the shop's data"
                ),
            ),
        });
    }
    out
}

async fn buckets<B: Buckets>(buckets: &B, plan: &ValidPlan) -> Vec<Finding> {
    let mut checks = Vec::new();
    for region in plan.region_names() {
        let (Ok(rp), Ok(other)) = (plan.region(region), plan.other_region(region)) else {
            continue;
        };
        let destinations: Vec<String> = plan
            .region(other)
            .map(|o| o.buckets.clone())
            .unwrap_or_default();
        for name in &rp.buckets {
            let destinations = destinations.clone();
            checks.push(async move {
                let subject = format!("{region}/{name}");
                match buckets.describe_bucket(region, name).await {
                    Err(e) => could_not(Check::Bucket, &subject, &e),
                    Ok(None) => Finding::new(
                        Check::Bucket,
                        Severity::Critical,
                        subject,
                        "does not exist".into(),
                    ),
                    Ok(Some(v)) => {
                        let mut problems = Vec::new();
                        if !v.versioning_enabled {
                            problems.push("versioning is not enabled".to_string());
                        }
                        let into_other: Vec<&String> = v
                            .replicates_to
                            .iter()
                            .filter(|d| destinations.contains(d))
                            .collect();
                        if into_other.is_empty() {
                            problems.push(if destinations.is_empty() {
                                format!(
                                    "no replication into {other}: the plan names no bucket there"
                                )
                            } else {
                                format!(
                                    "no enabled replication rule into {other} ({})",
                                    destinations.join(", ")
                                )
                            });
                        }
                        if problems.is_empty() {
                            Finding::new(
                                Check::Bucket,
                                Severity::Ok,
                                subject,
                                format!(
                                    "versioned, replicating to {}",
                                    into_other
                                        .iter()
                                        .map(|s| s.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            )
                        } else {
                            Finding::new(
                                Check::Bucket,
                                Severity::Critical,
                                subject,
                                problems.join("; "),
                            )
                        }
                    }
                }
            });
        }
    }
    join_all(checks).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan's resources against the template's IAM scopes: inside, one OK; outside, each
    /// named, critical, with the parameter to change.
    #[test]
    fn plan_resources_outside_the_templates_scopes_block() {
        let plan = ValidPlan::parse(include_str!("../../../examples/plan-record-upsert.yaml"))
            .expect("plan");
        let inside = Scopes {
            ecs_cluster: Some("shop".into()),
            asg_prefix: Some("shop-".into()),
            hosted_zone: Some("Z0SHOPEXAMPLE".into()),
            bucket_prefix: Some("shop-".into()),
        };
        let ok = permission_scopes(&plan, &inside);
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].severity, Severity::Ok);
        let outside = Scopes {
            ecs_cluster: Some("payments".into()),
            asg_prefix: Some("pay-".into()),
            hosted_zone: Some("ZOTHER".into()),
            bucket_prefix: Some("pay-".into()),
        };
        let found = permission_scopes(&plan, &outside);
        assert!(found.iter().all(|f| f.severity == Severity::Critical));
        // 2 regions x (2 services + 1 group + 1 zone + 1 bucket)
        assert_eq!(found.len(), 10, "{found:?}");
        let web = found
            .iter()
            .find(|f| f.subject == "us-west-2/shop/web")
            .expect("named");
        assert!(
            web.message.contains("EcsClusterName is 'payments'"),
            "{}",
            web.message
        );
        // No scopes known (an older deployment): nothing said.
        assert!(permission_scopes(&plan, &Scopes::default()).is_empty());
    }

    /// AccessDenied on anything a failover needs blocks (Ready = 0), named, like a missing
    /// resource; a transient failure to read it only warns.
    #[test]
    fn access_denied_blocks_like_a_missing_resource() {
        let denied = could_not(
            Check::EcsService,
            "us-west-2/shop/web",
            &crate::Error::new(
                ErrorKind::AccessDenied,
                "ecs:DescribeServices: not authorized",
            ),
        );
        assert_eq!(denied.severity, Severity::Critical);
        assert!(denied.message.contains("not allowed"), "{}", denied.message);
        let missing = could_not(
            Check::Topic,
            "arn:aws:sns:us-west-2:1:t",
            &crate::Error::not_found("no such topic"),
        );
        assert_eq!(missing.severity, Severity::Critical);
        let dark = could_not(
            Check::Topic,
            "arn:aws:sns:us-east-1:1:t",
            &crate::Error::new(ErrorKind::Transient, "503"),
        );
        assert_eq!(dark.severity, Severity::Warning);
    }
}
