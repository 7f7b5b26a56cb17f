//! The cache: Redis under Sentinel in each region. The rule of what a failover (or failback)
//! does with it lives here; [`promote`] executes it through the [`CacheNodes`] port, and the
//! step functions call that.
//!
//! The layout lifeboat expects (docs/plan.md, "The cache: Redis with Sentinel"): each region
//! has its own nodes and its own Sentinels, and the plan's `master_name` is the one name the
//! shop's clients ask their region's Sentinels for.
//! * The **active** region: one master, its other nodes replicating it, every Sentinel
//!   watching the master under `master_name`.
//! * The **standby** region: every node replicating the active region's master, and its
//!   Sentinels watching nothing under that name (a Sentinel group watching a node that reports
//!   itself a replica would fail it over on its own: two writers).
//!
//! Promoting a region makes it the active layout and turns the other into the standby layout
//! where it answers (fencing: the old region's Sentinels stop watching before its master is
//! made a replica, so they never fail it back over).

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::plan::{CacheFailover, CachePlan, RegionCachePlan};
use crate::ports::{CacheNodeView, CacheNodes, CacheRole, Secret};

/// One request to a cache node or Sentinel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CacheOp {
    /// `SENTINEL REMOVE`: first, before any node changes role.
    Unwatch { sentinel: String },
    /// `REPLICAOF NO ONE`.
    Promote { node: String },
    /// `REPLICAOF master`.
    Replicate { node: String, master: String },
    /// `SENTINEL MONITOR` (and `auth-pass`).
    Watch { sentinel: String, master: String },
}

impl std::fmt::Display for CacheOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheOp::Unwatch { sentinel } => write!(f, "sentinel {sentinel} stops watching"),
            CacheOp::Promote { node } => write!(f, "{node} becomes the master"),
            CacheOp::Replicate { node, master } => write!(f, "{node} replicates {master}"),
            CacheOp::Watch { sentinel, master } => {
                write!(f, "sentinel {sentinel} watches {master}")
            }
        }
    }
}

/// What one node or Sentinel answered (or why it did not).
#[derive(Debug)]
pub struct Seen<T> {
    pub addr: String,
    pub answer: std::result::Result<T, Error>,
}

/// The error when none of `seen` answered: `what`, then each address with its error. Every one
/// refusing the same way (a wrong password) keeps that kind: retrying cannot help; silence or a
/// mix is `Transient`, worth another try.
pub fn none_answered<T>(what: impl std::fmt::Display, seen: &[Seen<T>]) -> Error {
    let errors: Vec<(&str, &Error)> = seen
        .iter()
        .filter_map(|s| s.answer.as_ref().err().map(|e| (s.addr.as_str(), e)))
        .collect();
    let kind = match errors.first() {
        Some((_, first)) if errors.iter().all(|(_, e)| e.kind() == first.kind()) => first.kind(),
        _ => ErrorKind::Transient,
    };
    let why = errors
        .iter()
        .map(|(addr, e)| format!("{addr}: {e}"))
        .collect::<Vec<_>>()
        .join("; ");
    Error::new(kind, format!("{what} ({why})"))
}

/// How a region becomes the active one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Promotion {
    /// The node that is (or becomes) the master; while catching up, the other region's master
    /// the target's nodes are made to replicate first.
    pub master: String,
    /// In order; empty when the region is already active.
    pub ops: Vec<CacheOp>,
    /// Sentinels that did not answer: the promotion is not done until each watches the master.
    pub sentinels_not_reached: Vec<String>,
    /// The target's nodes held no copy of the other region's live master: `ops` make them its
    /// replicas, and the promotion comes once they have caught up (a later call).
    pub catching_up: bool,
    /// How far the promoted node was behind the other region's master (same stream, both
    /// answering), `None` when that is unknown or nothing is promoted.
    pub behind_bytes: Option<u64>,
}

