//! Fakes: PostgreSQL under Patroni, one cluster per region, simulated as Patroni behaves: a
//! change of a cluster's `standby_cluster` is applied at its next loop ([`FakePatroni::tick`]),
//! and a standby cluster's leader receives its upstream's WAL at each loop.

use super::prelude::*;

/// One member: its region and what its REST API answers.
#[derive(Debug, Clone)]
pub struct FakePgMember {
    pub region: String,
    pub view: PgMemberView,
    /// Its timeline forked from the primary's (a fenced old primary): it no longer streams.
    pub diverged: bool,
}

/// Two regions' Patroni clusters, one member each (more can be added to `members`).
#[derive(Debug, Default)]
pub struct FakePatroni {
    /// Every member by its REST API URL.
    pub members: Mutex<BTreeMap<String, FakePgMember>>,
    /// `standby_cluster` as lifeboat last set it, per region, applied at the next tick.
    pub pending: Mutex<BTreeMap<String, Option<PgUpstream>>>,
    pub dark_regions: Mutex<BTreeSet<String>>,
    /// The REST API's password; a change with another is refused (401).
    pub password: Mutex<Option<String>>,
    /// Every configuration change: `<region> standby_cluster=<host:port>` / `<region> promoted`.
    pub changes: Mutex<Vec<String>>,
}

impl FakePatroni {
    /// The REST URL of `region`'s first member.
    pub fn api(region: &str) -> String {
        format!("http://pg1.{region}.test:8008")
    }

    /// `primary`'s cluster leads as primary at WAL position 1000; `standby`'s is a standby
    /// cluster whose leader has received and replayed all of it.
    pub fn new(primary: &str, standby: &str) -> Self {
        let member = |region: &str, role: PgRole| FakePgMember {
            region: region.to_string(),
            view: PgMemberView {
                name: format!("{region}-pg1"),
                state: if role == PgRole::Primary {
                    "running".into()
                } else {
                    "streaming".into()
                },
                location: (role == PgRole::Primary).then_some(1000),
                received: (role != PgRole::Primary).then_some(1000),
                replayed: (role != PgRole::Primary).then_some(1000),
                role,
                timeline: Some(1),
                postgres: Some(format!("pg1.{region}.test:5432")),
                replayed_at: None,
            },
            diverged: false,
        };
        let members = [
            (Self::api(primary), member(primary, PgRole::Primary)),
            (Self::api(standby), member(standby, PgRole::StandbyLeader)),
        ]
        .into_iter()
        .collect();
        Self {
            members: Mutex::new(members),
            password: Mutex::new(Some("rest-pw".into())),
            ..Self::default()
        }
    }

    pub fn go_dark(&self, region: &str) {
        self.dark_regions.lock().unwrap().insert(region.to_string());
    }

    /// `region` answers again, as it was when it went dark (an old primary is still one).
    pub fn come_back(&self, region: &str) {
        self.dark_regions.lock().unwrap().remove(region);
    }

    /// The worst night, as the fixtures of the fence and failback tests need it: `home` went
    /// dark, `writer`'s standby cluster was promoted past it (a failover with data loss, as
    /// lifeboat's rule makes it: `<writer> promoted`), and `home` came back as it was, a primary
    /// of its own on its old timeline: two primaries.
    pub fn failed_over_while_dark(&self, home: &str, writer: &str) {
        self.go_dark(home);
        self.changes
            .lock()
            .unwrap()
            .push(format!("{writer} promoted"));
        self.pending
            .lock()
            .unwrap()
            .insert(writer.to_string(), None);
        self.tick();
        self.come_back(home);
    }

    /// `region`'s primary crashed and its own Patroni promoted it again: a new timeline (as a
    /// crashed primary that restarts does, however many times).
    pub fn promoted_again(&self, region: &str) {
        for m in self.members.lock().unwrap().values_mut() {
            if m.region == region && m.view.role == PgRole::Primary {
                m.view.timeline = m.view.timeline.map(|t| t + 1);
            }
        }
    }

    /// The shop writes `bytes` of WAL on `region`'s primary (not yet received by the standby).
    pub fn write(&self, region: &str, bytes: u64) {
        for m in self.members.lock().unwrap().values_mut() {
            if m.region == region && m.view.role == PgRole::Primary {
                m.view.location = Some(m.view.location.unwrap_or(0) + bytes);
            }
        }
    }

    /// The standby leader's newest replayed transaction was committed at `at`.
    pub fn set_replayed_at(&self, region: &str, at: OffsetDateTime) {
        for m in self.members.lock().unwrap().values_mut() {
            if m.region == region {
                m.view.replayed_at = Some(at);
            }
        }
    }

