//! MySQL / MariaDB with a binlog replica in the other region (issue 23, the Linode stack): what
//! lifeboat reads of a server, and the rules it draws from it. The adapter
//! (`lifeboat_mysql`) reads; the rules live here only.
//!
//! A replica's lag is known only while it replicates: its I/O thread connected to the source
//! (`Yes`), its SQL thread applying, and the server giving `Seconds_Behind_Master` (MariaDB) /
//! `Seconds_Behind_Source` (MySQL). A stopped thread, a thread still connecting, an error or no
//! number is [`ReplicaLag::Unknown`] with the reason, never "lag 0": a replica whose source
//! went dark has stopped receiving, and its last "0 seconds behind" says nothing about what the
//! source wrote since.

use serde::{Deserialize, Serialize};

/// One server as lifeboat reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MysqlServerView {
    /// `@@version` (MariaDB's says so).
    pub version: String,
    /// `@@read_only`: a replica, a fenced source or a source in a switchover refuses writes
    /// from users without the `SUPER` / `READ_ONLY ADMIN` privilege.
    pub read_only: bool,
    /// The transactions the server holds: `@@gtid_current_pos` (MariaDB) or `@@gtid_executed`
    /// (MySQL); empty when it has none or does not use GTIDs.
    pub gtid_position: String,
    /// Its replication from a source, when one is configured (`SHOW REPLICA STATUS` has a row).
    pub replica: Option<ReplicaStatus>,
}

/// A replica's `SHOW REPLICA STATUS` (MariaDB: also `SHOW SLAVE STATUS`), in either server's
/// column names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    /// `host:port` of its source.
    pub source: String,
    /// The I/O thread (`Slave_IO_Running` / `Replica_IO_Running`).
    pub io_thread: ThreadState,
    /// The SQL thread (`Slave_SQL_Running` / `Replica_SQL_Running`).
    pub sql_running: bool,
    /// `Seconds_Behind_Master` / `Seconds_Behind_Source`: `NULL` (None) when not replicating.
    pub seconds_behind: Option<u64>,
    /// The source's binlog file and position read into the relay log
    /// (`Master_Log_File`/`Read_Master_Log_Pos`) and applied
    /// (`Relay_Master_Log_File`/`Exec_Master_Log_Pos`).
    pub read_position: BinlogPosition,
    pub applied_position: BinlogPosition,
    /// The last I/O and SQL errors, as the server said them (bounded, inert when shown).
    pub last_io_error: String,
    pub last_sql_error: String,
}

/// A replication thread's state as the server reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadState {
    Yes,
    /// Still trying to reach the source (MySQL and MariaDB say `Connecting`; also `Preparing`).
    Connecting,
    No,
}

/// A position in a source's binary log.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BinlogPosition {
    pub file: String,
    pub position: u64,
}

/// What a replica's lag is, as far as it can be known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "lag")]
pub enum ReplicaLag {
    Seconds { seconds: u64 },
    Unknown { reason: String },
}

impl ReplicaLag {
    fn unknown(reason: impl Into<String>) -> Self {
        ReplicaLag::Unknown {
            reason: reason.into(),
        }
    }
}

/// The replica's lag by its own status (the rule this module exists for).
pub fn replica_lag(view: &MysqlServerView) -> ReplicaLag {
    let Some(r) = &view.replica else {
        return ReplicaLag::unknown("not a replica: no replication configured");
    };
    let bounded = |s: &str| crate::text::inert(s, 160);
    match r.io_thread {
        ThreadState::Yes => {}
        ThreadState::Connecting => {
            return ReplicaLag::unknown(format!(
                "its I/O thread is still connecting to {}{}",
                bounded(&r.source),
                error_suffix(&r.last_io_error)
            ));
        }
        ThreadState::No => {
            return ReplicaLag::unknown(format!(
                "its I/O thread is stopped{}",
                error_suffix(&r.last_io_error)
            ));
        }
    }
    if !r.sql_running {
        return ReplicaLag::unknown(format!(
            "its SQL thread is stopped{}",
            error_suffix(&r.last_sql_error)
        ));
    }
    if r.read_position.file.is_empty() {
        return ReplicaLag::unknown("it has read no position of its source's binary log");
    }
    match r.seconds_behind {
        Some(seconds) => ReplicaLag::Seconds { seconds },
        None => ReplicaLag::unknown("the server gives no Seconds_Behind_Master"),
    }
}

fn error_suffix(error: &str) -> String {
    if error.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", crate::text::inert(error, 200))
    }
}