fn same_addr(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether master `a` continues master `b`'s stream: it was promoted from a copy of it
/// (`master_replid2`), so its data is the newer.
fn succeeds(a: &CacheNodeView, b: &CacheNodeView) -> bool {
    !b.replid.is_empty() && a.replid2 == b.replid
}

fn masters(nodes: &[Seen<CacheNodeView>]) -> Vec<(&str, &CacheNodeView)> {
    nodes
        .iter()
        .filter_map(|n| n.answer.as_ref().ok().map(|v| (n.addr.as_str(), v)))
        .filter(|(_, v)| v.role == CacheRole::Master)
        .collect()
}

/// The requests that make a region the active one, from what its nodes and Sentinels answered
/// (in the plan's order) and what the other region's nodes answered.
///
/// The data's truth is the other region's live master (the region the run moves away from),
/// unless the target's master continues its stream (a repeat of this step):
/// * a target master that continues it, or any target master when the other region has none
///   answering, is kept; two target masters is `PreconditionFailed` (lifeboat does not choose
///   whose writes to lose), and so are two in the other region;
/// * otherwise the target's replica of the other's master furthest into its stream is promoted
///   (link up preferred), or, with the other region dark, the target's replica furthest along;
/// * a target whose nodes hold no copy of the other's live master (a region that came back empty
///   as its own master) first becomes its standby: `catching_up`, promoted by a later call;
/// * no target node answering is `Transient` (or the one kind every node refused with).
pub fn promotion(
    nodes: &[Seen<CacheNodeView>],
    sentinels: &[Seen<Option<String>>],
    other: &[Seen<CacheNodeView>],
) -> Result<Promotion> {
    let answering: Vec<(&str, &CacheNodeView)> = nodes
        .iter()
        .filter_map(|n| n.answer.as_ref().ok().map(|v| (n.addr.as_str(), v)))
        .collect();
    if answering.is_empty() {
        return Err(none_answered("no cache node of the region answers", nodes));
    }
    let two = |which: &str, m: &[(&str, &CacheNodeView)]| {
        Error::precondition(format!(
            "{which} has {} cache masters ({}): lifeboat will not choose whose writes to lose",
            m.len(),
            m.iter().map(|(a, _)| *a).collect::<Vec<_>>().join(", ")
        ))
    };
    let ours = masters(nodes);
    if ours.len() > 1 {
        return Err(two("the region", &ours));
    }
    let theirs = masters(other);
    if theirs.len() > 1 {
        return Err(two("the other region", &theirs));
    }
    let theirs = theirs.first().copied();
    let kept = match (ours.first().copied(), theirs) {
        (Some(ours), Some((_, t))) if succeeds(ours.1, t) => Some(ours.0),
        (Some(ours), None) => Some(ours.0),
        _ => None,
    };
    let mut ops = Vec::new();
    let mut behind_bytes = None;
    let master = match (kept, theirs) {
        (Some(m), _) => m.to_string(),
        (None, Some((their_addr, their_view))) => {
            let copies: Vec<(&str, &CacheNodeView)> = answering
                .iter()
                .filter(|(_, v)| replicates(v, their_addr))
                .copied()
                .collect();
            let linked: Vec<(&str, &CacheNodeView)> = copies
                .iter()
                .filter(|(_, v)| matches!(v.role, CacheRole::Replica { link_up: true, .. }))
                .copied()
                .collect();
            let Some((addr, view)) = furthest(if linked.is_empty() { &copies } else { &linked })
            else {
                return Ok(catch_up(nodes, sentinels, their_addr));
            };
            if view.replid == their_view.replid {
                behind_bytes = Some(their_view.offset.saturating_sub(view.offset));
            }
            ops.push(CacheOp::Promote {
                node: addr.to_string(),
            });
            addr.to_string()
        }
        (None, None) => {
            let Some((addr, _)) = furthest(&answering) else {
                return Err(Error::internal("answering nodes, and none to promote"));
            };
            ops.push(CacheOp::Promote {
                node: addr.to_string(),
            });
            addr.to_string()
        }
    };
    let mut unwatch = Vec::new();
    let mut watch = Vec::new();
    let mut sentinels_not_reached = Vec::new();
    for s in sentinels {
        match &s.answer {
            Ok(Some(w)) if same_addr(w, &master) => {}
            Ok(Some(_)) => {
                unwatch.push(CacheOp::Unwatch {
                    sentinel: s.addr.clone(),
                });
                watch.push(CacheOp::Watch {
                    sentinel: s.addr.clone(),
                    master: master.clone(),
                });
            }
            Ok(None) => watch.push(CacheOp::Watch {
                sentinel: s.addr.clone(),
                master: master.clone(),
            }),
            Err(_) => sentinels_not_reached.push(s.addr.clone()),
        }
    }
    let replicate = answering
        .iter()
        .filter(|(addr, _)| !same_addr(addr, &master))
        .filter(|(_, v)| !replicates(v, &master))
        .map(|(addr, _)| CacheOp::Replicate {
            node: (*addr).to_string(),
            master: master.clone(),
        });
    let mut ordered = unwatch;
    ordered.append(&mut ops);
    ordered.extend(replicate);
    ordered.append(&mut watch);
    Ok(Promotion {
        master,
        ops: ordered,
        sentinels_not_reached,
        catching_up: false,
        behind_bytes,
    })
}

/// The answering node furthest into its stream; the plan's order breaks ties.
fn furthest<'a>(nodes: &[(&'a str, &'a CacheNodeView)]) -> Option<(&'a str, &'a CacheNodeView)> {
    let mut best: Option<(&str, &CacheNodeView)> = None;
    for (addr, view) in nodes {
        if best.is_none_or(|(_, b)| view.offset > b.offset) {
            best = Some((addr, view));
        }
    }
    best
}