    /// `region`'s leader as it answers (dark or not).
    pub fn leader(&self, region: &str) -> Option<PgMemberView> {
        self.members
            .lock()
            .unwrap()
            .values()
            .find(|m| m.region == region && m.view.leads())
            .map(|m| m.view.clone())
    }

    pub fn changes(&self) -> Vec<String> {
        self.changes.lock().unwrap().clone()
    }

    /// One Patroni loop in every region that is not dark: a pending `standby_cluster` is
    /// applied (a primary demoted, a standby cluster's leader promoted onto a new timeline),
    /// then each standby leader receives its upstream primary's WAL, unless its timeline forked.
    pub fn tick(&self) {
        let dark = self.dark_regions.lock().unwrap().clone();
        let mut pending = self.pending.lock().unwrap();
        let mut members = self.members.lock().unwrap();
        for (region, config) in pending.iter() {
            if dark.contains(region) {
                continue;
            }
            let primaries: Vec<(Option<u64>, Option<u64>)> = members
                .values()
                .filter(|m| m.region != *region && m.view.role == PgRole::Primary)
                .map(|m| (m.view.timeline, m.view.location))
                .collect();
            for m in members.values_mut().filter(|m| m.region == *region) {
                match (config, &m.view.role) {
                    (Some(_), PgRole::Primary) => {
                        // A primary demoted after the other region was promoted past it has
                        // forked: it follows, but does not stream (docs/plan.md, the rebuild).
                        m.diverged = primaries.iter().any(|(tl, _)| *tl > m.view.timeline);
                        m.view.role = PgRole::StandbyLeader;
                        m.view.received = m.view.location;
                        m.view.replayed = m.view.location;
                        m.view.location = None;
                    }
                    (None, PgRole::StandbyLeader) => {
                        m.view.role = PgRole::Primary;
                        m.view.location = m.view.position();
                        m.view.received = None;
                        m.view.replayed = None;
                        m.view.timeline = m.view.timeline.map(|t| t + 1);
                        m.view.state = "running".into();
                    }
                    _ => {}
                }
            }
        }
        pending.clear();
        let upstream: Option<(String, Option<u64>, Option<u64>)> = members
            .values()
            .find(|m| m.view.role == PgRole::Primary && !dark.contains(&m.region))
            .map(|m| (m.region.clone(), m.view.timeline, m.view.location));
        if let Some((region, timeline, location)) = upstream {
            for m in members.values_mut() {
                if m.region != region
                    && m.view.role == PgRole::StandbyLeader
                    && !m.diverged
                    && !dark.contains(&m.region)
                {
                    m.view.received = location;
                    m.view.replayed = location;
                    m.view.timeline = timeline;
                    m.view.state = "streaming".into();
                }
            }
        }
    }
}

impl PatroniClusters for FakePatroni {
    async fn member(&self, api: &str) -> Result<PgMemberView> {
        let m = self
            .members
            .lock()
            .unwrap()
            .get(api)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::Transient, format!("{api}: no such host")))?;
        reachable(&self.dark_regions, &m.region)?;
        Ok(m.view)
    }

    async fn set_standby_cluster(
        &self,
        api: &str,
        upstream: Option<&PgUpstream>,
        auth: &PatroniAuth,
    ) -> Result<()> {
        let region = self
            .members
            .lock()
            .unwrap()
            .get(api)
            .map(|m| m.region.clone())
            .ok_or_else(|| Error::new(ErrorKind::Transient, format!("{api}: no such host")))?;
        reachable(&self.dark_regions, &region)?;
        if let Some(pw) = self.password.lock().unwrap().as_deref()
            && auth.password.expose() != pw
        {
            return Err(Error::new(
                ErrorKind::AccessDenied,
                format!("Patroni PATCH /config at {api}: HTTP 401"),
            ));
        }
        self.changes.lock().unwrap().push(match upstream {
            Some(u) => format!("{region} standby_cluster={}:{}", u.host, u.port),
            None => format!("{region} promoted"),
        });
        self.pending
            .lock()
            .unwrap()
            .insert(region, upstream.cloned());
        Ok(())
    }
}

/// An example plan's YAML turned to `database.provider: patroni`: each region's cluster ARN
/// becomes its Patroni member ([`FakePatroni::api`]), Aurora's capacity and global cluster go,
/// and the REST API's credentials are named (`/lifeboat/<app>/patroni-password`).
pub fn plan_with_patroni(plan: &str) -> String {
    super::rewrite_database(
        plan,
        |region| format!("patroni: {{ members: [\"{}\"] }}", FakePatroni::api(region)),
        &[
            "provider: patroni".to_string(),
            "patroni: { username: lifeboat, password_parameter: /lifeboat/shop/patroni-password }"
                .to_string(),
        ],
    )
}