/// How one server's transactions compare with another's (by GTID position).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// The same transactions.
    Same,
    /// A strict part of the other's: it lacks some.
    Behind,
    /// All of the other's and more.
    Ahead,
    /// Each has transactions the other lacks: their histories forked.
    Diverged,
}

/// How `a`'s GTID position compares with `b`'s: MariaDB's `domain-server-seq` lists (per
/// domain, the higher sequence number holds the lower's transactions) or MySQL's
/// `uuid:interval[:interval]` sets; `None` when either cannot be read.
pub fn compare_gtid(a: &str, b: &str) -> Option<Holds> {
    let (a, b) = (a.replace(['\n', ' '], ""), b.replace(['\n', ' '], ""));
    let (ab, ba) = if looks_like_mariadb(&a) && looks_like_mariadb(&b) {
        let (pa, pb) = (mariadb_position(&a)?, mariadb_position(&b)?);
        (mariadb_holds(&pa, &pb), mariadb_holds(&pb, &pa))
    } else {
        let (sa, sb) = (mysql_set(&a)?, mysql_set(&b)?);
        (mysql_holds(&sa, &sb), mysql_holds(&sb, &sa))
    };
    Some(match (ab, ba) {
        (true, true) => Holds::Same,
        (false, true) => Holds::Behind,
        (true, false) => Holds::Ahead,
        (false, false) => Holds::Diverged,
    })
}

fn looks_like_mariadb(p: &str) -> bool {
    p.is_empty() || !p.contains(':')
}

/// MariaDB: domain -> (server id, sequence number) of its newest transaction.
fn mariadb_position(p: &str) -> Option<std::collections::BTreeMap<u32, (u32, u64)>> {
    let mut out = std::collections::BTreeMap::new();
    for part in p.split(',').filter(|s| !s.is_empty()) {
        let mut it = part.split('-');
        let (d, server, seq) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() {
            return None;
        }
        let (server, seq): (u32, u64) = (server.parse().ok()?, seq.parse().ok()?);
        let e = out.entry(d.parse().ok()?).or_insert((server, seq));
        if seq > e.1 {
            *e = (server, seq);
        }
    }
    Some(out)
}

/// Whether position `a` holds every transaction of `b`: in each of `b`'s domains, `a` is as far
/// or further. The same sequence number written by two servers is two transactions (a fork),
/// which neither holds. (A position says no more: whether `a`'s history passes through `b`'s
/// newest transaction, MariaDB checks with `gtid_strict_mode` when replication starts, which
/// docs/linode.md asks of the shop.)
fn mariadb_holds(
    a: &std::collections::BTreeMap<u32, (u32, u64)>,
    b: &std::collections::BTreeMap<u32, (u32, u64)>,
) -> bool {
    b.iter().all(|(d, (server, seq))| {
        a.get(d)
            .is_some_and(|(have_server, have)| have > seq || (have == seq && have_server == server))
    })
}

/// MySQL: source uuid -> closed intervals of transaction numbers.
type GtidSet = std::collections::BTreeMap<String, Vec<(u64, u64)>>;

fn mysql_set(p: &str) -> Option<GtidSet> {
    let mut out = GtidSet::new();
    for part in p.split(',').filter(|s| !s.is_empty()) {
        let mut it = part.split(':');
        let uuid = it.next()?.to_ascii_lowercase();
        if uuid.len() != 36 {
            return None;
        }
        for interval in it {
            let (lo, hi) = match interval.split_once('-') {
                Some((lo, hi)) => (lo.parse().ok()?, hi.parse().ok()?),
                None => {
                    let n = interval.parse().ok()?;
                    (n, n)
                }
            };
            if lo > hi {
                return None;
            }
            out.entry(uuid.clone()).or_default().push((lo, hi));
        }
    }
    Some(out)
}

fn mysql_holds(a: &GtidSet, b: &GtidSet) -> bool {
    b.iter().all(|(uuid, wanted)| {
        let have = a.get(uuid).map(Vec::as_slice).unwrap_or_default();
        wanted.iter().all(|(lo, hi)| {
            // every number of [lo, hi] lies in one of `have`'s intervals (they may touch)
            let mut next = *lo;
            let mut sorted = have.to_vec();
            sorted.sort_unstable();
            for (h_lo, h_hi) in sorted {
                if h_lo <= next && h_hi >= next {
                    next = h_hi.saturating_add(1);
                    if next > *hi {
                        return true;
                    }
                }
            }
            next > *hi
        })
    })
}

