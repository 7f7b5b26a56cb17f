//! PostgreSQL under Patroni, one cluster per region. The rule of what a failover (or failback)
//! does with the database lives here; [`promote`] executes it through the [`PatroniClusters`]
//! port.
//!
//! The layout lifeboat expects is the one Patroni documents for disaster recovery: each region
//! runs its own Patroni cluster with its own DCS (etcd), and the standby region's cluster is a
//! *standby cluster* (`standby_cluster` in its dynamic configuration) whose leader replicates
//! the active region's primary. Patroni never promotes a standby cluster on its own; the
//! promotion is a change of that configuration, which is what lifeboat makes, once the run's
//! decision allows it.
//!
//! * **Switchover** (the source region's leader answers as primary): first the source cluster
//!   becomes a standby cluster of the target's leader (`standby_cluster` set: its primary is
//!   demoted and takes no more writes); then, once the target has received everything the
//!   source wrote, the target's cluster is promoted. No write is lost (RPO 0), and the old
//!   region is already the new standby.
//! * **Failover** (the source's leader does not answer, and the run's decision allowed the
//!   data loss its RPO guard measured): the target's cluster is promoted as it is.
//! * **Fencing** a source that comes back as primary after a failover: it becomes a standby
//!   cluster of the new primary, so it takes no more writes. Its timeline has forked from the
//!   new primary's (even with no write of the shop's, its restart wrote WAL), so it does not
//!   stream until a person rebuilds it (docs/plan.md); what it wrote after the fork stays on
//!   its disk, never rewound or removed by lifeboat.

use serde::{Deserialize, Serialize};

use crate::cache::{Seen, none_answered};
use crate::error::{Error, ErrorKind, Result};
use crate::ports::{PatroniAuth, PatroniClusters, PgMemberView, PgRole, PgUpstream};

/// What the run's decision allows the promotion to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PgMode {
    /// RPO 0: the target is promoted only once it holds every write of the source's leader.
    Switchover,
    /// The source's leader is dark and the decision allowed the data loss it measured: the
    /// target is promoted as it is when the source does not answer (and by the switchover's
    /// way when it does).
    Failover,
}

/// One change lifeboat makes to a cluster's dynamic configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PgOp {
    /// `standby_cluster` set on the cluster of the member reached at `api`: its leader stops
    /// taking writes and replicates `upstream`.
    Demote { api: String, upstream: PgUpstream },
    /// `standby_cluster` removed: the standby cluster's leader becomes the primary.
    Promote { api: String },
}

impl std::fmt::Display for PgOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PgOp::Demote { api, upstream } => write!(
                f,
                "the cluster at {api} becomes a standby cluster of {}:{}",
                upstream.host, upstream.port
            ),
            PgOp::Promote { api } => write!(f, "the standby cluster at {api} is promoted"),
        }
    }
}

/// Where the target's database stands after this call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PgState {
    /// The target's leader is the primary (and the source, where it answers, follows it).
    Done,
    /// The source's leader is being demoted (asked now or by an earlier call).
    Demoting,
    /// The source has stopped taking writes; the target has not yet received all of them.
    CatchingUp { behind_bytes: u64 },
    /// The target's promotion was asked; Patroni applies it on its next loop.
    Promoting,
}

/// What a call decided: the target's leader, the changes to make (in order) and where that
/// leaves the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PgPromotion {
    /// The target cluster's leader (member name).
    pub leader: String,
    pub ops: Vec<PgOp>,
    pub state: PgState,
    /// How far the target was behind the source's leader (both answering), in WAL bytes.
    pub behind_bytes: Option<u64>,
    /// The source's leader, when this call demotes it.
    pub fenced: Option<String>,
}

type Leader<'a> = (&'a str, &'a PgMemberView);

