//! lifeboat-mysql: MySQL / MariaDB servers through their own protocol (`mysql_async`), as
//! [`MysqlServers`]: a server's `@@version`, `@@read_only`, GTID position
//! (`@@gtid_current_pos` on MariaDB, `@@gtid_executed` on MySQL) and `SHOW REPLICA STATUS`
//! (MariaDB 10.5+ and MySQL 8.0.22+; `SHOW SLAVE STATUS` on older servers), read in either
//! server's column names. The rules drawn from it live in `lifeboat_core::mysql`.
//!
//! One connection per observation, closed after it, bounded by the adapter's timeout; the
//! password goes only into the server's authentication, never into an error or log line.

use std::time::Duration;

use lifeboat_core::mysql::{
    BinlogPosition, MysqlLogin, MysqlServerView, ReplicaStatus, ThreadState,
};
use lifeboat_core::ports::{MysqlServers, Secret};
use lifeboat_core::{Error, ErrorKind, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row, SslOpts, Value};

/// How long connecting and one observation may take before it is `Transient`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most replication channels lifeboat reads: it expects one (the other region's source).
const CHANNELS: usize = 1;

/// The adapter (no state but its timeout; built once per function).
#[derive(Debug, Clone)]
pub struct MysqlAdapter {
    timeout: Duration,
}

impl MysqlAdapter {
    /// Also makes ring rustls's crypto provider for the process, unless one is already: with
    /// the AWS SDK's aws-lc-rs compiled in too, rustls picks none by itself, and mysql_async's
    /// TLS would panic at its first connection.
    pub fn new(timeout: Duration) -> Self {
        // Err: a provider is already installed (this process chose one); any serves
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self { timeout }
    }

    async fn connect(&self, server: &str, login: &MysqlLogin) -> Result<Conn> {
        let (host, port) = split_addr(server)?;
        let mut opts = OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port)
            .user(Some(login.user.as_str()))
            .pass(Some(login.password.expose()))
            .prefer_socket(false)
            .wait_timeout(Some(60));
        if let Some(tls) = &login.tls {
            // required and verified: the server's certificate must chain to the plan's CA (the
            // only one trusted then) or a public one, and name the address connected to
            let mut ssl = SslOpts::default();
            if let Some(ca) = &tls.ca_pem {
                ssl = ssl
                    .with_root_certs(vec![ca.as_bytes().to_vec().into()])
                    .with_disable_built_in_roots(true);
            }
            opts = opts.ssl_opts(Some(ssl));
        }
        // boxed: mysql_async's connection future is deep, and every step's future holds it
        match tokio::time::timeout(self.timeout, Box::pin(Conn::new(opts))).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(map_error(server, "connect", &e)),
            Err(_) => Err(Error::new(
                ErrorKind::Transient,
                format!("MySQL {server}: no connection within {:?}", self.timeout),
            )),
        }
    }
}

impl Default for MysqlAdapter {
    fn default() -> Self {
        Self::new(DEFAULT_TIMEOUT)
    }
}

/// `host:port` (the port required: lifeboat names every server it acts on exactly).
fn split_addr(addr: &str) -> Result<(&str, u16)> {
    let parsed = addr
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .filter(|(h, p)| !h.is_empty() && *p != 0);
    parsed.ok_or_else(|| {
        Error::invalid_input(format!(
            "'{}' is not host:port",
            lifeboat_core::text::inert(addr, 80)
        ))
    })
}