/// What the run's decision allows the promotion to do (as for Patroni).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MyMode {
    /// RPO 0: the source is made read-only, and the target promoted once it holds every
    /// transaction the source has.
    Switchover,
    /// The source does not answer and the decision allowed the data loss it measured: the
    /// target is promoted once it has applied its relay log (what it received). When the source
    /// answers, the switchover's way.
    Failover,
}

/// One change lifeboat makes to a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MyOp {
    /// `SET GLOBAL read_only = ON|OFF`.
    ReadOnly { server: String, on: bool },
    /// `STOP REPLICA` and `RESET REPLICA ALL`: the server replicates nothing any more.
    Detach { server: String },
    /// The server replicates `source` by GTID (its own position kept) and starts replicating.
    Follow { server: String, source: String },
}

impl std::fmt::Display for MyOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MyOp::ReadOnly { server, on: true } => write!(f, "{server} made read-only"),
            MyOp::ReadOnly { server, on: false } => write!(f, "{server} made writable"),
            MyOp::Detach { server } => write!(f, "{server}'s replication stopped and cleared"),
            MyOp::Follow { server, source } => write!(f, "{server} replicates {source}"),
        }
    }
}

/// Where the target stands after a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MyState {
    /// The target is the writable source (and the old source, where it answers, read-only).
    Done,
    /// The source is being made read-only (asked now).
    Demoting,
    /// The source takes no writes; the target has not yet applied all of them.
    CatchingUp,
    /// The source is dark; the target is still applying what it received (its relay log).
    Applying,
}

/// What a call decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MyPromotion {
    pub ops: Vec<MyOp>,
    pub state: MyState,
    /// The source server, when this call makes it read-only.
    pub fenced: Option<String>,
    /// Why the old source was left as it is (its history forked from the target's).
    pub note: Option<String>,
}

fn writable_source(v: &MysqlServerView) -> bool {
    !v.read_only && v.replica.is_none()
}

/// Whether the server takes the shop's writes: writable and replicating nothing (what lifeboat
/// calls the writer; a writable replica is a misconfiguration, never a writer).
pub fn writes(v: &MysqlServerView) -> bool {
    writable_source(v)
}

/// Whether the answer shows a writer.
pub fn answers_as_writer(seen: &crate::cache::Seen<MysqlServerView>) -> bool {
    seen.answer.as_ref().is_ok_and(writes)
}

/// The plan region whose server is the writer, of both regions' answers; `lifeboat_active`
/// (this copy's run state: the region lifeboat made active) names the writer when both servers
/// take writes (an old source back writable after a failover with data loss, not fenced yet).
/// With no server taking writes, a dark region is the writer's while the other's server still
/// replicates it. Two writers without that record, or neither server answering, is an error:
/// who writes is unknown, never "nobody".
pub fn writer_region<'a>(
    regions: [(&'a str, &crate::cache::Seen<MysqlServerView>); 2],
    lifeboat_active: Option<&str>,
) -> crate::Result<Option<&'a str>> {
    let [(a, sa), (b, sb)] = regions;
    if let (Err(ea), Err(eb)) = (&sa.answer, &sb.answer) {
        // one refusal for both (a wrong password) keeps its kind: retrying cannot help
        let kind = if ea.kind() == eb.kind() {
            ea.kind()
        } else {
            crate::ErrorKind::Transient
        };
        return Err(crate::Error::new(
            kind,
            format!(
                "neither region's MySQL server answered ({}: {ea}; {}: {eb})",
                sa.addr, sb.addr
            ),
        ));
    }
    match (answers_as_writer(sa), answers_as_writer(sb)) {
        (true, false) => Ok(Some(a)),
        (false, true) => Ok(Some(b)),
        // A dark server whose region's replica still replicates it is the writer's: the replica
        // follows the writer, which has gone dark (as Aurora's global cluster still names a
        // dark primary's cluster its writer). Otherwise no server writes now (both read-only,
        // mid-switchover).
        (false, false) => Ok(match (&sa.answer, &sb.answer) {
            (Err(_), Ok(v)) if replicates_from(v, &sa.addr) => Some(a),
            (Ok(v), Err(_)) if replicates_from(v, &sb.addr) => Some(b),
            _ => None,
        }),
        (true, true) => match lifeboat_active {
            Some(r) if r == a => Ok(Some(a)),
            Some(r) if r == b => Ok(Some(b)),
            _ => Err(crate::Error::precondition(format!(
                "both {a}'s server ({}) and {b}'s ({}) take writes, and no run of lifeboat \
                 made either the active region: two writers, which a person must resolve",
                sa.addr, sb.addr
            ))),
        },
    }
}