/// The one leader of a region's cluster among the members that answered; `Ok(None)` when
/// none leads; two leaders is `PreconditionFailed` (lifeboat does not choose whose writes to
/// keep).
pub(crate) fn leader<'a>(
    region: &str,
    members: &'a [Seen<PgMemberView>],
) -> Result<Option<Leader<'a>>> {
    let leaders: Vec<Leader<'a>> = members
        .iter()
        .filter_map(|m| m.answer.as_ref().ok().map(|v| (m.addr.as_str(), v)))
        .filter(|(_, v)| v.leads())
        .collect();
    match leaders.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(Error::precondition(format!(
            "{region} has {} leaders ({}): refusing to guess which one holds the data",
            many.len(),
            many.iter()
                .map(|(_, v)| v.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Whether a member's PostgreSQL runs (`running`, or `streaming` from its upstream), not
/// starting, stopped or crashed.
pub fn runs(v: &PgMemberView) -> bool {
    matches!(v.state.as_str(), "running" | "streaming")
}

/// How far behind `primary` the `standby` is, in time, measured `now` while both answer: zero
/// when the standby has received everything the primary had written; else the time since the
/// standby's newest replayed transaction was committed, an upper bound of what a failover
/// now would lose (every write it lacks came after that one). `None` (unknown, never zero)
/// when a position or that time is missing, that time is ahead of `now`, or the two report
/// different timelines (a position on a forked timeline says nothing about the other's).
pub fn lag(
    primary: &PgMemberView,
    standby: &PgMemberView,
    now: time::OffsetDateTime,
) -> Option<std::time::Duration> {
    if primary.timeline != standby.timeline {
        return None;
    }
    let (end, at) = (primary.location?, standby.position()?);
    // Ahead of its primary, a standby holds WAL the primary never wrote: its history forked
    // (the timeline numbers can still agree: a crashed primary promotes itself again). Unknown.
    if at > end {
        return None;
    }
    if at == end {
        return Some(std::time::Duration::ZERO);
    }
    // A time ahead of ours is clocks that disagree: unknown, not zero.
    std::time::Duration::try_from(now - standby.replayed_at?).ok()
}

fn answering(members: &[Seen<PgMemberView>]) -> bool {
    members.iter().any(|m| m.answer.is_ok())
}

/// Why no member of `region` answered (see [`none_answered`]: a refused password is not a
/// dark region).
fn silent(region: &str, members: &[Seen<PgMemberView>]) -> Error {
    none_answered(format!("no Patroni member of {region} answered"), members)
}

fn upstream_of(v: &PgMemberView) -> Result<PgUpstream> {
    let addr = v.postgres.as_deref().ok_or_else(|| {
        Error::new(
            ErrorKind::Transient,
            format!("{} does not publish its PostgreSQL address yet", v.name),
        )
    })?;
    let (host, port) = addr
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .filter(|(h, _)| !h.is_empty())
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "{}'s PostgreSQL address '{}' is not host:port",
                v.name,
                crate::text::inert(addr, 80)
            ))
        })?;
    Ok(PgUpstream {
        host: host.to_string(),
        port,
    })
}

