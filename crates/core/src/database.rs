//! The database, whatever the plan's provider: the questions every step asks of it (which
//! region holds the writer; the evidence a promotion is decided on), answered through that
//! provider's port. Decisions ([`crate::decision`]) never ask which provider it is; adding a
//! provider adds a branch here and an adapter, not a rule elsewhere.

use std::time::Duration;

use crate::cache::{Seen, none_answered};
use crate::error::{Error, Result};
use crate::patroni;
use crate::plan::{DatabaseProvider, ValidPlan, cluster_id_from_arn};
use crate::ports::{GlobalDatabase, PatroniClusters, PgMemberView, PgRole, ReplicationLagSource};

/// What a promotion into `target` is decided on, as the database shows it now.
#[derive(Debug, Clone, PartialEq)]
pub struct DbEvidence {
    /// The region whose database takes writes; `None` while none does.
    pub writer_region: Option<String>,
    /// A promotion already under way (Aurora's `FailoverState`; under Patroni, both regions'
    /// clusters standby clusters: a switchover between its demotion and its promotion).
    pub operation_in_progress: Option<String>,
    /// Whether the target's database could be promoted (Aurora: its cluster `available`;
    /// Patroni: its cluster's leader answers and runs).
    pub target_available: bool,
    /// Whether the source's database answers as the writer's region (Aurora: its cluster
    /// described `available` from its own region; Patroni: its leader answers as primary).
    pub primary_reachable: bool,
    /// When it does not: whether its data plane (the plan's `db_endpoint`) still accepts
    /// connections (`None`: not checked).
    pub primary_data_plane: Option<bool>,
    /// The target's replication lag, when known from evidence no older than the RPO guard.
    pub replication_lag: Option<Duration>,
    /// How old that evidence is (also when too old to count).
    pub replication_lag_age: Option<Duration>,
}

/// The plan region whose database is the writer, read through `via` (Aurora's API in that
/// region) or from every Patroni member of both regions. Patroni: no member answering at all is
/// an error (the writer is unknown, not absent); two primaries is `PreconditionFailed`.
pub async fn writer_region<D>(db: &D, plan: &ValidPlan, via: &str) -> Result<Option<String>>
where
    D: GlobalDatabase + PatroniClusters,
{
    match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => {
            let view = db.describe_global(via, plan.global_cluster_id()?).await?;
            Ok(crate::steps::writer_region(plan, &view).map(str::to_string))
        }
        DatabaseProvider::Patroni => {
            let regions = read_regions(db, plan).await?;
            if regions.iter().all(|(_, seen)| !answering(seen)) {
                let all: Vec<Seen<PgMemberView>> =
                    regions.into_iter().flat_map(|(_, seen)| seen).collect();
                return Err(none_answered(
                    "no Patroni member of either region answered",
                    &all,
                ));
            }
            let views: Vec<(&str, &[Seen<PgMemberView>])> = regions
                .iter()
                .map(|(r, seen)| (r.as_str(), seen.as_slice()))
                .collect();
            Ok(patroni::primary_region(&views)?.map(str::to_string))
        }
    }
}

/// The evidence a promotion from `source` into `target` is decided on (one code for the
/// trigger's decision, the state machine's Assess, readiness and db-failover's start).
pub async fn evidence<D, L>(
    db: &D,
    lag: &L,
    plan: &ValidPlan,
    target: &str,
    source: &str,
    now: time::OffsetDateTime,
) -> Result<DbEvidence>
where
    D: GlobalDatabase + PatroniClusters,
    L: ReplicationLagSource,
{
    match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => aurora_evidence(db, lag, plan, target, source).await,
        DatabaseProvider::Patroni => patroni_evidence(db, plan, target, source, now).await,
    }
}

async fn aurora_evidence<D, L>(
    db: &D,
    lag: &L,
    plan: &ValidPlan,
    target: &str,
    source: &str,
) -> Result<DbEvidence>
where
    D: GlobalDatabase,
    L: ReplicationLagSource,
{
    let gid = plan.global_cluster_id()?;
    let target_arn = plan.cluster_arn(target)?;
    let global = db.describe_global(target, gid).await?;
    let writer_region =
        match global.writer_arn() {
            None => None,
            Some(arn) => Some(plan.region_of_cluster(arn).map(str::to_string).ok_or_else(
                || {
                    Error::precondition(format!(
                        "the writer of {gid} is {arn}, which is not one of the plan's clusters"
                    ))
                },
            )?),
        };
    let target_available = db
        .describe_cluster(target, target_arn)
        .await?
        .is_available();
    let primary_arn = plan.cluster_arn(source)?;
    let primary_reachable = crate::steps::primary_answers(db, source, primary_arn).await;
    let primary_data_plane =
        crate::steps::primary_data_plane(db, plan, source, primary_reachable).await?;
    let target_id = cluster_id_from_arn(target_arn)
        .ok_or_else(|| Error::internal("a valid plan has cluster ARNs"))?;
    let sample = lag.replication_lag(target, target_id).await?;
    Ok(DbEvidence {
        writer_region,
        operation_in_progress: global.operation.map(|o| o.status),
        target_available,
        primary_reachable,
        primary_data_plane,
        replication_lag: crate::decision::usable_lag(sample, plan.rpo_guard()),
        replication_lag_age: sample.map(|s| s.age),
    })
}

