//! Fakes: Route 53 records and health checks, ARC routing controls.

use super::prelude::*;

/// A change batch of record upserts in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub zone: String,
    pub records: Vec<RecordValue>,
}

/// Route 53 zones: records by (zone, name, type), change batches, and `GetChange` answers
/// that become INSYNC after `polls_until_sync` polls.
#[derive(Debug, Default)]
pub struct FakeRecords {
    pub records: Mutex<BTreeMap<(String, String, String), RecordValue>>,
    /// Every change batch, in order.
    pub batches: Mutex<Vec<Batch>>,
    pub polls: Mutex<BTreeMap<String, u32>>,
    pub polls_until_sync: Mutex<u32>,
}

impl FakeRecords {
    pub fn put(&self, zone: &str, record: RecordValue) {
        self.records.lock().unwrap().insert(
            (zone.into(), record.name.clone(), record.record_type.clone()),
            record,
        );
    }

    pub fn get(&self, zone: &str, name: &str, record_type: &str) -> Option<RecordValue> {
        self.records
            .lock()
            .unwrap()
            .get(&(zone.into(), name.into(), record_type.into()))
            .cloned()
    }

    pub fn batches(&self) -> Vec<Batch> {
        self.batches.lock().unwrap().clone()
    }
}

impl RecordSets for FakeRecords {
    async fn read_record(
        &self,
        zone: &str,
        name: &str,
        record_type: &str,
    ) -> Result<Option<RecordValue>> {
        Ok(self.get(zone, name, record_type))
    }

    async fn upsert(&self, zone: &str, records: &[RecordValue], _comment: &str) -> Result<String> {
        for r in records {
            self.put(zone, r.clone());
        }
        let mut batches = self.batches.lock().unwrap();
        batches.push(Batch {
            zone: zone.to_string(),
            records: records.to_vec(),
        });
        let id = format!("/change/C{}", batches.len());
        self.polls.lock().unwrap().insert(id.clone(), 0);
        Ok(id)
    }

    async fn change_in_sync(&self, change_id: &str) -> Result<bool> {
        let until = *self.polls_until_sync.lock().unwrap();
        let mut polls = self.polls.lock().unwrap();
        let n = polls
            .get_mut(change_id)
            .ok_or_else(|| Error::not_found(format!("NoSuchChange: {change_id}")))?;
        *n += 1;
        Ok(*n > until)
    }
}

/// Health checks: inverted flag by id.
#[derive(Debug, Default)]
pub struct FakeHealthChecks {
    /// Whether each health check (by id) is inverted.
    pub inverted: Mutex<BTreeMap<String, bool>>,
}

impl FakeHealthChecks {
    pub fn add(&self, id: &str, inverted: bool) {
        self.inverted.lock().unwrap().insert(id.into(), inverted);
    }

    pub fn is_inverted(&self, id: &str) -> Option<bool> {
        self.inverted.lock().unwrap().get(id).copied()
    }
}

impl HealthChecks for FakeHealthChecks {
    async fn inverted(&self, id: &str) -> Result<bool> {
        self.is_inverted(id)
            .ok_or_else(|| Error::not_found(format!("NoSuchHealthCheck: {id}")))
    }

    async fn set_inverted(&self, id: &str, inverted: bool) -> Result<()> {
        let mut all = self.inverted.lock().unwrap();
        let v = all
            .get_mut(id)
            .ok_or_else(|| Error::not_found(format!("NoSuchHealthCheck: {id}")))?;
        *v = inverted;
        Ok(())
    }
}

/// Routing controls; endpoints (by URL) in `failing` answer with a transient error.
#[derive(Debug, Default)]
pub struct FakeRoutingControls {
    pub states: Mutex<BTreeMap<String, bool>>,
    pub failing: Mutex<BTreeSet<String>>,
    /// Every call: `state <endpoint>` / `update <endpoint>`.
    pub calls: Mutex<Vec<String>>,
}

impl FakeRoutingControls {
    pub fn new(states: &[(&str, bool)]) -> Self {
        Self {
            states: Mutex::new(states.iter().map(|(a, s)| (a.to_string(), *s)).collect()),
            ..Self::default()
        }
    }

    pub fn fail_endpoint(&self, endpoint: &str) {
        self.failing.lock().unwrap().insert(endpoint.to_string());
    }

    pub fn get(&self, arn: &str) -> Option<bool> {
        self.states.lock().unwrap().get(arn).copied()
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn reach(&self, what: &str, endpoint: &crate::plan::ArcClusterEndpoint) -> Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("{what} {}", endpoint.endpoint));
        if self.failing.lock().unwrap().contains(&endpoint.endpoint) {
            return Err(Error::new(
                ErrorKind::Transient,
                format!("{}: timed out", endpoint.endpoint),
            ));
        }
        Ok(())
    }
}

impl RoutingControls for FakeRoutingControls {
    async fn state(&self, endpoint: &crate::plan::ArcClusterEndpoint, arn: &str) -> Result<bool> {
        self.reach("state", endpoint)?;
        self.get(arn)
            .ok_or_else(|| Error::not_found(format!("ResourceNotFoundException: {arn}")))
    }

    async fn update(
        &self,
        endpoint: &crate::plan::ArcClusterEndpoint,
        states: &[(String, bool)],
    ) -> Result<()> {
        self.reach("update", endpoint)?;
        let mut all = self.states.lock().unwrap();
        for (arn, _) in states {
            if !all.contains_key(arn) {
                return Err(Error::not_found(format!(
                    "ResourceNotFoundException: {arn}"
                )));
            }
        }
        for (arn, on) in states {
            all.insert(arn.clone(), *on);
        }
        Ok(())
    }
}