/// The target becomes a standby of the other region's live master first: its Sentinels stop
/// watching, its nodes replicate that master ([`standby`]: those that answered).
fn catch_up(
    nodes: &[Seen<CacheNodeView>],
    sentinels: &[Seen<Option<String>>],
    master: &str,
) -> Promotion {
    let sentinels_not_reached = sentinels
        .iter()
        .filter(|s| s.answer.is_err())
        .map(|s| s.addr.clone())
        .collect();
    Promotion {
        master: master.to_string(),
        ops: standby(nodes, sentinels, master),
        sentinels_not_reached,
        catching_up: true,
        behind_bytes: None,
    }
}

fn replicates(view: &CacheNodeView, master: &str) -> bool {
    matches!(&view.role, CacheRole::Replica { master: m, .. } if same_addr(m, master))
}

/// The requests that make a region a standby of `master` (in the other region), for the nodes
/// and Sentinels that answered: its Sentinels stop watching first, then its nodes replicate the
/// master. Those that did not answer are left as they are (fencing where reachable).
pub fn standby(
    nodes: &[Seen<CacheNodeView>],
    sentinels: &[Seen<Option<String>>],
    master: &str,
) -> Vec<CacheOp> {
    let mut ops: Vec<CacheOp> = sentinels
        .iter()
        .filter(|s| matches!(s.answer, Ok(Some(_))))
        .map(|s| CacheOp::Unwatch {
            sentinel: s.addr.clone(),
        })
        .collect();
    ops.extend(nodes.iter().filter_map(|n| match &n.answer {
        Ok(v) if !replicates(v, master) => Some(CacheOp::Replicate {
            node: n.addr.clone(),
            master: master.to_string(),
        }),
        _ => None,
    }));
    ops
}

/// A region's cache, as a failover leaves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheOutcome {
    /// The target region's master.
    pub master: String,
    /// What was done, in order (empty: the target region was active already, or `cold`).
    pub done: Vec<String>,
    /// The old region's fencing: what was done there.
    pub fenced: Vec<String>,
    /// The old region's nodes and Sentinels that did not answer (left as they were; when they
    /// come back their Sentinels may still watch a master there, until the failback).
    pub not_reached: Vec<String>,
    /// How far the new master was behind the old one when both answered (bytes of the
    /// replication stream), `None` when the old one did not answer.
    pub behind_bytes: Option<u64>,
}

/// What the cache step (db-failover's `cache`) answers: `ready` (the target region's cache is
/// the active one, with what was done and fenced) or `not_planned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStep {
    pub state: CacheState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheState {
    Ready,
    NotPlanned,
}

