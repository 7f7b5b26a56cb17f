//! The database, whatever the plan's provider: the questions every step asks of it (which
//! region holds the writer; the evidence a promotion is decided on), answered through that
//! provider's port. Decisions ([`crate::decision`]) never ask which provider it is; adding a
//! provider adds a branch here and an adapter, not a rule elsewhere.

use std::time::Duration;

use crate::cache::{Seen, none_answered};
use crate::error::{Error, Result};
use crate::mysql;
use crate::patroni;
use crate::plan::{DatabaseProvider, ValidPlan, cluster_id_from_arn};
use crate::ports::{
    AnyDatabase, GlobalDatabase, ParameterStore, PatroniClusters, PgMemberView, PgRole,
    ReplicationLagSource,
};

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
pub async fn writer_region<D, S>(
    db: &D,
    params: &S,
    plan: &ValidPlan,
    via: &str,
) -> Result<Option<String>>
where
    D: AnyDatabase,
    S: ParameterStore,
{
    match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => {
            let view = db.describe_global(via, plan.global_cluster_id()?).await?;
            Ok(crate::steps::writer_region(plan, &view).map(str::to_string))
        }
        DatabaseProvider::Patroni => {
            let regions = read_regions(db, plan).await?;
            let views: Vec<(&str, &[Seen<PgMemberView>])> = regions
                .iter()
                .map(|(r, seen)| (r.as_str(), seen.as_slice()))
                .collect();
            Ok(patroni::primary_region(&views)?.map(str::to_string))
        }
        DatabaseProvider::Mysql => {
            let [a, b] = read_mysql(db, params, plan).await?;
            Ok(mysql::writer_region([(a.0, &a.1), (b.0, &b.1)], None)?.map(str::to_string))
        }
    }
}

/// The evidence a promotion from `source` into `target` is decided on (one code for the
/// trigger's decision, the state machine's Assess, readiness and db-failover's start).
#[allow(clippy::too_many_arguments)]
pub async fn evidence<D, L, S>(
    db: &D,
    lag: &L,
    params: &S,
    plan: &ValidPlan,
    target: &str,
    source: &str,
    now: time::OffsetDateTime,
) -> Result<DbEvidence>
where
    D: AnyDatabase,
    L: ReplicationLagSource,
    S: ParameterStore,
{
    match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => aurora_evidence(db, lag, plan, target, source).await,
        DatabaseProvider::Patroni => patroni_evidence(db, plan, target, source, now).await,
        DatabaseProvider::Mysql => mysql_evidence(db, params, plan, target, source).await,
    }
}

/// Under MySQL: both servers read now. The lag counts only while the source answers as the
/// writer ([`mysql::lag_evidence`]); a dark source's replica has unknown lag.
async fn mysql_evidence<D, S>(
    db: &D,
    params: &S,
    plan: &ValidPlan,
    target: &str,
    source: &str,
) -> Result<DbEvidence>
where
    D: AnyDatabase,
    S: ParameterStore,
{
    let login = mysql::login(params, plan, false).await?;
    let t = mysql::read(db, plan.mysql_server(target)?, &login).await;
    let s = mysql::read(db, plan.mysql_server(source)?, &login).await;
    // A source that answered and refused lifeboat (its login, its certificate) is not dark:
    // whether it takes writes is unknown, and no person is shown "the primary does not answer"
    if let Err(e) = &s.answer
        && !matches!(
            e.kind(),
            crate::ErrorKind::Transient | crate::ErrorKind::Throttled
        )
    {
        return Err(Error::new(
            e.kind(),
            format!(
                "the source's MySQL server {} answered and refused lifeboat, so whether it \
                 takes writes is unknown (nothing was changed): {}",
                s.addr,
                e.message()
            ),
        ));
    }
    let writer_region =
        mysql::writer_region([(target, &t), (source, &s)], None)?.map(str::to_string);
    let primary_reachable = mysql::answers_as_writer(&s);
    if !primary_reachable {
        tracing::warn!(
            region = source,
            "the source's MySQL server does not answer as the writer"
        );
    }
    let primary_data_plane =
        crate::steps::primary_data_plane(db, plan, source, primary_reachable).await?;
    let lag = mysql::lag_evidence(&t, &s);
    Ok(DbEvidence {
        writer_region,
        operation_in_progress: mysql::switching_over(&t, &s)
            .then(|| "switching-over (both servers read-only)".to_string()),
        target_available: t.answer.is_ok(),
        primary_reachable,
        primary_data_plane,
        replication_lag: lag,
        replication_lag_age: lag.map(|_| Duration::ZERO),
    })
}