async fn patroni_evidence<D>(
    db: &D,
    plan: &ValidPlan,
    target: &str,
    source: &str,
    now: time::OffsetDateTime,
) -> Result<DbEvidence>
where
    D: GlobalDatabase + PatroniClusters,
{
    let t = patroni::read(db, plan.patroni_members(target)?).await;
    let s = patroni::read(db, plan.patroni_members(source)?).await;
    let writer_region = patroni::primary_region(&[(target, t.as_slice()), (source, s.as_slice())])?
        .map(str::to_string);
    let t_leader = patroni::leader(target, &t)?;
    let s_leader = patroni::leader(source, &s)?;
    let target_available = t_leader.is_some_and(|(_, v)| patroni::runs(v));
    let primary = s_leader.filter(|(_, v)| v.role == PgRole::Primary);
    let primary_reachable = primary.is_some();
    if !primary_reachable {
        tracing::warn!(
            region = source,
            "no Patroni member of the source answers as primary"
        );
    }
    let primary_data_plane =
        crate::steps::primary_data_plane(db, plan, source, primary_reachable).await?;
    let operation_in_progress = match (t_leader, s_leader) {
        (Some((_, tv)), Some((_, sv)))
            if tv.role == PgRole::StandbyLeader && sv.role == PgRole::StandbyLeader =>
        {
            Some("switching-over (both clusters are standby clusters)".to_string())
        }
        _ => None,
    };
    // Measured now, from both leaders: only while the source's primary answers.
    let lag = match (primary, t_leader) {
        (Some((_, p)), Some((_, sv))) => patroni::lag(p, sv, now),
        _ => None,
    };
    Ok(DbEvidence {
        writer_region,
        operation_in_progress,
        target_available,
        primary_reachable,
        primary_data_plane,
        replication_lag: lag,
        replication_lag_age: lag.map(|_| Duration::ZERO),
    })
}

/// The replication lag of `standby`'s database behind the writer, and how old its evidence is:
/// Aurora's newest `AuroraGlobalDBReplicationLag` datapoint of the standby's cluster, or under
/// Patroni the lag measured now from both leaders ([`patroni::lag`]). `(None, _)`: unknown.
pub async fn standby_lag<D, L>(
    db: &D,
    lag: &L,
    plan: &ValidPlan,
    standby: &str,
    now: time::OffsetDateTime,
) -> Result<(Option<Duration>, Option<Duration>)>
where
    D: GlobalDatabase + PatroniClusters,
    L: ReplicationLagSource,
{
    match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => {
            let id = cluster_id_from_arn(plan.cluster_arn(standby)?)
                .ok_or_else(|| Error::internal("a valid plan has cluster ARNs"))?;
            let sample = lag.replication_lag(standby, id).await?;
            Ok((
                crate::decision::usable_lag(sample, plan.rpo_guard()),
                sample.map(|s| s.age),
            ))
        }
        DatabaseProvider::Patroni => {
            let writer = plan.other_region(standby)?;
            let s = patroni::read(db, plan.patroni_members(standby)?).await;
            let w = patroni::read(db, plan.patroni_members(writer)?).await;
            let measured = match (patroni::leader(writer, &w)?, patroni::leader(standby, &s)?) {
                (Some((_, p)), Some((_, sv))) if p.role == PgRole::Primary => {
                    patroni::lag(p, sv, now)
                }
                _ => None,
            };
            Ok((measured, measured.map(|_| Duration::ZERO)))
        }
    }
}

/// Every Patroni member of each plan region, in the plan's order.
async fn read_regions<D: PatroniClusters>(
    db: &D,
    plan: &ValidPlan,
) -> Result<Vec<(String, Vec<Seen<PgMemberView>>)>> {
    let mut out = Vec::new();
    for region in plan.region_names() {
        let seen = patroni::read(db, plan.patroni_members(region)?).await;
        out.push((region.to_string(), seen));
    }
    Ok(out)
}

fn answering(seen: &[Seen<PgMemberView>]) -> bool {
    seen.iter().any(|s| s.answer.is_ok())
}

#[cfg(test)]
mod tests;