/// What a run did with the cache, for its report: the outcome, or why the step could not move
/// it (recorded; Verify decides whether the run can succeed without it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheReport {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CacheOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CacheReport {
    /// One line, as a person reads it in the report (addresses and errors made inert).
    pub fn line(&self) -> String {
        let text = match (&self.outcome, &self.error) {
            (Some(o), _) => {
                let mut parts = vec![format!("master {}", o.master)];
                if o.done.is_empty() {
                    parts.push("nothing to change in the target region".to_string());
                } else {
                    parts.push(o.done.join("; "));
                }
                if !o.fenced.is_empty() {
                    parts.push(format!("old region fenced: {}", o.fenced.join("; ")));
                }
                if !o.not_reached.is_empty() {
                    parts.push(format!(
                        "NOT REACHED in the old region (left as they were; a person checks them): {}",
                        o.not_reached.join("; ")
                    ));
                }
                match o.behind_bytes {
                    Some(0) => parts.push("nothing behind the old master".to_string()),
                    Some(b) => parts.push(format!("{b} bytes behind the old master were lost")),
                    None if !o.done.is_empty() => parts.push(
                        "the old master did not answer: what it had last is unknown".to_string(),
                    ),
                    None => {}
                }
                parts.join("; ")
            }
            (None, Some(e)) => format!("NOT MOVED: {e}"),
            (None, None) => "not moved (no answer recorded)".to_string(),
        };
        crate::text::inert(&text, 2_000)
    }
}

