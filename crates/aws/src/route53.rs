//! Route 53: record sets, change propagation and health checks (control plane in us-east-1),
//! and Route 53 ARC routing controls (data plane, through the cluster endpoints).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType,
};
use aws_sdk_route53recoverycluster::types::{RoutingControlState, UpdateRoutingControlStateEntry};
use lifeboat_core::plan::ArcClusterEndpoint;
use lifeboat_core::ports::{HealthChecks, RecordSets, RecordValue, RoutingControls};
use lifeboat_core::{Error, Result};

use crate::error::classify;

/// The region Route 53's control plane is signed for.
pub const ROUTE53_REGION: &str = "us-east-1";

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// A record name as Route 53 compares it: no trailing dot, lower case, `*` for its `\052`.
fn norm_name(name: &str) -> String {
    name.trim_end_matches('.')
        .replace("\\052", "*")
        .to_ascii_lowercase()
}

/// Where Route 53 lists a name: by its labels, last label first.
fn listing_key(name: &str) -> Vec<String> {
    norm_name(name).rsplit('.').map(str::to_string).collect()
}

/// Record sets per `ListResourceRecordSets` page (Route 53's maximum).
const LIST_PAGE: i32 = 300;
/// Pages [`Route53Adapter::read_records`] lists before it reads the rest one by one.
const LIST_PAGES: usize = 10;

fn record_value(name: &str, record_type: &str, set: &ResourceRecordSet) -> RecordValue {
    RecordValue {
        name: name.to_string(),
        record_type: record_type.to_string(),
        ttl: set
            .ttl()
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or_default(),
        values: set
            .resource_records()
            .iter()
            .map(|v| v.value().to_string())
            .collect(),
    }
}

fn built<T, E: std::fmt::Display>(what: &str, r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| Error::invalid_input(format!("{what}: {e}")))
}

/// [`RecordSets`] and [`HealthChecks`] over Route 53.
#[derive(Debug, Clone)]
pub struct Route53Adapter {
    client: aws_sdk_route53::Client,
}

impl Route53Adapter {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        let conf = aws_sdk_route53::config::Builder::from(base)
            .region(aws_config::Region::new(ROUTE53_REGION))
            .build();
        Self::from_client(aws_sdk_route53::Client::from_conf(conf))
    }

    pub fn from_client(client: aws_sdk_route53::Client) -> Self {
        Self { client }
    }
}