/// Both plan regions' servers read with lifeboat's login, in the plan's order.
async fn read_mysql<'p, D, S>(
    db: &D,
    params: &S,
    plan: &'p ValidPlan,
) -> Result<[(&'p str, crate::cache::Seen<mysql::MysqlServerView>); 2]>
where
    D: AnyDatabase,
    S: ParameterStore,
{
    let login = mysql::login(params, plan, false).await?;
    let names = plan.region_names();
    let [a, b] = names.as_slice() else {
        return Err(Error::internal("a valid plan has two regions"));
    };
    let sa = mysql::read(db, plan.mysql_server(a)?, &login).await;
    let sb = mysql::read(db, plan.mysql_server(b)?, &login).await;
    Ok([(*a, sa), (*b, sb)])
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
    D: AnyDatabase,
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
pub async fn standby_lag<D, L, S>(
    db: &D,
    lag: &L,
    params: &S,
    plan: &ValidPlan,
    standby: &str,
    now: time::OffsetDateTime,
) -> Result<(Option<Duration>, Option<Duration>)>
where
    D: AnyDatabase,
    L: ReplicationLagSource,
    S: ParameterStore,
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
        DatabaseProvider::Mysql => {
            let login = mysql::login(params, plan, false).await?;
            let s = mysql::read(db, plan.mysql_server(standby)?, &login).await;
            let w = mysql::read(db, plan.mysql_server(plan.other_region(standby)?)?, &login).await;
            let measured = mysql::lag_evidence(&s, &w);
            Ok((measured, measured.map(|_| Duration::ZERO)))
        }
    }
}

/// The region whose database the last promotion made the writer, read through `via` (Aurora)
/// or from every Patroni member: as [`writer_region`], except that under Patroni an old primary
/// back beside the writer does not hide the writer when lifeboat's run state names the region
/// it made active ([`patroni::promoted_primary`]). What the returning home region's guard fences against
/// ([`crate::fence::observe`]); nothing moves traffic on it.
pub async fn promoted_writer<D, S>(
    db: &D,
    params: &S,
    plan: &ValidPlan,
    via: &str,
    lifeboat_active: Option<&str>,
) -> Result<Option<String>>
where
    D: AnyDatabase,
    S: ParameterStore,
{
    match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => writer_region(db, params, plan, via).await,
        DatabaseProvider::Mysql => {
            let [a, b] = read_mysql(db, params, plan).await?;
            Ok(
                mysql::writer_region([(a.0, &a.1), (b.0, &b.1)], lifeboat_active)?
                    .map(str::to_string),
            )
        }
        DatabaseProvider::Patroni => {
            let regions = read_regions(db, plan).await?;
            let [(a, sa), (b, sb)] = regions.as_slice() else {
                return Err(Error::internal("a valid plan has two regions"));
            };
            let la = patroni::leader(a, sa)?.map(|(_, v)| v);
            let lb = patroni::leader(b, sb)?.map(|(_, v)| v);
            Ok(
                patroni::promoted_primary([(a.as_str(), la), (b.as_str(), lb)], lifeboat_active)?
                    .map(str::to_string),
            )
        }
    }
}

