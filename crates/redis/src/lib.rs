//! lifeboat-redis: the cache adapter. [`RedisSentinel`] implements
//! [`CacheNodes`](lifeboat_core::ports::CacheNodes) over the Redis protocol: `INFO replication`
//! and `REPLICAOF` on the nodes, `SENTINEL GET-MASTER-ADDR-BY-NAME | MONITOR | SET | REMOVE` on
//! the Sentinels. The rule of what to send lives in `lifeboat_core::cache`.
//!
//! Every request opens its own connection with a connect and a response timeout (a failover
//! sends a handful; a dark region must cost seconds, not minutes). Errors keep their kind: a
//! refused connection, a timeout, `LOADING` or `MASTERDOWN` is `Transient`; a wrong or missing
//! password `AccessDenied`; a request the server refuses `InvalidInput`; an answer that does not
//! parse `Internal`. The password is sent in `AUTH` only and never appears in an error.

use std::time::Duration;

use lifeboat_core::ports::{CacheNodeView, CacheNodes, CacheRole, Secret, SeenReplica};
use lifeboat_core::text::inert;
use lifeboat_core::{Error, ErrorKind, Result};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, IntoConnectionInfo};

/// The default connect and response timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Redis nodes and Sentinels, reached at `host:port`.
#[derive(Debug, Clone)]
pub struct RedisSentinel {
    timeout: Duration,
}

impl Default for RedisSentinel {
    fn default() -> Self {
        Self::new(DEFAULT_TIMEOUT)
    }
}

impl RedisSentinel {
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }

    async fn connect(
        &self,
        addr: &str,
        password: Option<&Secret>,
    ) -> Result<MultiplexedConnection> {
        let (host, port) = split_addr(addr)?;
        let mut info: ConnectionInfo = ConnectionAddr::Tcp(host.to_string(), port)
            .into_connection_info()
            .map_err(|e| map_error(addr, "connect", &e))?;
        // no CLIENT SETINFO: Redis before 7.2 and Sentinel do not know it
        let mut settings = info.redis_settings().clone().set_skip_set_lib_name();
        if let Some(p) = password {
            settings = settings.set_password(p.expose());
        }
        info = info.set_redis_settings(settings);
        let client = redis::Client::open(info).map_err(|e| map_error(addr, "connect", &e))?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| map_error(addr, "connect", &e))
    }

    async fn query<T: redis::FromRedisValue>(
        &self,
        addr: &str,
        password: Option<&Secret>,
        what: &str,
        cmd: &redis::Cmd,
    ) -> Result<T> {
        let mut conn = self.connect(addr, password).await?;
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| map_error(addr, what, &e))
    }
}

/// `host:port` (or `[v6]:port`), refused before any connection when it is not one.
fn split_addr(addr: &str) -> Result<(&str, u16)> {
    let bad = || Error::invalid_input(format!("'{}' is not host:port", inert(addr, 80)));
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty()
        || port == 0
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    {
        return Err(bad());
    }
    Ok((host, port))
}

/// A Redis error as lifeboat's kind; the message names the node and the request, bounded and
/// inert (a server's text is untrusted), never the password (no request argument is shown).
fn map_error(addr: &str, what: &str, e: &redis::RedisError) -> Error {
    use redis::{ErrorKind as K, ServerErrorKind as S};
    let kind = if e.is_timeout()
        || e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
    {
        ErrorKind::Transient
    } else {
        match (e.kind(), e.code()) {
            (K::AuthenticationFailed, _) | (K::Server(S::NoPerm), _) => ErrorKind::AccessDenied,
            (_, Some("NOAUTH" | "WRONGPASS" | "NOPERM")) => ErrorKind::AccessDenied,
            (K::Server(S::BusyLoading | S::MasterDown | S::TryAgain), _) => ErrorKind::Transient,
            (_, Some("LOADING" | "BUSY" | "MASTERDOWN" | "TRYAGAIN")) => ErrorKind::Transient,
            (K::Server(_) | K::Extension, _) => ErrorKind::InvalidInput,
            _ => ErrorKind::Internal,
        }
    };
    Error::new(
        kind,
        format!(
            "redis {}: {what}: {}",
            inert(addr, 80),
            inert(&e.to_string(), 300)
        ),
    )
}

