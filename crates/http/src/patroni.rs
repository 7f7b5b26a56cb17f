//! [`PatroniRest`]: the [`PatroniClusters`] port over Patroni's REST API.
//!
//! * `GET /patroni`: the member's role, state, timeline and WAL positions;
//! * `GET /cluster`: the cluster's members, for this member's PostgreSQL address;
//! * `PATCH /config` with basic authentication (`restapi.authentication`): the cluster's
//!   `standby_cluster`.
//!
//! Errors keep their kind: no answer or a 5xx is `Transient`, 401/403 `AccessDenied`, 429
//! `Throttled`, another 4xx `InvalidInput`, a body that is not Patroni's `Internal`. The
//! password goes only into the `Authorization` header; no error or log line carries it, and a
//! URL is shown without its credentials.

use std::time::Duration;

use lifeboat_core::ports::{PatroniAuth, PatroniClusters, PgMemberView, PgRole, PgUpstream};
use lifeboat_core::text::inert;
use lifeboat_core::{Error, ErrorKind, Result};
use serde::Deserialize;

/// How long one request may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Patroni's REST API, each member reached at its base URL (`http://host:8008`).
#[derive(Debug, Clone)]
pub struct PatroniRest {
    client: reqwest::Client,
    timeout: Duration,
}

impl PatroniRest {
    pub fn new(timeout: Duration) -> Result<Self> {
        Ok(Self {
            client: crate::client()?,
            timeout,
        })
    }
}

/// A member's base URL, checked: `http://` or `https://`, no credentials in it, no path
/// beyond `/`.
fn base(api: &str) -> Result<String> {
    let url = url::Url::parse(api).map_err(|_| {
        Error::invalid_input(format!(
            "the Patroni REST URL '{}' is not a URL",
            inert(api, 120)
        ))
    })?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && matches!(url.path(), "" | "/");
    if !ok {
        // shown without what it should not have carried
        let mut shown = url.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        return Err(Error::invalid_input(format!(
            "the Patroni REST URL '{}' must be http(s)://host:port, without credentials or a path",
            inert(shown.as_str(), 120)
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

impl PatroniRest {
    /// Send, and read a success's body as `T` (or a typed error naming the status).
    async fn exchange<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        api: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T> {
        let (status, body) =
            crate::exchange_bytes(&format!("Patroni {what} at {api}"), request, self.timeout)
                .await?;
        if !status.is_success() {
            // Patroni answers errors in plain text: shown bounded and inert.
            let said = String::from_utf8_lossy(&body[..body.len().min(400)]).into_owned();
            return Err(Error::new(
                crate::kind_of_status(status.as_u16()),
                format!(
                    "Patroni {what} at {api}: HTTP {status}: {}",
                    inert(&said, 200)
                ),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| {
            Error::with_source(
                ErrorKind::Internal,
                format!("Patroni {what} at {api}: HTTP {status} with a body lifeboat cannot read"),
                e,
            )
        })
    }
}

#[derive(Debug, Deserialize)]
struct Status {
    role: String,
    #[serde(default)]
    state: String,
    timeline: Option<u64>,
    #[serde(default)]
    xlog: Xlog,
    patroni: Identity,
}

#[derive(Debug, Default, Deserialize)]
struct Xlog {
    location: Option<u64>,
    received_location: Option<u64>,
    replayed_location: Option<u64>,
    /// `pg_last_xact_replay_timestamp()` as Python prints a datetime
    /// (`2026-12-06 08:50:12.123456+00:00`), or null before anything was replayed
    #[serde(default)]
    replayed_timestamp: Option<String>,
}

/// Patroni's `replayed_timestamp`: Python's `str(datetime)` with its offset. Anything else is
/// unknown (None), never "now": lag is computed from it.
fn replayed_at(s: &str) -> Option<time::OffsetDateTime> {
    use time::macros::format_description;
    let with_fraction = format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory]:[offset_minute]"
    );
    let without = format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    time::OffsetDateTime::parse(s, with_fraction)
        .or_else(|_| time::OffsetDateTime::parse(s, without))
        .ok()
}

#[derive(Debug, Deserialize)]
struct Identity {
    name: String,
}

#[derive(Debug, Deserialize)]
struct Cluster {
    members: Vec<ClusterMember>,
}

#[derive(Debug, Deserialize)]
struct ClusterMember {
    name: String,
    state: Option<String>,
    host: Option<String>,
    port: Option<u16>,
}

fn role(s: &str) -> PgRole {
    match s {
        "primary" | "master" => PgRole::Primary,
        "standby_leader" => PgRole::StandbyLeader,
        other => PgRole::Replica(inert(other, 40)),
    }
}

impl PatroniClusters for PatroniRest {
    async fn member(&self, api: &str) -> Result<PgMemberView> {
        let base = base(api)?;
        let status: Status = self
            .exchange(
                "GET /patroni",
                &base,
                self.client.get(format!("{base}/patroni")),
            )
            .await?;
        let cluster: Cluster = self
            .exchange(
                "GET /cluster",
                &base,
                self.client.get(format!("{base}/cluster")),
            )
            .await?;
        let listed = cluster
            .members
            .iter()
            .find(|m| m.name == status.patroni.name);
        let postgres = listed.and_then(|m| Some(format!("{}:{}", m.host.as_deref()?, m.port?)));
        // the member list says `streaming` where the member's own status says `running`
        let state = listed
            .and_then(|m| m.state.as_deref())
            .unwrap_or(&status.state);
        Ok(PgMemberView {
            name: inert(&status.patroni.name, 80),
            role: role(&status.role),
            state: inert(state, 40),
            timeline: status.timeline,
            postgres,
            location: status.xlog.location,
            received: status.xlog.received_location,
            replayed: status.xlog.replayed_location,
            replayed_at: status
                .xlog
                .replayed_timestamp
                .as_deref()
                .and_then(replayed_at),
        })
    }

    async fn set_standby_cluster(
        &self,
        api: &str,
        upstream: Option<&PgUpstream>,
        auth: &PatroniAuth,
    ) -> Result<()> {
        let base = base(api)?;
        let standby = match upstream {
            // basebackup: a member that has to be rebuilt copies the upstream's data
            Some(u) => serde_json::json!({
                "host": u.host,
                "port": u.port,
                "create_replica_methods": ["basebackup"],
            }),
            None => serde_json::Value::Null,
        };
        let _config: serde_json::Value = self
            .exchange(
                "PATCH /config",
                &base,
                self.client
                    .patch(format!("{base}/config"))
                    .basic_auth(&auth.username, Some(auth.password.expose()))
                    .json(&serde_json::json!({ "standby_cluster": standby })),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