/// `v` is a read-only replica whose configured source is `source`.
fn replicates_from(v: &MysqlServerView, source: &str) -> bool {
    v.read_only && follows(v, source)
}

/// `v`'s configured source is `source` (`host:port`, as the plan names it).
fn follows(v: &MysqlServerView, source: &str) -> bool {
    v.replica
        .as_ref()
        .is_some_and(|r| r.source.eq_ignore_ascii_case(source))
}

/// Both servers answer read-only and neither replicates the other's writes yet: a switchover
/// between its demotion and its promotion.
pub fn switching_over(
    a: &crate::cache::Seen<MysqlServerView>,
    b: &crate::cache::Seen<MysqlServerView>,
) -> bool {
    matches!((&a.answer, &b.answer), (Ok(x), Ok(y)) if x.read_only && y.read_only
        && (x.replica.is_none() || y.replica.is_none()))
}

/// The replica's lag as evidence for the RPO guard: its seconds behind, counted only while its
/// source answers as the writer. With the source dark, the replica's last "0 seconds behind"
/// says nothing of what the source wrote since (a silent network keeps the I/O thread `Yes`
/// until `slave_net_timeout`): unknown, so only a person's override fails over.
pub fn lag_evidence(
    replica: &crate::cache::Seen<MysqlServerView>,
    source: &crate::cache::Seen<MysqlServerView>,
) -> Option<std::time::Duration> {
    if !answers_as_writer(source) {
        return None;
    }
    let v = replica.answer.as_ref().ok()?;
    match replica_lag(v) {
        ReplicaLag::Seconds { seconds } if follows(v, &source.addr) => {
            Some(std::time::Duration::from_secs(seconds))
        }
        _ => None,
    }
}

/// The server's answer, read with lifeboat's login.
pub async fn read<P: crate::ports::MysqlServers>(
    p: &P,
    server: &str,
    login: &MysqlLogin,
) -> crate::cache::Seen<MysqlServerView> {
    crate::cache::Seen {
        addr: server.to_string(),
        answer: p.observe(server, login).await,
    }
}

/// lifeboat's login from the plan's SecureStrings: its own user's password (to read the
/// servers), and with `replication` the replication user's too (to have a server follow
/// another). Missing or empty: `PreconditionFailed` naming the parameter, nothing read or
/// changed.
pub async fn login<S: crate::ports::ParameterStore>(
    params: &S,
    plan: &crate::plan::ValidPlan,
    replication: bool,
) -> crate::Result<MysqlLogin> {
    let m = plan.database().mysql.as_ref().ok_or_else(|| {
        crate::Error::precondition(format!(
            "plan '{}' names the database provider {}, not mysql",
            plan.app(),
            plan.database_provider().as_str()
        ))
    })?;
    let secret = |field: &'static str, name: String| async move {
        match params.get(&name).await? {
            Some(v) if !v.trim().is_empty() => Ok(crate::ports::Secret::new(v.trim())),
            _ => Err(crate::Error::precondition(format!(
                "the SecureString {name} (database.mysql.{field}) is missing or empty: nothing \
                 was changed"
            ))),
        }
    };
    let password = secret("password_parameter", m.password_parameter.clone()).await?;
    let replication = if replication {
        Some(ReplicationLogin {
            user: m.replication_user.clone(),
            password: secret(
                "replication_password_parameter",
                m.replication_password_parameter.clone(),
            )
            .await?,
        })
    } else {
        None
    };
    let tls = match &m.tls {
        None => None,
        Some(t) => Some(MysqlTls {
            ca_pem: match &t.ca_parameter {
                None => None,
                Some(name) => match params.get(name).await? {
                    Some(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => Some(pem),
                    Some(_) => {
                        return Err(crate::Error::precondition(format!(
                            "the parameter {name} (database.mysql.tls.ca_parameter) holds no \
                             PEM certificate: nothing was changed"
                        )));
                    }
                    None => {
                        return Err(crate::Error::precondition(format!(
                            "the parameter {name} (database.mysql.tls.ca_parameter) is missing: \
                             nothing was changed"
                        )));
                    }
                },
            },
        }),
    };
    Ok(MysqlLogin {
        user: m.user.clone(),
        password,
        replication,
        tls,
    })
}

