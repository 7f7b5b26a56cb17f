//! Alertmanager's webhook (payload version 4) as lifeboat reads it, and which of its alerts the
//! plan acts on.
//!
//! Alertmanager posts one notification per alert group: the group's `status` (`firing` while
//! any of its alerts fires), its `groupKey`, and its alerts, each `firing` or `resolved` with its
//! labels and `startsAt`. It re-sends the group every `repeat_interval` while it fires, and when
//! the group changes; silenced and inhibited alerts are never sent. lifeboat acts on a firing
//! alert whose `alertname` and labels match one of the plan's rules; the trigger's time is the
//! earliest such alert's `startsAt`, so every notification of one outage names the same run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Error;
use crate::plan::AlertRule;
use crate::text::inert;

/// The only payload version lifeboat reads (Alertmanager 0.x sends "4").
pub const PAYLOAD_VERSION: &str = "4";
/// The largest body lifeboat reads; Alertmanager's `max_alerts` keeps real ones far smaller.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// At most this many alerts of one notification are looked at.
pub const MAX_ALERTS: usize = 500;

/// A notification's or an alert's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// One alert of a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub status: AlertStatus,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt", with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(default)]
    pub fingerprint: String,
}

impl Alert {
    pub fn alertname(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }

    /// Whether `rule` names this alert: its alertname, and every label the rule sets with the
    /// rule's value.
    pub fn matches(&self, rule: &AlertRule) -> bool {
        self.alertname() == rule.alertname
            && rule
                .labels
                .iter()
                .all(|(k, v)| self.labels.get(k).is_some_and(|have| have == v))
    }
}

/// A webhook notification, as Alertmanager sends it (the fields lifeboat reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub version: String,
    #[serde(rename = "groupKey")]
    pub group_key: String,
    pub status: AlertStatus,
    #[serde(default)]
    pub receiver: String,
    pub alerts: Vec<Alert>,
    #[serde(rename = "truncatedAlerts", default)]
    pub truncated_alerts: u64,
}

/// Read a notification's body: JSON of payload version 4, at most [`MAX_BODY_BYTES`] and
/// [`MAX_ALERTS`] alerts. Anything else is `InvalidInput`, saying what is wrong (bounded).
pub fn parse(body: &[u8]) -> Result<Notification, Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::invalid_input(format!(
            "the notification is {} bytes, more than the {MAX_BODY_BYTES} lifeboat reads",
            body.len()
        )));
    }
    let n: Notification = serde_json::from_slice(body).map_err(|e| {
        Error::invalid_input(format!(
            "not an Alertmanager notification: {}",
            inert(&e.to_string(), 200)
        ))
    })?;
    if n.version != PAYLOAD_VERSION {
        return Err(Error::invalid_input(format!(
            "Alertmanager payload version '{}', lifeboat reads version {PAYLOAD_VERSION}",
            inert(&n.version, 20)
        )));
    }
    if n.alerts.len() > MAX_ALERTS {
        return Err(Error::invalid_input(format!(
            "{} alerts in one notification, more than the {MAX_ALERTS} lifeboat reads (set max_alerts on the receiver)",
            n.alerts.len()
        )));
    }
    Ok(n)
}

/// The firing alerts a rule names, with the rule: the earliest first.
pub fn firing_matches<'a>(
    n: &'a Notification,
    rules: &'a [AlertRule],
) -> Vec<(&'a Alert, &'a AlertRule)> {
    let mut out: Vec<(&Alert, &AlertRule)> = n
        .alerts
        .iter()
        .filter(|a| a.status == AlertStatus::Firing)
        .filter_map(|a| rules.iter().find(|r| a.matches(r)).map(|r| (a, r)))
        .collect();
    out.sort_by_key(|(a, _)| a.starts_at);
    out
}

/// An alert as a person reads it: `PrimaryDown{region="nyc3", severity="critical"}`, inert and
/// bounded.
pub fn describe(alert: &Alert) -> String {
    let labels: Vec<String> = alert
        .labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname")
        .take(8)
        .map(|(k, v)| format!("{}=\"{}\"", inert(k, 40), inert(v, 80)))
        .collect();
    crate::text::bounded(
        &format!("{}{{{}}}", inert(alert.alertname(), 80), labels.join(", ")),
        400,
    )
}

#[cfg(test)]
mod tests;