/// A server's refusal keeps its kind: access denied (1045) or a missing privilege (1227, 1142,
/// 1044) `AccessDenied`; the network or a server going away `Transient`; anything else
/// `Internal`.
fn map_error(server: &str, what: &str, e: &mysql_async::Error) -> Error {
    let (kind, said) = match e {
        mysql_async::Error::Server(s) => {
            let kind = match s.code {
                1044 | 1045 | 1142 | 1227 | 1698 => ErrorKind::AccessDenied,
                // too many connections, lock wait, server shutting down, read-only
                1040 | 1205 | 1053 | 2013 => ErrorKind::Transient,
                _ => ErrorKind::Internal,
            };
            (
                kind,
                format!(
                    "error {}: {}",
                    s.code,
                    lifeboat_core::text::inert(&s.message, 200)
                ),
            )
        }
        // a TLS handshake that failed (tokio-rustls reports rustls's errors as InvalidData): a
        // certificate not of the trusted CA or naming another host; retrying cannot help
        mysql_async::Error::Io(mysql_async::IoError::Io(io))
            if io.kind() == std::io::ErrorKind::InvalidData =>
        {
            (
                ErrorKind::PreconditionFailed,
                format!(
                    "TLS refused (the server's certificate must chain to database.mysql.tls's CA \
                     and name the address): {}",
                    lifeboat_core::text::inert(&io.to_string(), 200)
                ),
            )
        }
        mysql_async::Error::Io(mysql_async::IoError::Tls(tls)) => (
            ErrorKind::PreconditionFailed,
            format!("TLS: {}", lifeboat_core::text::inert(&tls.to_string(), 200)),
        ),
        mysql_async::Error::Io(io) => (
            ErrorKind::Transient,
            lifeboat_core::text::inert(&io.to_string(), 200),
        ),
        mysql_async::Error::Driver(d) => (
            ErrorKind::Transient,
            lifeboat_core::text::inert(&d.to_string(), 200),
        ),
        other => (
            ErrorKind::Internal,
            lifeboat_core::text::inert(&other.to_string(), 200),
        ),
    };
    Error::new(kind, format!("MySQL {server}: {what}: {said}"))
}

/// A column's value as text (`NULL` as None); MySQL sends status values as text or numbers.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        other => Some(other.as_sql(true)),
    }
}

/// One status row by column name, either server's (`Slave_IO_Running` / `Replica_IO_Running`,
/// `Master_Host` / `Source_Host`, ...).
struct StatusRow {
    columns: Vec<(String, Option<String>)>,
}

impl StatusRow {
    fn from_row(row: &Row) -> Self {
        let columns = row
            .columns_ref()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let value = row.as_ref(i).and_then(text);
                (c.name_str().into_owned(), value)
            })
            .collect();
        Self { columns }
    }

    /// The first of `names` the row has, as text (`NULL` as None).
    fn get(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| {
            self.columns
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(n))
                .and_then(|(_, v)| v.as_deref())
        })
    }

    fn text(&self, names: &[&str]) -> String {
        self.get(names).unwrap_or_default().to_string()
    }

    fn number(&self, names: &[&str]) -> Option<u64> {
        self.get(names).and_then(|v| v.trim().parse().ok())
    }

    fn replica(&self) -> Result<ReplicaStatus> {
        let io = self.text(&["Slave_IO_Running", "Replica_IO_Running"]);
        let io_thread = match io.as_str() {
            "Yes" => ThreadState::Yes,
            "No" | "" => ThreadState::No,
            // "Connecting", "Preparing": not (yet) receiving
            _ => ThreadState::Connecting,
        };
        let host = self.text(&["Master_Host", "Source_Host"]);
        let port = self.number(&["Master_Port", "Source_Port"]).unwrap_or(0);
        if host.is_empty() {
            return Err(Error::internal(
                "SHOW REPLICA STATUS: a row without the source's host",
            ));
        }
        Ok(ReplicaStatus {
            source: format!("{host}:{port}"),
            io_thread,
            sql_running: self.text(&["Slave_SQL_Running", "Replica_SQL_Running"]) == "Yes",
            seconds_behind: self.number(&["Seconds_Behind_Master", "Seconds_Behind_Source"]),
            read_position: BinlogPosition {
                file: self.text(&["Master_Log_File", "Source_Log_File"]),
                position: self
                    .number(&["Read_Master_Log_Pos", "Read_Source_Log_Pos"])
                    .unwrap_or(0),
            },
            applied_position: BinlogPosition {
                file: self.text(&["Relay_Master_Log_File", "Relay_Source_Log_File"]),
                position: self
                    .number(&["Exec_Master_Log_Pos", "Exec_Source_Log_Pos"])
                    .unwrap_or(0),
            },
            last_io_error: self.text(&["Last_IO_Error"]),
            last_sql_error: self.text(&["Last_SQL_Error"]),
        })
    }
}