/// The returning home region's database fenced, where the provider needs lifeboat to do it:
/// `None` under Aurora (its global failover demoted the old primary, which rejoins read-only
/// by itself: [`crate::fence::DATABASE_FENCE`]). Under Patroni, `region`'s cluster back as a
/// primary of its own while `writer`'s was promoted past it is made a standby cluster of the
/// writer (read-only; what it wrote after the fork stays on its disk, never rewound by
/// lifeboat), with the REST API's password from its SecureString; already a standby cluster is
/// already fenced; a region that does not answer is recorded, never an error.
pub async fn fence_home<D, S>(
    db: &D,
    params: &S,
    plan: &ValidPlan,
    region: &str,
    writer: &str,
) -> Option<crate::fence::FenceAction>
where
    D: AnyDatabase,
    S: crate::ports::ParameterStore,
{
    use crate::fence::{FenceAction, FenceOutcome};
    match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => return None,
        DatabaseProvider::Mysql => {
            return Some(fence_home_mysql(db, params, plan, region, writer).await);
        }
        DatabaseProvider::Patroni => {}
    }
    let resource = format!("database:{region} Patroni cluster");
    let action = |outcome| {
        Some(FenceAction {
            resource: resource.clone(),
            outcome,
        })
    };
    let (mine, theirs) = match (plan.patroni_members(region), plan.patroni_members(writer)) {
        (Ok(m), Ok(t)) => (m, t),
        (Err(e), _) | (_, Err(e)) => return action(FenceOutcome::of_error(&e)),
    };
    let seen = patroni::read(db, mine).await;
    let leader = match patroni::leader(region, &seen) {
        Ok(l) => l.map(|(api, v)| (api.to_string(), v.clone())),
        Err(e) => return action(FenceOutcome::of_error(&e)),
    };
    match leader {
        None if !answering(&seen) => action(FenceOutcome::of_error(&none_answered(
            format!("no Patroni member of {region} answered"),
            &seen,
        ))),
        None => action(FenceOutcome::Unreachable {
            detail: "its cluster has no leader yet (Patroni elects one)".to_string(),
        }),
        Some((_, v)) if v.role != PgRole::Primary => action(FenceOutcome::ReadOnly {
            detail: format!("a standby cluster ({}), read-only", v.name),
        }),
        Some((api, v)) => {
            let auth = match patroni::auth(params, plan).await {
                Ok(a) => a,
                Err(e) => return action(FenceOutcome::of_error(&e)),
            };
            // demoted under the writer lifeboat's run made active, whatever its timeline number
            match patroni::fence_primary(db, theirs, &api, &auth).await {
                Ok(()) => action(FenceOutcome::Demoted {
                    detail: format!(
                        "{} (primary on timeline {}) made a standby cluster of {writer}'s \
                         primary: read-only; what it wrote after the fork stays on its disk",
                        v.name,
                        v.timeline.unwrap_or(0)
                    ),
                }),
                Err(e) => action(FenceOutcome::of_error(&e)),
            }
        }
    }
}

/// Under MySQL: `region`'s server back as a writer beside `writer`'s is made read-only, and a
/// read-only server that replicates nothing replicates `writer`'s, unless it holds
/// transactions the writer lacks (its history forked: left read-only for a person to rebuild;
/// its writes are never discarded by lifeboat). Each call takes the next step
/// ([`mysql::promote`] with the writer as its target).
async fn fence_home_mysql<D, S>(
    db: &D,
    params: &S,
    plan: &ValidPlan,
    region: &str,
    writer: &str,
) -> crate::fence::FenceAction
where
    D: AnyDatabase,
    S: ParameterStore,
{
    use crate::fence::{FenceAction, FenceOutcome};
    let resource = format!("database:{region} MySQL server");
    let action = |outcome| FenceAction {
        resource: resource.clone(),
        outcome,
    };
    let (mine, theirs) = match (plan.mysql_server(region), plan.mysql_server(writer)) {
        (Ok(m), Ok(t)) => (m, t),
        (Err(e), _) | (_, Err(e)) => return action(FenceOutcome::of_error(&e)),
    };
    let login = match mysql::login(params, plan, true).await {
        Ok(l) => l,
        Err(e) => return action(FenceOutcome::of_error(&e)),
    };
    let seen = mysql::read(db, mine, &login).await;
    let view = match &seen.answer {
        Ok(v) => v,
        Err(e) => return action(FenceOutcome::of_error(e)),
    };
    if view.replica.is_some() {
        return action(FenceOutcome::ReadOnly {
            detail: format!("{mine} is read-only and replicates {theirs}"),
        });
    }
    match mysql::promote(db, theirs, mine, mysql::MyMode::Failover, &login).await {
        Ok(p) if p.fenced.is_some() => action(FenceOutcome::Demoted {
            detail: format!(
                "{mine} (writable beside {writer}'s server) made read-only: what it wrote \
                 after the failover stays on it"
            ),
        }),
        Ok(p) => action(FenceOutcome::ReadOnly {
            detail: match p.note {
                Some(note) => note,
                None if p.ops.is_empty() => format!("{mine} is read-only"),
                None => format!(
                    "{mine} is read-only; {}",
                    p.ops
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            },
        }),
        Err(e) => action(FenceOutcome::of_error(&e)),
    }
}

/// What becomes of the old primary's database in a run's fence (a failover with data loss from
/// `region`), as the plan's provider does it: Aurora's global failover demotes it (it rejoins
/// read-only by itself); under Patroni, the region's own copy demotes it when it returns.
pub fn run_fence_action(plan: &ValidPlan, region: &str) -> crate::fence::FenceAction {
    use crate::fence::{
        DATABASE_FENCE, FenceAction, FenceOutcome, MYSQL_DATABASE_FENCE, PATRONI_DATABASE_FENCE,
    };
    match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => FenceAction {
            resource: format!(
                "database:{}",
                plan.cluster_arn(region)
                    .ok()
                    .and_then(cluster_id_from_arn)
                    .unwrap_or("old primary")
            ),
            outcome: FenceOutcome::Delegated {
                detail: DATABASE_FENCE.to_string(),
            },
        },
        DatabaseProvider::Patroni => FenceAction {
            resource: format!("database:{region} Patroni cluster"),
            outcome: FenceOutcome::Delegated {
                detail: PATRONI_DATABASE_FENCE.to_string(),
            },
        },
        DatabaseProvider::Mysql => FenceAction {
            resource: format!("database:{region} MySQL server"),
            outcome: FenceOutcome::Delegated {
                detail: MYSQL_DATABASE_FENCE.to_string(),
            },
        },
    }
}