/// The changes that make `target` the writable source, from what both servers answered.
///
/// * The target already writable and replicating nothing: done; a source back writable beside
///   it is made read-only (fenced), and a read-only source that holds nothing the target lacks
///   is made to replicate it (the way home starts there). A source with transactions the
///   target lacks forked from it: it is left read-only, not replicating (rebuilt by a person).
/// * The source answers writable: it is made read-only first (`Demoting`), whatever the mode.
/// * The source answers read-only: the target is promoted (replication stopped and cleared,
///   writable) once it holds exactly the source's transactions, and the source then replicates
///   it; until then `CatchingUp`. A target that is not replicating cannot catch up, and one
///   with transactions the source lacks has forked: both are `PreconditionFailed`.
/// * The source does not answer: in a failover, the target is promoted once it has applied
///   everything it received (`Applying` until then); in a switchover, `PreconditionFailed`.
pub fn promotion(
    target: &crate::cache::Seen<MysqlServerView>,
    source: &crate::cache::Seen<MysqlServerView>,
    mode: MyMode,
) -> crate::Result<MyPromotion> {
    use crate::Error;
    let t = match &target.answer {
        Ok(v) => v,
        Err(e) => {
            return Err(Error::new(
                e.kind(),
                format!("the target {} did not answer: {}", target.addr, e.message()),
            ));
        }
    };
    let (t_addr, s_addr) = (target.addr.clone(), source.addr.clone());
    let plan = |ops: Vec<MyOp>, state: MyState| MyPromotion {
        ops,
        state,
        fenced: None,
        note: None,
    };
    let promote_target = || {
        vec![
            MyOp::Detach {
                server: t_addr.clone(),
            },
            MyOp::ReadOnly {
                server: t_addr.clone(),
                on: false,
            },
        ]
    };
    let s = source.answer.as_ref().ok();
    if writable_source(t) {
        return Ok(match s {
            Some(sv) if !sv.read_only => MyPromotion {
                ops: vec![MyOp::ReadOnly {
                    server: s_addr.clone(),
                    on: true,
                }],
                state: MyState::Done,
                fenced: Some(s_addr),
                note: None,
            },
            Some(sv) if sv.replica.is_none() => {
                match compare_gtid(&t.gtid_position, &sv.gtid_position) {
                    Some(Holds::Same | Holds::Ahead) => plan(
                        vec![MyOp::Follow {
                            server: s_addr,
                            source: t_addr,
                        }],
                        MyState::Done,
                    ),
                    other => MyPromotion {
                        note: Some(format!(
                            "{s_addr} holds transactions {t_addr} lacks ({}; GTID {} against {}):                              its history forked, so it stays read-only and replicates nothing                              until a person rebuilds it from {t_addr}",
                            match other {
                                None => "positions unreadable",
                                Some(_) => "forked",
                            },
                            crate::text::inert(&sv.gtid_position, 120),
                            crate::text::inert(&t.gtid_position, 120)
                        )),
                        ..plan(Vec::new(), MyState::Done)
                    },
                }
            }
            _ => plan(Vec::new(), MyState::Done),
        });
    }
    match s {
        Some(sv) if !sv.read_only => Ok(MyPromotion {
            ops: vec![MyOp::ReadOnly {
                server: s_addr.clone(),
                on: true,
            }],
            state: MyState::Demoting,
            fenced: Some(s_addr),
            note: None,
        }),
        Some(sv) => match compare_gtid(&t.gtid_position, &sv.gtid_position) {
            Some(Holds::Same) => {
                let mut ops = promote_target();
                ops.push(MyOp::Follow {
                    server: s_addr,
                    source: t_addr,
                });
                Ok(plan(ops, MyState::Done))
            }
            Some(Holds::Behind) => match replica_lag(t) {
                ReplicaLag::Seconds { .. } => Ok(plan(Vec::new(), MyState::CatchingUp)),
                ReplicaLag::Unknown { reason } => Err(Error::precondition(format!(
                    "{t_addr} lacks transactions of the read-only {s_addr} and does not                      replicate it ({reason}): it cannot catch up"
                ))),
            },
            Some(Holds::Ahead | Holds::Diverged) => Err(Error::precondition(format!(
                "{t_addr} holds transactions {s_addr} lacks (GTID {} against {}): its history                  forked from the source's; promoting it would lose the source's since the fork",
                crate::text::inert(&t.gtid_position, 120),
                crate::text::inert(&sv.gtid_position, 120)
            ))),
            None => Err(Error::internal(format!(
                "the GTID positions of {t_addr} and {s_addr} cannot be read ('{}', '{}')",
                crate::text::inert(&t.gtid_position, 120),
                crate::text::inert(&sv.gtid_position, 120)
            ))),
        },
        None => match mode {
            MyMode::Switchover => Err(Error::precondition(format!(
                "the source {s_addr} does not answer: promoting {t_addr} could lose its last                  writes, which only a failover the run's decision allowed may do"
            ))),
            MyMode::Failover => match &t.replica {
                Some(r) if r.applied_position < r.read_position || !r.sql_running => {
                    if r.sql_running {
                        Ok(plan(Vec::new(), MyState::Applying))
                    } else {
                        Err(Error::precondition(format!(
                            "{t_addr} has not applied all it received and its SQL thread is                              stopped{}: promoting it now would drop what it holds unapplied",
                            error_suffix(&r.last_sql_error)
                        )))
                    }
                }
                _ => Ok(plan(promote_target(), MyState::Done)),
            },
        },
    }
}

