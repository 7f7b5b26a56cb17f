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

/// A DNS provider with a record per value (DigitalOcean's model): records by domain, the
/// token it accepts, every request in order, errors to answer by request number, and (to test the
/// read-back) writes it answers but does not keep.
#[derive(Debug)]
pub struct FakeDomainRecords {
    pub token: String,
    pub records: Mutex<BTreeMap<String, Vec<DomainRecord>>>,
    /// `create www.shop.example.com A 198.51.100.20`, `update 7 …`, `delete 7`, `list …`.
    pub requests: Mutex<Vec<String>>,
    /// Request number (1-based, lists included) → the error it is answered with.
    pub fail_request: Mutex<BTreeMap<usize, ErrorKind>>,
    pub drop_writes: Mutex<bool>,
    next_id: Mutex<u64>,
}

impl FakeDomainRecords {
    pub fn new(token: &str) -> Self {
        Self {
            token: token.into(),
            records: Mutex::default(),
            requests: Mutex::default(),
            fail_request: Mutex::default(),
            drop_writes: Mutex::new(false),
            next_id: Mutex::new(100),
        }
    }

    pub fn put(&self, domain: &str, name: &str, record_type: &str, ttl: u32, value: &str) {
        let id = self.id();
        self.records
            .lock()
            .unwrap()
            .entry(domain.into())
            .or_default()
            .push(DomainRecord {
                id,
                data: RecordData {
                    name: name.into(),
                    record_type: record_type.into(),
                    ttl,
                    value: value.into(),
                },
            });
    }

    /// The values of a set, sorted.
    pub fn values(&self, domain: &str, name: &str, record_type: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .records
            .lock()
            .unwrap()
            .get(domain)
            .into_iter()
            .flatten()
            .filter(|r| r.data.name == name && r.data.record_type == record_type)
            .map(|r| r.data.value.clone())
            .collect();
        v.sort();
        v
    }

    /// Requests other than lists.
    pub fn writes(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| !r.starts_with("list"))
            .cloned()
            .collect()
    }

    fn id(&self) -> String {
        let mut n = self.next_id.lock().unwrap();
        *n += 1;
        n.to_string()
    }

    fn enter(&self, token: &Secret, request: String) -> Result<()> {
        if token.expose() != self.token {
            return Err(Error::new(
                ErrorKind::AccessDenied,
                "HTTP 401: Unable to authenticate you",
            ));
        }
        let n = {
            let mut requests = self.requests.lock().unwrap();
            requests.push(request);
            requests.len()
        };
        if let Some(kind) = self.fail_request.lock().unwrap().remove(&n) {
            return Err(Error::new(kind, format!("provider answered {kind}")));
        }
        Ok(())
    }

    fn keeps_writes(&self) -> bool {
        !*self.drop_writes.lock().unwrap()
    }
}

impl DomainRecords for FakeDomainRecords {
    async fn list(
        &self,
        token: &Secret,
        domain: &str,
        name: &str,
        record_type: &str,
    ) -> Result<Vec<DomainRecord>> {
        self.enter(token, format!("list {name} {record_type}"))?;
        let name = name.trim_end_matches('.');
        let records = self.records.lock().unwrap();
        let found = records
            .get(domain)
            .ok_or_else(|| Error::not_found(format!("domain {domain}")))?;
        Ok(found
            .iter()
            .filter(|r| r.data.name == name && r.data.record_type == record_type)
            .cloned()
            .collect())
    }

    async fn create(
        &self,
        token: &Secret,
        domain: &str,
        record: &RecordData,
    ) -> Result<DomainRecord> {
        self.enter(
            token,
            format!(
                "create {} {} {}",
                record.name, record.record_type, record.value
            ),
        )?;
        let made = DomainRecord {
            id: self.id(),
            data: record.clone(),
        };
        if self.keeps_writes() {
            self.records
                .lock()
                .unwrap()
                .entry(domain.into())
                .or_default()
                .push(made.clone());
        }
        Ok(made)
    }

    async fn update(
        &self,
        token: &Secret,
        domain: &str,
        id: &str,
        record: &RecordData,
    ) -> Result<DomainRecord> {
        self.enter(token, format!("update {id} {}", record.value))?;
        let mut records = self.records.lock().unwrap();
        let held = records
            .get_mut(domain)
            .and_then(|rs| rs.iter_mut().find(|r| r.id == id))
            .ok_or_else(|| Error::not_found(format!("record {id}")))?;
        let updated = DomainRecord {
            id: id.into(),
            data: record.clone(),
        };
        if self.keeps_writes() {
            *held = updated.clone();
        }
        Ok(updated)
    }

    async fn delete(&self, token: &Secret, domain: &str, id: &str) -> Result<()> {
        self.enter(token, format!("delete {id}"))?;
        if self.keeps_writes() {
            let mut records = self.records.lock().unwrap();
            if let Some(rs) = records.get_mut(domain) {
                rs.retain(|r| r.id != id);
            }
        }
        Ok(())
    }
}