/// One entry of `SENTINEL REPLICAS` (field, value, field, value, ...); `None` without an address.
fn seen_replica(fields: &[String]) -> Option<SeenReplica> {
    let get = |name: &str| {
        fields
            .chunks(2)
            .find(|kv| kv.first().map(String::as_str) == Some(name))
            .and_then(|kv| kv.get(1))
    };
    let ip = get("ip")?;
    let port = get("port")?;
    let flags = get("flags").map(String::as_str).unwrap_or_default();
    let down = flags
        .split(',')
        .any(|f| matches!(f, "s_down" | "o_down" | "disconnected"));
    Some(SeenReplica {
        addr: format!("{ip}:{port}"),
        link_up: !down && get("master-link-status").map(String::as_str) == Some("ok"),
        offset: get("slave-repl-offset")
            .and_then(|o| o.parse().ok())
            .unwrap_or(0),
    })
}

/// `INFO replication` as lifeboat reads it.
fn parse_replication(addr: &str, info: &str) -> Result<CacheNodeView> {
    let field = |name: &str| {
        info.lines()
            .filter_map(|l| l.trim_end_matches('\r').split_once(':'))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    let unreadable = |what: &str| {
        Error::internal(format!(
            "redis {}: INFO replication has no readable {what}",
            inert(addr, 80)
        ))
    };
    let offset = |name: &str| -> Result<u64> {
        field(name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| unreadable(name))
    };
    let replid = field("master_replid").unwrap_or_default().to_string();
    let replid2 = field("master_replid2").unwrap_or_default().to_string();
    match field("role") {
        Some("master") => Ok(CacheNodeView {
            role: CacheRole::Master,
            offset: offset("master_repl_offset")?,
            replid,
            replid2,
        }),
        Some("slave") => {
            let host = field("master_host").ok_or_else(|| unreadable("master_host"))?;
            let port = field("master_port").ok_or_else(|| unreadable("master_port"))?;
            Ok(CacheNodeView {
                role: CacheRole::Replica {
                    master: format!("{host}:{port}"),
                    link_up: field("master_link_status") == Some("up"),
                },
                offset: offset("slave_repl_offset")?,
                replid,
                replid2,
            })
        }
        _ => Err(unreadable("role")),
    }
}

impl CacheNodes for RedisSentinel {
    async fn replication(&self, node: &str, password: Option<&Secret>) -> Result<CacheNodeView> {
        let info: String = self
            .query(
                node,
                password,
                "INFO replication",
                redis::cmd("INFO").arg("replication"),
            )
            .await?;
        parse_replication(node, &info)
    }

    async fn replicate(
        &self,
        node: &str,
        master: Option<&str>,
        password: Option<&Secret>,
    ) -> Result<()> {
        let mut cmd = redis::cmd("REPLICAOF");
        match master {
            None => cmd.arg("NO").arg("ONE"),
            Some(m) => {
                let (host, port) = split_addr(m)?;
                cmd.arg(host).arg(port)
            }
        };
        let _: String = self.query(node, password, "REPLICAOF", &cmd).await?;
        Ok(())
    }

    async fn watched(&self, sentinel: &str, name: &str) -> Result<Option<String>> {
        let answer: Option<(String, String)> = self
            .query(
                sentinel,
                None,
                "SENTINEL GET-MASTER-ADDR-BY-NAME",
                redis::cmd("SENTINEL")
                    .arg("GET-MASTER-ADDR-BY-NAME")
                    .arg(name),
            )
            .await?;
        Ok(answer.map(|(host, port)| format!("{host}:{port}")))
    }

    async fn watch(
        &self,
        sentinel: &str,
        name: &str,
        master: &str,
        quorum: u32,
        password: Option<&Secret>,
    ) -> Result<()> {
        let (host, port) = split_addr(master)?;
        let mut conn = self.connect(sentinel, None).await?;
        let _: String = redis::cmd("SENTINEL")
            .arg("MONITOR")
            .arg(name)
            .arg(host)
            .arg(port)
            .arg(quorum)
            .query_async(&mut conn)
            .await
            .map_err(|e| map_error(sentinel, "SENTINEL MONITOR", &e))?;
        if let Some(p) = password {
            let _: String = redis::cmd("SENTINEL")
                .arg("SET")
                .arg(name)
                .arg("auth-pass")
                .arg(p.expose())
                .query_async(&mut conn)
                .await
                .map_err(|e| map_error(sentinel, "SENTINEL SET auth-pass", &e))?;
        }
        Ok(())
    }

    async fn replicas(&self, sentinel: &str, name: &str) -> Result<Vec<SeenReplica>> {
        let answer: Vec<Vec<String>> = self
            .query(
                sentinel,
                None,
                "SENTINEL REPLICAS",
                redis::cmd("SENTINEL").arg("REPLICAS").arg(name),
            )
            .await?;
        Ok(answer
            .iter()
            .filter_map(|fields| seen_replica(fields))
            .collect())
    }

    async fn unwatch(&self, sentinel: &str, name: &str) -> Result<()> {
        let answer: std::result::Result<String, redis::RedisError> = redis::cmd("SENTINEL")
            .arg("REMOVE")
            .arg(name)
            .query_async(&mut self.connect(sentinel, None).await?)
            .await;
        match answer {
            Ok(_) => Ok(()),
            // watching nothing by that name already: what was asked for
            Err(e) if e.to_string().contains("No such master") => Ok(()),
            Err(e) => Err(map_error(sentinel, "SENTINEL REMOVE", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_replication_is_read_for_a_master_and_a_replica() {
        let master = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nmaster_replid:aa11\r\nmaster_replid2:0000\r\nmaster_repl_offset:4242\r\n";
        assert_eq!(
            parse_replication("a:1", master).expect("a master"),
            CacheNodeView {
                role: CacheRole::Master,
                offset: 4242,
                replid: "aa11".into(),
                replid2: "0000".into(),
            }
        );
        let replica = "role:slave\nmaster_host:10.0.0.1\nmaster_port:6379\nmaster_link_status:down\nslave_repl_offset:17\n";
        assert_eq!(
            parse_replication("b:1", replica).expect("a replica"),
            CacheNodeView {
                role: CacheRole::Replica {
                    master: "10.0.0.1:6379".into(),
                    link_up: false
                },
                offset: 17,
                replid: String::new(),
                replid2: String::new(),
            }
        );
    }

    #[test]
    fn an_info_without_what_lifeboat_reads_is_internal_and_inert() {
        for bad in [
            "",
            "role:sentinel\n",
            "role:master\n",
            "role:master\nmaster_repl_offset:many\n",
            "role:slave\nmaster_port:1\nslave_repl_offset:1\n",
        ] {
            let e = parse_replication("a:1", bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::Internal, "{bad:?}");
        }
    }

    #[test]
    fn an_address_that_is_not_host_port_is_refused_before_any_connection() {
        for bad in [
            "",
            "host",
            "host:",
            "host:0",
            "host:99999",
            ":6379",
            "a b:1",
            "x\u{1b}[31m:1",
        ] {
            let e = split_addr(bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
            assert!(!e.message().contains('\u{1b}'), "{e}");
        }
        assert_eq!(split_addr("10.0.0.1:6379").expect("ok"), ("10.0.0.1", 6379));
        assert_eq!(split_addr("[::1]:6379").expect("ok"), ("::1", 6379));
    }
}
