//! Fakes: MySQL / MariaDB servers, one per region, simulated as MariaDB's GTID replication
//! behaves: a replica whose source answers holds everything the source wrote (unless held
//! back), a replica whose source is dark keeps what it had and its I/O thread reconnects, and a
//! replica whose history forked from its source's stops with an error.

use crate::mysql::{BinlogPosition, MysqlLogin, MysqlServerView, ReplicaStatus, ThreadState};

use super::prelude::*;

/// One server: its region, its settings and the transactions it holds (`(server id, seq)`).
#[derive(Debug, Clone)]
pub struct FakeMysqlServer {
    pub region: String,
    pub server_id: u32,
    pub read_only: bool,
    /// The source it replicates, `host:port`.
    pub source: Option<String>,
    pub history: Vec<(u32, u64)>,
    /// `Seconds_Behind_Master` it reports while replicating.
    pub seconds_behind: u64,
    /// Transactions of its source it has received but not applied yet (it applies one per read
    /// while its SQL thread runs).
    pub unapplied: u64,
    pub sql_running: bool,
    /// It answers, and refuses lifeboat's login (a password changed on this server only).
    pub refuses_login: bool,
}

/// Two regions' servers (source and replica) reached by `host:port`.
#[derive(Debug, Default)]
pub struct FakeMysql {
    pub servers: Mutex<BTreeMap<String, FakeMysqlServer>>,
    pub dark_regions: Mutex<BTreeSet<String>>,
    /// lifeboat's password; another is refused (1045: AccessDenied).
    pub password: Mutex<Option<String>>,
    /// Every change: `read_only <addr> on|off`, `detach <addr>`, `follow <addr> <source>`.
    pub changes: Mutex<Vec<String>>,
}

impl FakeMysql {
    /// `region`'s server address.
    pub fn addr(region: &str) -> String {
        format!("db.{region}.test:3306")
    }

    /// `source`'s server takes writes and holds five transactions; `replica`'s replicates it
    /// read-only, holding all five.
    pub fn new(source: &str, replica: &str) -> Self {
        let history: Vec<(u32, u64)> = (1..=5).map(|s| (1, s)).collect();
        let servers = [
            (
                Self::addr(source),
                FakeMysqlServer {
                    region: source.to_string(),
                    server_id: 1,
                    read_only: false,
                    source: None,
                    history: history.clone(),
                    seconds_behind: 0,
                    unapplied: 0,
                    sql_running: true,
                    refuses_login: false,
                },
            ),
            (
                Self::addr(replica),
                FakeMysqlServer {
                    region: replica.to_string(),
                    server_id: 2,
                    read_only: true,
                    source: Some(Self::addr(source)),
                    history,
                    seconds_behind: 0,
                    unapplied: 0,
                    sql_running: true,
                    refuses_login: false,
                },
            ),
        ];
        Self {
            servers: Mutex::new(servers.into_iter().collect()),
            password: Mutex::new(Some("mysql-secret".into())),
            ..Self::default()
        }
    }

    /// The shop writes one transaction at `region`'s server (refused when read-only).
    pub fn write(&self, region: &str) -> Result<()> {
        let mut servers = self.servers.lock().unwrap();
        let s = servers
            .get_mut(&Self::addr(region))
            .ok_or_else(|| Error::not_found(format!("no server in {region}")))?;
        if s.read_only {
            return Err(Error::precondition("1290: the server is read-only"));
        }
        let next = s.history.last().map_or(1, |(_, seq)| seq + 1);
        s.history.push((s.server_id, next));
        Ok(())
    }

    /// `region`'s server, as it stands.
    pub fn server(&self, region: &str) -> FakeMysqlServer {
        self.servers.lock().unwrap()[&Self::addr(region)].clone()
    }

    pub fn set(&self, region: &str, change: impl FnOnce(&mut FakeMysqlServer)) {
        let mut servers = self.servers.lock().unwrap();
        if let Some(s) = servers.get_mut(&Self::addr(region)) {
            change(s);
        }
    }

    fn check(&self, addr: &str, password: &Secret) -> Result<()> {
        let (region, refuses) = self
            .servers
            .lock()
            .unwrap()
            .get(addr)
            .map(|s| (s.region.clone(), s.refuses_login))
            .ok_or_else(|| {
                Error::new(ErrorKind::Transient, format!("{addr}: connection refused"))
            })?;
        reachable(&self.dark_regions, &region)?;
        match &*self.password.lock().unwrap() {
            _ if refuses => Err(Error::new(
                ErrorKind::AccessDenied,
                format!("1045: access denied for user at {addr}"),
            )),
            Some(p) if p != password.expose() => Err(Error::new(
                ErrorKind::AccessDenied,
                format!("1045: access denied for user at {addr}"),
            )),
            _ => Ok(()),
        }
    }

    /// One loop of every replica's threads: a replica applies one received transaction from
    /// its relay log (also while its source is dark); with nothing left unapplied and its
    /// source answering it receives and applies all the source wrote. A replica whose history
    /// forked from its source's applies nothing.
    pub fn tick(&self) {
        let dark = self.dark_regions.lock().unwrap().clone();
        let mut servers = self.servers.lock().unwrap();
        let all = servers.clone();
        for s in servers.values_mut() {
            let Some(src) = s.source.as_ref().and_then(|a| all.get(a)) else {
                continue;
            };
            if !s.sql_running || !src.history.starts_with(&s.history) {
                continue;
            }
            if s.unapplied > 0 {
                let n = (s.history.len() + 1).min(src.history.len());
                s.history = src.history[..n].to_vec();
                s.unapplied -= 1;
            } else if !dark.contains(&src.region) {
                s.history = src.history.clone();
            }
        }
    }