/// The changes that make the target region's cluster the primary one, from what each region's
/// members answered (see the module's documentation for the rule).
pub fn promotion(
    target: &[Seen<PgMemberView>],
    source: &[Seen<PgMemberView>],
    mode: PgMode,
) -> Result<PgPromotion> {
    if !answering(target) {
        return Err(silent("the target region", target));
    }
    let (t_api, t) = leader("the target region", target)?.ok_or_else(|| {
        Error::new(
            ErrorKind::Transient,
            "the target region's cluster has no leader yet (Patroni elects one)",
        )
    })?;
    let s = leader("the source region", source)?;
    let done =
        |ops: Vec<PgOp>, state: PgState, behind: Option<u64>, fenced: Option<String>| PgPromotion {
            leader: t.name.clone(),
            ops,
            state,
            behind_bytes: behind,
            fenced,
        };
    let behind = |s: &PgMemberView| match (s.position(), t.position()) {
        (Some(a), Some(b)) => Some(a.saturating_sub(b)),
        _ => None,
    };
    match (&t.role, s) {
        (PgRole::Primary, Some((s_api, sv))) if sv.role == PgRole::Primary => {
            // Two primaries: the source came back after a failover. The newer timeline is the
            // one a promotion made; a source on a newer one than the target is not ours to undo.
            if sv.timeline > t.timeline {
                return Err(Error::precondition(format!(
                    "both regions' leaders are primaries and the source's ({}, timeline {}) is \
                     newer than the target's ({}, timeline {}): refusing to demote it",
                    sv.name,
                    sv.timeline.unwrap_or(0),
                    t.name,
                    t.timeline.unwrap_or(0)
                )));
            }
            Ok(done(
                vec![PgOp::Demote {
                    api: s_api.to_string(),
                    upstream: upstream_of(t)?,
                }],
                PgState::Done,
                None,
                Some(sv.name.clone()),
            ))
        }
        (PgRole::Primary, _) => Ok(done(vec![], PgState::Done, None, None)),
        (_, Some((s_api, sv))) if sv.role == PgRole::Primary => Ok(done(
            vec![PgOp::Demote {
                api: s_api.to_string(),
                upstream: upstream_of(t)?,
            }],
            PgState::Demoting,
            behind(sv),
            Some(sv.name.clone()),
        )),
        (_, Some((_, sv))) => {
            // Both standby clusters: the source has stopped taking writes. Its end is what it
            // holds; the target is promoted once it holds as much.
            let (Some(end), Some(at)) = (sv.position(), t.position()) else {
                return Ok(done(vec![], PgState::Demoting, None, None));
            };
            if at > end {
                // The target holds WAL the source never wrote: its history forked from the
                // source's. Promoting it would drop what the source wrote since the fork.
                Err(Error::precondition(format!(
                    "{} holds WAL beyond the end of {}'s ({at} > {end} bytes): its history forked \
                     from the source's (rebuild it, docs/plan.md); promoting it would lose the \
                     source's writes since the fork",
                    t.name, sv.name
                )))
            } else if at == end {
                Ok(done(
                    vec![PgOp::Promote {
                        api: t_api.to_string(),
                    }],
                    PgState::Promoting,
                    Some(0),
                    None,
                ))
            } else {
                Ok(done(
                    vec![],
                    PgState::CatchingUp {
                        behind_bytes: end - at,
                    },
                    Some(end - at),
                    None,
                ))
            }
        }
        (_, None) if answering(source) => Err(Error::new(
            ErrorKind::Transient,
            "the source region's cluster answers without a leader (restarting); waiting for it",
        )),
        (_, None) => match mode {
            PgMode::Failover => Ok(done(
                vec![PgOp::Promote {
                    api: t_api.to_string(),
                }],
                PgState::Promoting,
                None,
                None,
            )),
            PgMode::Switchover => Err(Error::precondition(format!(
                "the source region's leader does not answer ({}): promoting the target could \
                 lose its last writes, which only a failover the run's decision allowed may do",
                silent("the source region", source)
            ))),
        },
    }
}

/// Read every member of both regions, decide ([`promotion`]) and make the changes, in order.
/// Call again until the state is [`PgState::Done`]; each call is safe to repeat.
pub async fn promote<P: PatroniClusters>(
    p: &P,
    target: &[String],
    source: &[String],
    mode: PgMode,
    auth: &PatroniAuth,
) -> Result<PgPromotion> {
    let t = read(p, target).await;
    let s = read(p, source).await;
    let decided = promotion(&t, &s, mode)?;
    for op in &decided.ops {
        match op {
            PgOp::Demote { api, upstream } => {
                p.set_standby_cluster(api, Some(upstream), auth).await?
            }
            PgOp::Promote { api } => p.set_standby_cluster(api, None, auth).await?,
        }
    }
    Ok(decided)
}

/// Fence a returning home cluster: its leader at `home_api`, back as a primary of its own, made
/// a standby cluster of the writer's primary (`writer`: that region's members). Which region is
/// the writer is the caller's to know from lifeboat's run state
/// ([`crate::database::promoted_writer`]), never from timeline numbers: a crashed primary is
/// promoted again by its own Patroni onto a new timeline each time, so the home cluster's number
/// may well be higher than the writer's. The writer's leader must answer as the primary (its
/// address is the new upstream); otherwise nothing is changed (`Transient` while it has no
/// leader, `PreconditionFailed` when its leader is not a primary). Safe to repeat.
pub async fn fence_primary<P: PatroniClusters>(
    p: &P,
    writer: &[String],
    home_api: &str,
    auth: &PatroniAuth,
) -> Result<()> {
    let w = read(p, writer).await;
    if !answering(&w) {
        return Err(silent("the writer's region", &w));
    }
    let (_, wv) = leader("the writer's region", &w)?.ok_or_else(|| {
        Error::new(
            ErrorKind::Transient,
            "the writer's cluster has no leader yet (Patroni elects one)",
        )
    })?;
    if wv.role != PgRole::Primary {
        return Err(Error::precondition(format!(
            "the writer's leader ({}) does not answer as a primary: nothing to follow",
            wv.name
        )));
    }
    p.set_standby_cluster(home_api, Some(&upstream_of(wv)?), auth)
        .await
}