impl RecordSets for Route53Adapter {
    async fn read_record(
        &self,
        zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> Result<Option<RecordValue>> {
        let out = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .start_record_name(name)
            .start_record_type(RrType::from(record_type))
            .max_items(1)
            .send()
            .await
            .map_err(|e| classify("ListResourceRecordSets", e))?;
        let found = out
            .resource_record_sets()
            .iter()
            .find(|r| same_name(r.name(), name) && r.r#type().as_str() == record_type);
        Ok(found.map(|r| record_value(name, record_type, r)))
    }

    /// One listing of the zone instead of one call per record: Route 53 lists record sets in
    /// order (name with its labels reversed, then type), so the listing starts at the first
    /// wanted record and stops once past the last (at most [`LIST_PAGES`] pages of
    /// [`LIST_PAGE`]). A wanted record the listing did not show is read on its own.
    async fn read_records(
        &self,
        zone_id: &str,
        wanted: &[(String, String)],
    ) -> Result<Vec<Option<RecordValue>>> {
        let mut found: Vec<Option<RecordValue>> = vec![None; wanted.len()];
        let mut listed = vec![false; wanted.len()];
        let mut index: HashMap<(String, &str), Vec<usize>> = HashMap::new();
        for (i, (name, record_type)) in wanted.iter().enumerate() {
            index
                .entry((norm_name(name), record_type.as_str()))
                .or_default()
                .push(i);
        }
        let first = wanted.iter().min_by_key(|(name, _)| listing_key(name));
        let last = wanted.iter().map(|(name, _)| listing_key(name)).max();
        // A single record is read on its own: a listing would cost the same one call.
        let mut next = first
            .filter(|_| wanted.len() > 1)
            .map(|(name, _)| (name.clone(), None, None));
        let mut pages = 0;
        while let Some((start_name, start_type, start_id)) = next.take() {
            if pages == LIST_PAGES {
                break;
            }
            pages += 1;
            let out = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .start_record_name(start_name)
                .set_start_record_type(start_type)
                .set_start_record_identifier(start_id)
                .max_items(LIST_PAGE)
                .send()
                .await
                .map_err(|e| classify("ListResourceRecordSets", e))?;
            let mut past_last = false;
            for set in out.resource_record_sets() {
                let key = (norm_name(set.name()), set.r#type().as_str());
                for &i in index.get(&key).map(Vec::as_slice).unwrap_or_default() {
                    if !listed[i] {
                        listed[i] = true;
                        found[i] = Some(record_value(&wanted[i].0, &wanted[i].1, set));
                    }
                }
                past_last |= last.as_ref().is_some_and(|l| &listing_key(set.name()) > l);
            }
            if out.is_truncated() && !past_last && listed.iter().any(|l| !l) {
                next = out.next_record_name().map(|n| {
                    (
                        n.to_string(),
                        out.next_record_type().cloned(),
                        out.next_record_identifier().map(str::to_string),
                    )
                });
            }
        }
        for (i, (name, record_type)) in wanted.iter().enumerate() {
            if !listed[i] {
                found[i] = self.read_record(zone_id, name, record_type).await?;
            }
        }
        Ok(found)
    }

    async fn upsert(
        &self,
        zone_id: &str,
        records: &[RecordValue],
        comment: &str,
    ) -> Result<String> {
        let mut changes = Vec::with_capacity(records.len());
        for r in records {
            let mut set = ResourceRecordSet::builder()
                .name(&r.name)
                .r#type(RrType::from(r.record_type.as_str()))
                .ttl(i64::from(r.ttl));
            for v in &r.values {
                set = set.resource_records(built(
                    "resource record",
                    ResourceRecord::builder().value(v).build(),
                )?);
            }
            changes.push(built(
                "change",
                Change::builder()
                    .action(ChangeAction::Upsert)
                    .resource_record_set(built("record set", set.build())?)
                    .build(),
            )?);
        }
        let batch = built(
            "change batch",
            ChangeBatch::builder()
                .comment(comment)
                .set_changes(Some(changes))
                .build(),
        )?;
        let out = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| classify("ChangeResourceRecordSets", e))?;
        out.change_info()
            .map(|c| c.id().to_string())
            .ok_or_else(|| Error::internal("ChangeResourceRecordSets: no ChangeInfo in the answer"))
    }

    async fn change_in_sync(&self, change_id: &str) -> Result<bool> {
        let out = self
            .client
            .get_change()
            .id(change_id)
            .send()
            .await
            .map_err(|e| classify("GetChange", e))?;
        Ok(out.change_info().map(|c| c.status()) == Some(&ChangeStatus::Insync))
    }
}

impl HealthChecks for Route53Adapter {
    async fn inverted(&self, health_check_id: &str) -> Result<bool> {
        let out = self
            .client
            .get_health_check()
            .health_check_id(health_check_id)
            .send()
            .await
            .map_err(|e| classify("GetHealthCheck", e))?;
        Ok(out
            .health_check()
            .and_then(|h| h.health_check_config())
            .and_then(|c| c.inverted())
            .unwrap_or(false))
    }

    async fn set_inverted(&self, health_check_id: &str, inverted: bool) -> Result<()> {
        self.client
            .update_health_check()
            .health_check_id(health_check_id)
            .inverted(inverted)
            .send()
            .await
            .map_err(|e| classify("UpdateHealthCheck", e))?;
        Ok(())
    }
}

/// [`RoutingControls`] over Route 53 ARC: one client per cluster endpoint (signed for the
/// endpoint's own region), made on first use and kept.
#[derive(Debug, Clone)]
pub struct ArcAdapter {
    base: Option<Box<aws_config::SdkConfig>>,
    clients: Arc<Mutex<BTreeMap<String, aws_sdk_route53recoverycluster::Client>>>,
}

impl ArcAdapter {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        Self {
            base: Some(Box::new(base.clone())),
            clients: Arc::default(),
        }
    }

    /// Fixed clients by endpoint URL (tests with mocked clients); other endpoints are unknown.
    pub fn from_clients(
        clients: impl IntoIterator<Item = (String, aws_sdk_route53recoverycluster::Client)>,
    ) -> Self {
        Self {
            base: None,
            clients: Arc::new(Mutex::new(clients.into_iter().collect())),
        }
    }

    fn client(&self, ep: &ArcClusterEndpoint) -> Result<aws_sdk_route53recoverycluster::Client> {
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| Error::internal("ARC client cache poisoned"))?;
        if let Some(c) = clients.get(&ep.endpoint) {
            return Ok(c.clone());
        }
        let base = self.base.as_ref().ok_or_else(|| {
            Error::invalid_input(format!("no client for ARC endpoint {}", ep.endpoint))
        })?;
        // One attempt per endpoint: the cluster's five endpoints, tried in turn by dns-flip, are
        // the retry (as ARC's guide says: on an error, try another endpoint). SDK retries with
        // backoff against a dark region's endpoint would only delay the flip; a step that finds
        // every endpoint failing is retried by the state machine.
        let conf = aws_sdk_route53recoverycluster::config::Builder::from(base.as_ref())
            .region(aws_config::Region::new(ep.region.clone()))
            .endpoint_url(ep.endpoint.clone())
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
            .build();
        let client = aws_sdk_route53recoverycluster::Client::from_conf(conf);
        clients.insert(ep.endpoint.clone(), client.clone());
        Ok(client)
    }
}

impl RoutingControls for ArcAdapter {
    async fn state(
        &self,
        endpoint: &ArcClusterEndpoint,
        routing_control_arn: &str,
    ) -> Result<bool> {
        let out = self
            .client(endpoint)?
            .get_routing_control_state()
            .routing_control_arn(routing_control_arn)
            .send()
            .await
            .map_err(|e| classify("GetRoutingControlState", e))?;
        Ok(out.routing_control_state() == &RoutingControlState::On)
    }

    async fn update(&self, endpoint: &ArcClusterEndpoint, states: &[(String, bool)]) -> Result<()> {
        let mut entries = Vec::with_capacity(states.len());
        for (arn, on) in states {
            entries.push(built(
                "routing control entry",
                UpdateRoutingControlStateEntry::builder()
                    .routing_control_arn(arn)
                    .routing_control_state(if *on {
                        RoutingControlState::On
                    } else {
                        RoutingControlState::Off
                    })
                    .build(),
            )?);
        }
        self.client(endpoint)?
            .update_routing_control_states()
            .set_update_routing_control_state_entries(Some(entries))
            .send()
            .await
            .map_err(|e| classify("UpdateRoutingControlStates", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