/// The Redis password of the plan's cache, read from its SecureString (`None` when the plan
/// names none); a missing or empty parameter is `PreconditionFailed` naming the field.
pub async fn password<S: crate::ports::ParameterStore>(
    params: &S,
    plan: &CachePlan,
) -> Result<Option<Secret>> {
    let Some(name) = &plan.password_parameter else {
        return Ok(None);
    };
    match params.get(name).await? {
        Some(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
        _ => Err(Error::precondition(format!(
            "the SecureString {name} (cache.password_parameter) is missing or empty: nothing was changed"
        ))),
    }
}

async fn look<P: CacheNodes>(
    port: &P,
    region: &RegionCachePlan,
    name: &str,
    password: Option<&Secret>,
) -> (Vec<Seen<CacheNodeView>>, Vec<Seen<Option<String>>>) {
    let mut nodes = Vec::new();
    for n in &region.nodes {
        nodes.push(Seen {
            addr: n.clone(),
            answer: port.replication(n, password).await,
        });
    }
    let mut sentinels = Vec::new();
    for s in &region.sentinels {
        sentinels.push(Seen {
            addr: s.clone(),
            answer: port.watched(s, name).await,
        });
    }
    (nodes, sentinels)
}

async fn apply<P: CacheNodes>(
    port: &P,
    plan: &CachePlan,
    op: &CacheOp,
    password: Option<&Secret>,
) -> Result<()> {
    match op {
        CacheOp::Unwatch { sentinel } => port.unwatch(sentinel, &plan.master_name).await,
        CacheOp::Promote { node } => port.replicate(node, None, password).await,
        CacheOp::Replicate { node, master } => port.replicate(node, Some(master), password).await,
        CacheOp::Watch { sentinel, master } => {
            port.watch(sentinel, &plan.master_name, master, plan.quorum, password)
                .await
        }
    }
}

/// Make `target` the active region's cache and fence `other` where it answers.
///
/// `promote`: as [`promotion`] decides, each request in order; a failure keeps its kind and
/// says what was done so far (a repeat finishes: every decision starts from what the nodes
/// answer). `cold`: nothing is changed; the target's Sentinels must all watch one of its nodes
/// and that node must answer as a master (`PreconditionFailed` otherwise).
pub async fn promote<P: CacheNodes>(
    port: &P,
    plan: &CachePlan,
    target: &RegionCachePlan,
    other: &RegionCachePlan,
    password: Option<&Secret>,
) -> Result<CacheOutcome> {
    let (nodes, sentinels) = look(port, target, &plan.master_name, password).await;
    if plan.on_failover == CacheFailover::Cold {
        let master = ready_master(&nodes, &sentinels)?;
        return Ok(CacheOutcome {
            master,
            done: Vec::new(),
            fenced: Vec::new(),
            not_reached: Vec::new(),
            behind_bytes: None,
        });
    }
    let (old_nodes, old_sentinels) = look(port, other, &plan.master_name, password).await;
    let promotion = promotion(&nodes, &sentinels, &old_nodes)?;
    let mut done = Vec::new();
    let so_far = |done: &[String]| {
        if done.is_empty() {
            "nothing".to_string()
        } else {
            done.join("; ")
        }
    };
    for op in &promotion.ops {
        apply(port, plan, op, password).await.map_err(|e| {
            e.context(format!(
                "cache: {op} failed (done so far: {})",
                so_far(&done)
            ))
        })?;
        done.push(op.to_string());
    }
    if promotion.catching_up {
        return Err(Error::new(
            ErrorKind::Transient,
            format!(
                "cache: the region held no copy of the other region's master {}: it is catching up with it first (done: {}); the promotion comes once it has",
                promotion.master,
                so_far(&done)
            ),
        ));
    }
    if !promotion.sentinels_not_reached.is_empty() {
        return Err(Error::new(
            ErrorKind::Transient,
            format!(
                "cache: {} is the master, but sentinel(s) {} did not answer and do not watch it yet (done: {})",
                promotion.master,
                promotion.sentinels_not_reached.join(", "),
                so_far(&done)
            ),
        ));
    }
    let mut fenced = Vec::new();
    let mut not_reached: Vec<String> = old_nodes
        .iter()
        .filter(|n| n.answer.is_err())
        .map(|n| n.addr.clone())
        .chain(
            old_sentinels
                .iter()
                .filter(|s| s.answer.is_err())
                .map(|s| s.addr.clone()),
        )
        .collect();
    for op in standby(&old_nodes, &old_sentinels, &promotion.master) {
        match apply(port, plan, &op, password).await {
            Ok(()) => fenced.push(op.to_string()),
            // fencing where reachable: one that stopped answering meanwhile is named
            Err(e) => not_reached.push(format!("{op}: {}", e.kind().as_str())),
        }
    }
    Ok(CacheOutcome {
        master: promotion.master,
        done,
        fenced,
        not_reached,
        behind_bytes: promotion.behind_bytes,
    })
}

/// The node every Sentinel of the region watches, when it answers as a master.
fn ready_master(
    nodes: &[Seen<CacheNodeView>],
    sentinels: &[Seen<Option<String>>],
) -> Result<String> {
    let mut watched: Option<&str> = None;
    for s in sentinels {
        match &s.answer {
            Ok(Some(w)) => match watched {
                None => watched = Some(w),
                Some(m) if same_addr(m, w) => {}
                Some(m) => {
                    return Err(Error::precondition(format!(
                        "cache: the region's sentinels disagree on the master ({m}, and {w} at {})",
                        s.addr
                    )));
                }
            },
            Ok(None) => {
                return Err(Error::precondition(format!(
                    "cache: sentinel {} watches no master by the plan's name",
                    s.addr
                )));
            }
            Err(e) => {
                return Err(Error::new(
                    e.kind(),
                    format!("cache: sentinel {} did not answer: {}", s.addr, e.message()),
                ));
            }
        }
    }
    let Some(master) = watched else {
        return Err(Error::precondition("cache: the region lists no sentinel"));
    };
    match nodes.iter().find(|n| same_addr(&n.addr, master)) {
        Some(Seen {
            answer: Ok(view), ..
        }) if view.role == CacheRole::Master => Ok(master.to_string()),
        Some(Seen { answer: Ok(_), .. }) => Err(Error::precondition(format!(
            "cache: the sentinels watch {master}, which answers as a replica"
        ))),
        Some(Seen { answer: Err(e), .. }) => Err(Error::new(
            e.kind(),
            format!("cache: the master {master} did not answer: {}", e.message()),
        )),
        None => Err(Error::precondition(format!(
            "cache: the sentinels watch {master}, which is not one of the region's nodes in the plan"
        ))),
    }
}

/// Whether `region` is the active one as the plan means it: its Sentinels all watch one of its
/// nodes, which answers as a master (verify's check, and `cold`'s).
pub async fn active_master<P: CacheNodes>(
    port: &P,
    plan: &CachePlan,
    region: &RegionCachePlan,
    password: Option<&Secret>,
) -> Result<String> {
    let (nodes, sentinels) = look(port, region, &plan.master_name, password).await;
    ready_master(&nodes, &sentinels)
}

#[cfg(test)]
mod tests;