/// The REST API's credentials for `plan`: the plan's user and the password read from its
/// SecureString. A missing or empty parameter is `PreconditionFailed` (nothing was changed);
/// the password is only ever held as a [`crate::ports::Secret`].
pub async fn auth<S: crate::ports::ParameterStore>(
    params: &S,
    plan: &crate::plan::ValidPlan,
) -> Result<PatroniAuth> {
    let p = plan.database().patroni.as_ref().ok_or_else(|| {
        Error::precondition(format!(
            "plan '{}' names the database provider {}, not patroni",
            plan.app(),
            plan.database_provider().as_str()
        ))
    })?;
    match params.get(&p.password_parameter).await? {
        Some(v) if !v.trim().is_empty() => Ok(PatroniAuth {
            username: p.username.clone(),
            password: crate::ports::Secret::new(v.trim()),
        }),
        _ => Err(Error::precondition(format!(
            "the SecureString {} (database.patroni.password_parameter) is missing or empty: \
             nothing was changed",
            p.password_parameter
        ))),
    }
}

/// Every member's answer, in the plan's order.
pub async fn read<P: PatroniClusters>(p: &P, apis: &[String]) -> Vec<Seen<PgMemberView>> {
    let mut seen = Vec::with_capacity(apis.len());
    for api in apis {
        seen.push(Seen {
            addr: api.clone(),
            answer: p.member(api).await,
        });
    }
    seen
}

/// The region whose cluster is the writer, from what each region's members answered: the one
/// whose leader is the primary; both is `PreconditionFailed` (two writers). With no primary
/// answering, a region none of whose members answers is the writer's when the other region's
/// leader answers as a standby cluster's: that cluster replicates the writer, which has gone
/// dark (as Aurora's global cluster still names a dark primary's cluster its writer). Otherwise
/// `Ok(None)`: no region is the writer now (both standby clusters, mid-switchover; a leader
/// still being elected).
pub fn primary_region<'a>(regions: &[(&'a str, &[Seen<PgMemberView>])]) -> Result<Option<&'a str>> {
    let mut found = Vec::new();
    let mut following = false;
    for (region, members) in regions {
        match leader(region, members)? {
            Some((_, v)) if v.role == PgRole::Primary => found.push(*region),
            Some((_, v)) if v.role == PgRole::StandbyLeader => following = true,
            _ => {}
        }
    }
    match found.as_slice() {
        [] => {
            let dark: Vec<&'a str> = regions
                .iter()
                .filter(|(_, members)| !answering(members))
                .map(|(r, _)| *r)
                .collect();
            match dark.as_slice() {
                [one] if following && regions.len() == 2 => Ok(Some(*one)),
                _ => Ok(None),
            }
        }
        [one] => Ok(Some(*one)),
        _ => Err(Error::precondition(format!(
            "the database has a primary in each of {}: two writers",
            found.join(" and ")
        ))),
    }
}

/// The region whose primary is the shop's writer, from each region's leader (`None`: no leader
/// answered) and the region lifeboat's run state names active (`lifeboat_active`: the copies'
/// newest record of a completed traffic shift): the one primary; of two primaries, the one in
/// the region lifeboat made active (the other came back after a failover and is not fenced yet:
/// [`crate::database::fence_home`]). Timelines do not tell them apart: a primary that crashed
/// is promoted again by its own Patroni onto a new timeline, the same number the failover's
/// promotion gave the other (seen with Patroni 4.1.5). Two primaries without such a record
/// naming one of them are `PreconditionFailed`.
pub fn promoted_primary<'a>(
    leaders: [(&'a str, Option<&PgMemberView>); 2],
    lifeboat_active: Option<&str>,
) -> Result<Option<&'a str>> {
    let primaries: Vec<(&'a str, &PgMemberView)> = leaders
        .iter()
        .filter_map(|(r, v)| v.filter(|v| v.role == PgRole::Primary).map(|v| (*r, v)))
        .collect();
    match primaries.as_slice() {
        [] => Ok(None),
        [(r, _)] => Ok(Some(*r)),
        [(ra, a), (rb, b), ..] => match lifeboat_active {
            Some(active) if active == *ra => Ok(Some(*ra)),
            Some(active) if active == *rb => Ok(Some(*rb)),
            _ => Err(Error::precondition(format!(
                "both regions' leaders are primaries ({ra}'s {}, {rb}'s {}): two writers, and \
                 no run of lifeboat's made either region active",
                a.name, b.name
            ))),
        },
    }
}

#[cfg(test)]
mod tests;