/// Read both servers, decide ([`promotion`]) and make the changes in order; a failure keeps
/// its kind and says what was done. Call again until [`MyState::Done`]; each call is safe to
/// repeat (it starts from what the servers answer).
pub async fn promote<P: crate::ports::MysqlServers>(
    p: &P,
    target: &str,
    source: &str,
    mode: MyMode,
    login: &MysqlLogin,
) -> crate::Result<MyPromotion> {
    let seen = |addr: &str, answer| crate::cache::Seen {
        addr: addr.to_string(),
        answer,
    };
    let t = seen(target, p.observe(target, login).await);
    let s = seen(source, p.observe(source, login).await);
    let decided = promotion(&t, &s, mode)?;
    let follows = decided
        .ops
        .iter()
        .any(|op| matches!(op, MyOp::Follow { .. }));
    if follows && login.replication.is_none() {
        return Err(crate::Error::internal(
            "a server is to follow another, and the replication login was not read: nothing \
             was changed",
        ));
    }
    let mut done: Vec<String> = Vec::new();
    for op in &decided.ops {
        let result = match op {
            MyOp::ReadOnly { server, on } => p.set_read_only(server, login, *on).await,
            MyOp::Detach { server } => p.detach(server, login).await,
            MyOp::Follow { server, source } => p.follow(server, login, source).await,
        };
        result.map_err(|e| {
            e.context(format!(
                "database: {op} failed (done so far: {})",
                if done.is_empty() {
                    "nothing".to_string()
                } else {
                    done.join("; ")
                }
            ))
        })?;
        done.push(op.to_string());
    }
    Ok(decided)
}

/// lifeboat's logins to the shop's servers: its own user (reads, `read_only`, replication
/// control) and the replication user a server that follows another connects with.
#[derive(Debug, Clone)]
pub struct MysqlLogin {
    pub user: String,
    pub password: crate::ports::Secret,
    /// Read only where a server may be made to follow another.
    pub replication: Option<ReplicationLogin>,
    /// TLS to the servers, required and verified (`None`: without TLS).
    pub tls: Option<MysqlTls>,
}

/// TLS as the plan asks it (`database.mysql.tls`).
#[derive(Debug, Clone, Default)]
pub struct MysqlTls {
    /// The CA that signed the servers' certificates (PEM), the only one trusted; `None`: the
    /// public CAs.
    pub ca_pem: Option<String>,
}

/// The replication user (`CHANGE MASTER TO MASTER_USER`, `MASTER_PASSWORD`).
#[derive(Debug, Clone)]
pub struct ReplicationLogin {
    pub user: String,
    pub password: crate::ports::Secret,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replicating() -> MysqlServerView {
        MysqlServerView {
            version: "10.11.19-MariaDB-0+deb12u1-log".into(),
            read_only: true,
            gtid_position: "0-1-5".into(),
            replica: Some(ReplicaStatus {
                source: "127.0.0.1:3306".into(),
                io_thread: ThreadState::Yes,
                sql_running: true,
                seconds_behind: Some(0),
                read_position: BinlogPosition {
                    file: "binlog.000001".into(),
                    position: 1133,
                },
                applied_position: BinlogPosition {
                    file: "binlog.000001".into(),
                    position: 1133,
                },
                last_io_error: String::new(),
                last_sql_error: String::new(),
            }),
        }
    }

    #[test]
    fn a_replica_that_replicates_has_the_lag_it_gives() {
        assert_eq!(
            replica_lag(&replicating()),
            ReplicaLag::Seconds { seconds: 0 }
        );
        let mut v = replicating();
        if let Some(r) = v.replica.as_mut() {
            r.seconds_behind = Some(42);
        }
        assert_eq!(replica_lag(&v), ReplicaLag::Seconds { seconds: 42 });
    }