/// Whether `region`'s database answers as a writer: Aurora, its cluster described `available`
/// from its own region; Patroni, its leader answers as primary. Unknown is `false`.
pub async fn writer_answers<D, S>(db: &D, params: &S, plan: &ValidPlan, region: &str) -> bool
where
    D: AnyDatabase,
    S: ParameterStore,
{
    match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => match plan.cluster_arn(region) {
            Ok(arn) => crate::steps::primary_answers(db, region, arn).await,
            Err(_) => false,
        },
        DatabaseProvider::Patroni => {
            let Ok(members) = plan.patroni_members(region) else {
                return false;
            };
            let seen = patroni::read(db, members).await;
            matches!(patroni::leader(region, &seen), Ok(Some((_, v))) if v.role == PgRole::Primary)
        }
        DatabaseProvider::Mysql => {
            let (Ok(server), Ok(login)) = (
                plan.mysql_server(region),
                mysql::login(params, plan, false).await,
            ) else {
                return false;
            };
            mysql::answers_as_writer(&mysql::read(db, server, &login).await)
        }
    }
}

/// What a failback home is decided on, of the database ([`crate::failback`]): who writes,
/// home's database as the writer's standby, any promotion under way, and home's lag.
#[derive(Debug, Clone, PartialEq)]
pub struct HomeView {
    pub writer_region: Option<String>,
    pub home_member: Option<crate::failback::HomeMember>,
    pub operation_in_progress: Option<String>,
    pub home_lag: Option<Duration>,
}