async fn observe(conn: &mut Conn, server: &str) -> Result<MysqlServerView> {
    let (version, read_only): (String, i64) = conn
        .query_first("SELECT @@version, @@read_only")
        .await
        .map_err(|e| map_error(server, "SELECT @@version, @@read_only", &e))?
        .ok_or_else(|| Error::internal(format!("MySQL {server}: no answer to SELECT @@version")))?;
    let mariadb = version.contains("MariaDB");
    let gtid_query = if mariadb {
        "SELECT @@gtid_current_pos"
    } else {
        "SELECT @@gtid_executed"
    };
    let gtid: Option<Option<String>> = conn
        .query_first(gtid_query)
        .await
        .map_err(|e| map_error(server, gtid_query, &e))?;
    let rows: Vec<Row> = match conn.query("SHOW REPLICA STATUS").await {
        Ok(rows) => rows,
        // before MariaDB 10.5 / MySQL 8.0.22: the old name
        Err(mysql_async::Error::Server(e)) if e.code == 1064 => conn
            .query("SHOW SLAVE STATUS")
            .await
            .map_err(|e| map_error(server, "SHOW SLAVE STATUS", &e))?,
        Err(e) => return Err(map_error(server, "SHOW REPLICA STATUS", &e)),
    };
    if rows.len() > CHANNELS {
        return Err(Error::precondition(format!(
            "MySQL {server}: {} replication channels; lifeboat expects the one from the other region's source",
            rows.len()
        )));
    }
    let replica = rows
        .first()
        .map(|r| StatusRow::from_row(r).replica())
        .transpose()
        .map_err(|e| e.context(format!("MySQL {server}")))?;
    Ok(MysqlServerView {
        version: lifeboat_core::text::inert(&version, 120),
        read_only: read_only != 0,
        gtid_position: gtid.flatten().unwrap_or_default().replace('\n', ""),
        replica,
    })
}

/// A text as an SQL string literal, a quote doubled. Control characters (a NUL, a line break)
/// and backslashes are refused: no host, user or password of lifeboat's needs them, and a
/// backslash reads two ways by the server's `sql_mode` (`NO_BACKSLASH_ESCAPES`).
fn literal(what: &str, s: &str) -> Result<String> {
    if s.chars().any(|c| c.is_control() || c == '\\') {
        return Err(Error::invalid_input(format!(
            "the {what} holds a control character or a backslash: refused (choose another)"
        )));
    }
    Ok(format!("'{}'", s.replace('\'', "''")))
}

/// A host lifeboat names a server by: letters, digits, '.', '-' (and ':' for IPv6).
fn host_literal(host: &str) -> Result<String> {
    if host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    {
        Ok(format!("'{host}'"))
    } else {
        Err(Error::invalid_input(format!(
            "'{}' is not a host name or address",
            lifeboat_core::text::inert(host, 80)
        )))
    }
}

impl MysqlAdapter {
    /// Run `statements` in order on `server`; the first failure stops them. `secret` (a
    /// password inside them) is cut from any error the server gives back.
    async fn run(
        &self,
        server: &str,
        login: &MysqlLogin,
        statements: &[(&str, String)],
        secret: Option<&Secret>,
    ) -> Result<()> {
        let mut conn = self.connect(server, login).await?;
        let work = async {
            for (label, sql) in statements {
                conn.query_drop(sql.as_str()).await.map_err(|e| {
                    let e = map_error(server, label, &e);
                    match secret {
                        Some(s) if !s.expose().is_empty() && e.message().contains(s.expose()) => {
                            Error::new(e.kind(), e.message().replace(s.expose(), "***"))
                        }
                        _ => e,
                    }
                })?;
            }
            Ok(())
        };
        let done = tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| Err(self.no_answer(server)));
        self.close(conn).await;
        done
    }

    fn no_answer(&self, server: &str) -> Error {
        Error::new(
            ErrorKind::Transient,
            format!("MySQL {server}: no answer within {:?}", self.timeout),
        )
    }

    /// Closing is a courtesy: what the session did or read stands whatever it answers.
    async fn close(&self, conn: Conn) {
        let _ = tokio::time::timeout(self.timeout, conn.disconnect()).await;
    }
}

/// The port's work, one session per call; the port boxes each future (mysql_async's are deep,
/// and every step of a function holds one: unboxed, a handler's future outgrows rustc's
/// layout depth).
impl MysqlAdapter {
    async fn set_read_only_now(&self, server: &str, login: &MysqlLogin, on: bool) -> Result<()> {
        let sql = format!("SET GLOBAL read_only = {}", if on { "ON" } else { "OFF" });
        self.run(server, login, &[("SET GLOBAL read_only", sql)], None)
            .await
    }