    /// Issue 23: "a replica that is not replicating (threads stopped, unknown position) is
    /// lag unknown, never lag 0" — even where the server's last number was 0.
    #[test]
    fn a_replica_that_does_not_replicate_is_lag_unknown_never_lag_zero() {
        type Change = Box<dyn Fn(&mut ReplicaStatus)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "I/O thread is stopped: error reconnecting",
                Box::new(|r| {
                    r.io_thread = ThreadState::No;
                    r.last_io_error = "error reconnecting".into();
                }),
            ),
            (
                "still connecting",
                Box::new(|r| r.io_thread = ThreadState::Connecting),
            ),
            (
                "SQL thread is stopped: Duplicate entry",
                Box::new(|r| {
                    r.sql_running = false;
                    r.last_sql_error = "Duplicate entry '1'".into();
                }),
            ),
            (
                "no position",
                Box::new(|r| r.read_position = BinlogPosition::default()),
            ),
            (
                "no Seconds_Behind_Master",
                Box::new(|r| r.seconds_behind = None),
            ),
        ];
        for (said, change) in cases {
            let mut v = replicating();
            if let Some(r) = v.replica.as_mut() {
                change(r);
            }
            match replica_lag(&v) {
                ReplicaLag::Unknown { reason } => assert!(reason.contains(said), "{reason}"),
                known => panic!("{said}: {known:?}"),
            }
        }
        let not_a_replica = MysqlServerView {
            replica: None,
            ..replicating()
        };
        assert!(matches!(
            replica_lag(&not_a_replica),
            ReplicaLag::Unknown { .. }
        ));
    }

    #[test]
    fn a_servers_error_text_is_bounded_and_inert_in_the_reason() {
        let mut v = replicating();
        if let Some(r) = v.replica.as_mut() {
            r.io_thread = ThreadState::No;
            r.last_io_error = format!("\u{1b}[31m{}", "x".repeat(5000));
        }
        let ReplicaLag::Unknown { reason } = replica_lag(&v) else {
            panic!("unknown")
        };
        assert!(!reason.contains('\u{1b}') && reason.len() < 400, "{reason}");
    }

    #[test]
    fn gtid_positions_compare_in_either_servers_form() {
        use Holds::*;
        for (a, b, want) in [
            ("0-1-5", "0-1-5", Same),
            ("0-1-4", "0-1-5", Behind),
            ("0-2-9,1-1-3", "0-1-5", Ahead),
            ("0-1-5,1-2-1", "0-1-5,2-3-1", Diverged),
            ("", "0-1-1", Behind),
            ("", "", Same),
            (
                "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
                "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3:5",
                Ahead,
            ),
            (
                "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3,\n4e11fa47-71ca-11e1-9e33-c80aa9429562:1",
                "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-2:3",
                Ahead,
            ),
            (
                "3e11fa47-71ca-11e1-9e33-c80aa9429562:2-3",
                "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4",
                Behind,
            ),
            (
                "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3",
                "3e11fa47-71ca-11e1-9e33-c80aa9429562:2-4",
                Diverged,
            ),
            ("0-2-6", "0-1-6", Diverged),
        ] {
            assert_eq!(compare_gtid(a, b), Some(want), "{a} vs {b}");
        }
        assert_eq!(compare_gtid("0-1-x", "0-1-5"), None);
        assert_eq!(compare_gtid("nonsense:1-2", "0-1-5"), None);
    }

    fn seen(addr: &str, v: Option<MysqlServerView>) -> crate::cache::Seen<MysqlServerView> {
        crate::cache::Seen {
            addr: addr.into(),
            answer: v.ok_or_else(|| crate::Error::new(crate::ErrorKind::Transient, "no answer")),
        }
    }

    fn source_at(gtid: &str, read_only: bool) -> MysqlServerView {
        MysqlServerView {
            read_only,
            gtid_position: gtid.into(),
            replica: None,
            ..replicating()
        }
    }

    fn replica_at(gtid: &str) -> MysqlServerView {
        MysqlServerView {
            gtid_position: gtid.into(),
            ..replicating()
        }
    }

    const T: &str = "10.20.0.5:3306";
    const S: &str = "10.10.0.5:3306";

    #[test]
    fn a_switchover_makes_the_source_read_only_waits_then_promotes_and_points_the_source_at_it() {
        let step = |t: MysqlServerView, s: MysqlServerView| {
            promotion(&seen(T, Some(t)), &seen(S, Some(s)), MyMode::Switchover).unwrap()
        };
        // the source answers writable: made read-only first
        let p = step(replica_at("0-1-5"), source_at("0-1-6", false));
        assert_eq!(p.state, MyState::Demoting);
        assert_eq!(
            p.ops,
            [MyOp::ReadOnly {
                server: S.into(),
                on: true
            }]
        );
        // read-only, the target one transaction behind: catching up, nothing sent
        let p = step(replica_at("0-1-5"), source_at("0-1-6", true));
        assert_eq!((p.state, p.ops.len()), (MyState::CatchingUp, 0));
        // the target holds everything: promoted, and the source replicates it
        let p = step(replica_at("0-1-6"), source_at("0-1-6", true));
        assert_eq!(p.state, MyState::Done);
        assert_eq!(
            p.ops,
            [
                MyOp::Detach { server: T.into() },
                MyOp::ReadOnly {
                    server: T.into(),
                    on: false
                },
                MyOp::Follow {
                    server: S.into(),
                    source: T.into()
                },
            ]
        );
        // repeated after a failure part-way (target writable, source not yet following)
        let p = step(source_at("0-1-6", false), source_at("0-1-6", true));
        assert_eq!(
            p.ops,
            [MyOp::Follow {
                server: S.into(),
                source: T.into()
            }]
        );
    }

    #[test]
    fn a_target_that_cannot_catch_up_or_forked_is_refused_and_nothing_is_sent() {
        let mut stopped = replica_at("0-1-5");
        if let Some(r) = stopped.replica.as_mut() {
            r.io_thread = ThreadState::No;
        }
        let e = promotion(
            &seen(T, Some(stopped)),
            &seen(S, Some(source_at("0-1-6", true))),
            MyMode::Switchover,
        )
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::PreconditionFailed, "{e}");
        assert!(e.message().contains("cannot catch up"), "{e}");
        let e = promotion(
            &seen(T, Some(replica_at("0-2-6"))),
            &seen(S, Some(source_at("0-1-6", true))),
            MyMode::Switchover,
        )
        .unwrap_err();
        assert!(e.message().contains("forked"), "{e}");
    }

    #[test]
    fn with_the_source_dark_a_failover_applies_the_relay_log_first_and_a_switchover_refuses() {
        let mut applying = replica_at("0-1-5");
        if let Some(r) = applying.replica.as_mut() {
            r.io_thread = ThreadState::Connecting;
            r.applied_position.position = 900;
        }
        let p = promotion(
            &seen(T, Some(applying.clone())),
            &seen(S, None),
            MyMode::Failover,
        )
        .unwrap();
        assert_eq!((p.state, p.ops.len()), (MyState::Applying, 0));
        if let Some(r) = applying.replica.as_mut() {
            r.applied_position.position = 1133;
        }
        let p = promotion(
            &seen(T, Some(applying.clone())),
            &seen(S, None),
            MyMode::Failover,
        )
        .unwrap();
        assert_eq!(p.state, MyState::Done);
        assert_eq!(
            p.ops.len(),
            2,
            "detached and writable; nothing sent to the dark source"
        );
        let e =
            promotion(&seen(T, Some(applying)), &seen(S, None), MyMode::Switchover).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::PreconditionFailed, "{e}");
        // a target that does not answer: its own error's kind
        let e = promotion(&seen(T, None), &seen(S, None), MyMode::Failover).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Transient, "{e}");
    }

    #[test]
    fn an_old_source_back_writable_beside_the_promoted_target_is_fenced_and_a_forked_one_kept() {
        let promoted = source_at("0-1-6,0-2-3", false);
        let p = promotion(
            &seen(T, Some(promoted.clone())),
            &seen(S, Some(source_at("0-1-7", false))),
            MyMode::Failover,
        )
        .unwrap();
        assert_eq!(p.fenced.as_deref(), Some(S));
        assert_eq!(
            p.ops,
            [MyOp::ReadOnly {
                server: S.into(),
                on: true
            }]
        );
        // fenced, but it wrote 0-1-7 the target never received: not pointed at the target
        let p = promotion(
            &seen(T, Some(promoted)),
            &seen(S, Some(source_at("0-1-7", true))),
            MyMode::Failover,
        )
        .unwrap();
        assert!(p.ops.is_empty(), "{p:?}");
        assert!(
            p.note.as_deref().unwrap_or_default().contains("forked"),
            "{p:?}"
        );
    }
}