    /// How `addr`'s replication stands: `Ok` while it receives from a source that answers.
    fn replication(&self, addr: &str) -> std::result::Result<(), String> {
        let servers = self.servers.lock().unwrap();
        let Some(source) = servers.get(addr).and_then(|s| s.source.clone()) else {
            return Ok(());
        };
        let (Some(s), Some(src)) = (servers.get(addr), servers.get(&source)) else {
            return Err(format!("error connecting to {source}: unknown host"));
        };
        if !src.history.starts_with(&s.history) {
            return Err("Got fatal error 1236 from master: the slave has transactions the master lacks (gtid_strict_mode)".into());
        }
        if self.dark_regions.lock().unwrap().contains(&src.region) {
            return Err(format!("error reconnecting to {source}"));
        }
        Ok(())
    }
}

impl MysqlServers for FakeMysql {
    async fn observe(&self, server: &str, login: &MysqlLogin) -> Result<MysqlServerView> {
        self.check(server, &login.password)?;
        let replicated = self.replication(server);
        let s = self.servers.lock().unwrap()[server].clone();
        let position = |n: usize| BinlogPosition {
            file: "binlog.000001".into(),
            position: 300 + 100 * n as u64,
        };
        let received = s.history.len() + s.unapplied as usize;
        Ok(MysqlServerView {
            version: "10.11.19-MariaDB-fake".into(),
            read_only: s.read_only,
            gtid_position: s
                .history
                .last()
                .map_or_else(String::new, |(id, seq)| format!("0-{id}-{seq}")),
            replica: s.source.as_ref().map(|source| {
                let (io_thread, error) = match &replicated {
                    Ok(()) => (ThreadState::Yes, String::new()),
                    Err(e) if e.starts_with("error ") => (ThreadState::Connecting, e.clone()),
                    Err(e) => (ThreadState::No, e.clone()),
                };
                ReplicaStatus {
                    source: source.clone(),
                    io_thread,
                    sql_running: s.sql_running,
                    seconds_behind: (io_thread == ThreadState::Yes && s.sql_running)
                        .then_some(s.seconds_behind),
                    read_position: position(received),
                    applied_position: position(s.history.len()),
                    last_io_error: error,
                    last_sql_error: String::new(),
                }
            }),
        })
    }

    async fn set_read_only(&self, server: &str, login: &MysqlLogin, on: bool) -> Result<()> {
        self.check(server, &login.password)?;
        self.servers
            .lock()
            .unwrap()
            .get_mut(server)
            .unwrap()
            .read_only = on;
        self.changes.lock().unwrap().push(format!(
            "read_only {server} {}",
            if on { "on" } else { "off" }
        ));
        Ok(())
    }

    async fn detach(&self, server: &str, login: &MysqlLogin) -> Result<()> {
        self.check(server, &login.password)?;
        let mut servers = self.servers.lock().unwrap();
        let s = servers.get_mut(server).unwrap();
        s.source = None;
        s.unapplied = 0;
        self.changes
            .lock()
            .unwrap()
            .push(format!("detach {server}"));
        Ok(())
    }

    async fn follow(&self, server: &str, login: &MysqlLogin, source: &str) -> Result<()> {
        self.check(server, &login.password)?;
        if login
            .replication
            .as_ref()
            .is_none_or(|r| r.password.expose().is_empty())
        {
            return Err(Error::precondition("no replication login"));
        }
        self.servers.lock().unwrap().get_mut(server).unwrap().source = Some(source.to_string());
        self.changes
            .lock()
            .unwrap()
            .push(format!("follow {server} {source}"));
        Ok(())
    }
}

/// The password parameters [`plan_with_mysql`] names.
pub const MYSQL_PASSWORD_PARAMETER: &str = "/lifeboat/shop/mysql-password";
pub const MYSQL_REPLICATION_PASSWORD_PARAMETER: &str = "/lifeboat/shop/mysql-replication-password";

/// `plan` (an Aurora plan) under `database.provider: mysql`: each region's cluster ARN becomes
/// its server ([`FakeMysql::addr`]), database capacity is dropped (Aurora's).
pub fn plan_with_mysql(plan: &str) -> String {
    super::rewrite_database(
        plan,
        |region| format!("mysql: {{ server: \"{}\" }}", FakeMysql::addr(region)),
        &[
            "provider: mysql".to_string(),
            format!(
                "mysql: {{ user: lifeboat, password_parameter: {MYSQL_PASSWORD_PARAMETER}, \
                 replication_user: repl, replication_password_parameter: \
                 {MYSQL_REPLICATION_PASSWORD_PARAMETER} }}"
            ),
        ],
    )
}

/// The parameters [`plan_with_mysql`]'s logins are read from, holding [`FakeMysql::new`]'s
/// password.
pub fn mysql_parameters(params: &super::FakeParameters) {
    params.insert(MYSQL_PASSWORD_PARAMETER, "mysql-secret");
    params.insert(MYSQL_REPLICATION_PASSWORD_PARAMETER, "replication-secret");
}