    async fn detach_now(&self, server: &str, login: &MysqlLogin) -> Result<()> {
        // MariaDB 10.5+ and MySQL 8.0.22+ name them so (both servers lifeboat supports)
        self.run(
            server,
            login,
            &[
                ("STOP REPLICA", "STOP REPLICA".to_string()),
                ("RESET REPLICA ALL", "RESET REPLICA ALL".to_string()),
            ],
            None,
        )
        .await
    }

    async fn follow_now(&self, server: &str, login: &MysqlLogin, source: &str) -> Result<()> {
        let replication = login.replication.as_ref().ok_or_else(|| {
            Error::precondition(format!(
                "MySQL {server}: no replication login to follow {source} with: nothing was changed"
            ))
        })?;
        let (host, port) = split_addr(source)?;
        let host = host_literal(host)?;
        let repl_user = literal("replication user", &replication.user)?;
        let repl_password = literal("replication password", replication.password.expose())?;
        let mariadb = self
            .observe_now(server, login)
            .await?
            .version
            .contains("MariaDB");
        // with TLS to the servers, the replica's connection to its source asks for it too
        let ssl = if login.tls.is_some() {
            ", MASTER_SSL=1"
        } else {
            ""
        };
        let change = if mariadb {
            // current_pos: a former source's own transactions are in its current position,
            // not in its (empty) replica position
            format!(
                "CHANGE MASTER TO MASTER_HOST={host}, MASTER_PORT={port}, MASTER_USER={repl_user}, \
                 MASTER_PASSWORD={repl_password}, MASTER_USE_GTID=current_pos{ssl}"
            )
        } else {
            format!(
                "CHANGE REPLICATION SOURCE TO SOURCE_HOST={host}, SOURCE_PORT={port}, \
                 SOURCE_USER={repl_user}, SOURCE_PASSWORD={repl_password}, SOURCE_AUTO_POSITION=1{}",
                if login.tls.is_some() {
                    ", SOURCE_SSL=1"
                } else {
                    ""
                }
            )
        };
        self.run(
            server,
            login,
            &[
                ("STOP REPLICA", "STOP REPLICA".to_string()),
                ("CHANGE MASTER TO", change),
                ("START REPLICA", "START REPLICA".to_string()),
            ],
            Some(&replication.password),
        )
        .await
    }

    async fn observe_now(&self, server: &str, login: &MysqlLogin) -> Result<MysqlServerView> {
        let mut conn = self.connect(server, login).await?;
        let work = observe(&mut conn, server);
        let seen = tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| Err(self.no_answer(server)));
        self.close(conn).await;
        seen
    }
}

impl MysqlServers for MysqlAdapter {
    fn observe(
        &self,
        server: &str,
        login: &MysqlLogin,
    ) -> impl Future<Output = Result<MysqlServerView>> + Send {
        Box::pin(self.observe_now(server, login))
    }

    fn set_read_only(
        &self,
        server: &str,
        login: &MysqlLogin,
        on: bool,
    ) -> impl Future<Output = Result<()>> + Send {
        Box::pin(self.set_read_only_now(server, login, on))
    }

    fn detach(&self, server: &str, login: &MysqlLogin) -> impl Future<Output = Result<()>> + Send {
        Box::pin(self.detach_now(server, login))
    }

    fn follow(
        &self,
        server: &str,
        login: &MysqlLogin,
        source: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        Box::pin(self.follow_now(server, login, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_and_control_characters_refused() {
        assert_eq!(literal("x", "it's").ok().as_deref(), Some("'it''s'"));
        assert!(literal("x", "a\\b").is_err());
        assert!(literal("x", "a\nb").is_err());
        assert!(literal("x", "a\0b").is_err());
        assert!(host_literal("db'; DROP").is_err());
        assert_eq!(host_literal("10.0.0.1").ok().as_deref(), Some("'10.0.0.1'"));
    }

    #[test]
    fn an_address_that_is_not_host_port_is_refused_before_any_connection() {
        for bad in ["db.example.com", ":3306", "db:0", "db:notaport", "db:70000"] {
            assert_eq!(
                split_addr(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
        assert_eq!(split_addr("127.0.0.1:3306").ok(), Some(("127.0.0.1", 3306)));
    }
}