/// The database's part of a failback snapshot, seen from `from_region` (the copy bringing the
/// shop home) and home's own endpoints.
///
/// Aurora: the global cluster described from `from_region`, home's member of it, home's
/// newest lag datapoint (read through home's own endpoint: unknown while home is dark).
///
/// Patroni: every member of both regions. Home is "connected" when its cluster is a standby
/// cluster whose leader streams from the writer (what Aurora calls a connected secondary);
/// a home leader that runs but does not stream (its timeline forked at a failover with data
/// loss: it must be rebuilt, docs/plan.md) is not. Home back as a primary of its own beside the
/// writer lifeboat made active (`lifeboat_active`, this copy's run state) is named as such: not
/// connected, never a second writer lifeboat would bring traffic to. Two primaries without that
/// record naming one are `PreconditionFailed`.
#[allow(clippy::too_many_arguments)]
pub async fn home_view<D, L, S>(
    db: &D,
    lag: &L,
    params: &S,
    plan: &ValidPlan,
    from_region: &str,
    lifeboat_active: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<HomeView>
where
    D: AnyDatabase,
    L: ReplicationLagSource,
    S: ParameterStore,
{
    let home = plan.primary_region();
    match plan.database_provider() {
        DatabaseProvider::AuroraGlobal => {
            let gid = plan.global_cluster_id()?;
            let home_arn = plan.cluster_arn(home)?;
            let view = db.describe_global(from_region, gid).await?;
            let writer_region = view
                .writer_arn()
                .and_then(|arn| plan.region_of_cluster(arn))
                .map(str::to_string);
            let home_member = match view.member(home_arn) {
                None => None,
                Some(m) => Some(crate::failback::HomeMember {
                    is_writer: m.is_writer,
                    synchronization_status: m.synchronization_status.clone(),
                    cluster_available: crate::steps::primary_answers(db, home, home_arn).await,
                }),
            };
            let home_id = cluster_id_from_arn(home_arn)
                .ok_or_else(|| Error::internal("a valid plan has cluster ARNs"))?;
            // Read through home's own endpoint: while home is dark its lag is unknown, not an
            // error. (Failing back is a switchover, RPO 0 by itself: any datapoint of the last
            // minutes shows whether home has caught up.)
            let home_lag = match lag.replication_lag(home, home_id).await {
                Ok(l) => l.map(|s| s.lag),
                Err(e) => {
                    tracing::warn!(region = home, error = %e, "home's replication lag cannot be read");
                    None
                }
            };
            Ok(HomeView {
                writer_region,
                home_member,
                operation_in_progress: view.operation.map(|o| o.status),
                home_lag,
            })
        }
        DatabaseProvider::Patroni => {
            let regions = read_regions(db, plan).await?;
            let of = |region: &str| {
                regions
                    .iter()
                    .find(|(r, _)| r == region)
                    .map(|(_, seen)| seen.as_slice())
                    .ok_or_else(|| {
                        Error::precondition(format!("{region} is not one of the plan's regions"))
                    })
            };
            let (h, f) = (of(home)?, of(from_region)?);
            let h_leader = patroni::leader(home, h)?.map(|(_, v)| v);
            let f_leader = patroni::leader(from_region, f)?.map(|(_, v)| v);
            let writer = f_leader.filter(|v| v.role == PgRole::Primary);
            let writer_region = patroni::promoted_primary(
                [(home, h_leader), (from_region, f_leader)],
                lifeboat_active,
            )?
            .map(str::to_string);
            // home promoted last: the writer is home's, and there is nothing to fail back
            let writer = if writer_region.as_deref() == Some(home) {
                None
            } else {
                writer
            };
            let synchronization = match (h_leader, writer) {
                (None, _) if !answering(h) => "not answering".to_string(),
                (None, _) => "no leader (Patroni elects one)".to_string(),
                (Some(hv), Some(_)) if hv.role == PgRole::Primary => format!(
                    "a primary of its own ({}) beside the writer lifeboat made active in \
                     {from_region}: not fenced yet",
                    hv.name
                ),
                (Some(hv), _) if hv.role == PgRole::Primary => "primary".to_string(),
                (Some(hv), Some(fv)) if matches!((hv.position(), fv.location), (Some(at), Some(end)) if at > end) => {
                    "a standby cluster holding WAL the writer never wrote: its history forked \
                     (rebuild it, docs/plan.md)"
                        .to_string()
                }
                (Some(hv), Some(fv)) if hv.state == "streaming" && hv.timeline == fv.timeline => {
                    "connected".to_string()
                }
                (Some(hv), Some(fv)) => format!(
                    "a standby cluster {} on timeline {}, the writer's is {}",
                    if hv.state == "streaming" {
                        "streaming"
                    } else {
                        "not streaming"
                    },
                    hv.timeline.unwrap_or(0),
                    fv.timeline.unwrap_or(0)
                ),
                (Some(hv), None) => {
                    format!("a standby cluster ({}) with no primary to follow", hv.state)
                }
            };
            let home_member = Some(crate::failback::HomeMember {
                is_writer: writer_region.as_deref() == Some(home),
                synchronization_status: Some(crate::text::inert(&synchronization, 200)),
                cluster_available: h_leader.is_some_and(patroni::runs),
            });
            let operation_in_progress = match (h_leader, f_leader) {
                (Some(hv), Some(fv))
                    if hv.role == PgRole::StandbyLeader && fv.role == PgRole::StandbyLeader =>
                {
                    Some("switching-over (both clusters are standby clusters)".to_string())
                }
                _ => None,
            };
            let home_lag = match (writer, h_leader) {
                (Some(p), Some(hv)) if hv.role == PgRole::StandbyLeader => patroni::lag(p, hv, now),
                _ => None,
            };
            Ok(HomeView {
                writer_region,
                home_member,
                operation_in_progress,
                home_lag,
            })
        }
        DatabaseProvider::Mysql => {
            mysql_home_view(db, params, plan, home, from_region, lifeboat_active).await
        }
    }
}

/// Under MySQL: home is "connected" when its server is read-only and replicates the writer's
/// with a known lag; a home server holding transactions the writer lacks forked at a failover
/// with data loss (rebuild it, docs/linode.md); home back writable beside the writer lifeboat
/// made active is named so: not connected, never a second writer to bring traffic to.
async fn mysql_home_view<D, S>(
    db: &D,
    params: &S,
    plan: &ValidPlan,
    home: &str,
    from_region: &str,
    lifeboat_active: Option<&str>,
) -> Result<HomeView>
where
    D: AnyDatabase,
    S: ParameterStore,
{
    let login = mysql::login(params, plan, false).await?;
    let h = mysql::read(db, plan.mysql_server(home)?, &login).await;
    let f = mysql::read(db, plan.mysql_server(from_region)?, &login).await;
    let writer_region =
        mysql::writer_region([(home, &h), (from_region, &f)], lifeboat_active)?.map(str::to_string);
    let writer = match &f.answer {
        Ok(v) if mysql::writes(v) && writer_region.as_deref() != Some(home) => Some(v),
        _ => None,
    };
    let lag = mysql::lag_evidence(&h, &f).filter(|_| writer.is_some());
    let synchronization = match (&h.answer, writer) {
        (Err(_), _) => "not answering".to_string(),
        (Ok(hv), Some(_)) if mysql::writes(hv) => format!(
            "a writer of its own beside the writer lifeboat made active in {from_region}: not \
             fenced yet"
        ),
        (Ok(hv), _) if mysql::writes(hv) => "the writer".to_string(),
        (Ok(hv), Some(fv)) => match mysql::compare_gtid(&hv.gtid_position, &fv.gtid_position) {
            Some(mysql::Holds::Ahead | mysql::Holds::Diverged) => format!(
                "a read-only server holding transactions the writer never wrote (GTID {} \
                 against {}): its history forked (rebuild it, docs/linode.md)",
                crate::text::inert(&hv.gtid_position, 120),
                crate::text::inert(&fv.gtid_position, 120)
            ),
            _ if lag.is_some() => "connected".to_string(),
            _ => match mysql::replica_lag(hv) {
                mysql::ReplicaLag::Unknown { reason } => {
                    format!("a read-only server not replicating {from_region}'s: {reason}")
                }
                mysql::ReplicaLag::Seconds { .. } => {
                    format!("a read-only server replicating another source than {from_region}'s")
                }
            },
        },
        (Ok(_), None) => "a read-only server with no writer to follow".to_string(),
    };
    Ok(HomeView {
        home_member: Some(crate::failback::HomeMember {
            is_writer: writer_region.as_deref() == Some(home),
            synchronization_status: Some(crate::text::inert(&synchronization, 240)),
            cluster_available: h.answer.is_ok(),
        }),
        writer_region,
        operation_in_progress: mysql::switching_over(&h, &f)
            .then(|| "switching-over (both servers read-only)".to_string()),
        home_lag: lag,
    })
}

/// Every Patroni member of each plan region, in the plan's order. No member answering at all
/// is an error (who writes is unknown, not "nobody"; see [`none_answered`]).
async fn read_regions<D: PatroniClusters>(
    db: &D,
    plan: &ValidPlan,
) -> Result<Vec<(String, Vec<Seen<PgMemberView>>)>> {
    let mut out = Vec::new();
    for region in plan.region_names() {
        let seen = patroni::read(db, plan.patroni_members(region)?).await;
        out.push((region.to_string(), seen));
    }
    if out.iter().all(|(_, seen)| !answering(seen)) {
        let all: Vec<Seen<PgMemberView>> = out.into_iter().flat_map(|(_, seen)| seen).collect();
        return Err(none_answered(
            "no Patroni member of either region answered",
            &all,
        ));
    }
    Ok(out)
}

fn answering(seen: &[Seen<PgMemberView>]) -> bool {
    seen.iter().any(|s| s.answer.is_ok())
}

#[cfg(test)]
mod tests;
