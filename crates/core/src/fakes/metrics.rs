//! Fakes: What CloudWatch holds for lifeboat: the canary's health history, alarm states.

use super::prelude::*;

/// How long each probed region has been healthy (`None`: failing or no history).
#[derive(Debug, Default)]
pub struct FakeHealthHistory {
    /// By probed region.
    pub healthy_for: Mutex<BTreeMap<String, Option<Duration>>>,
}

impl FakeHealthHistory {
    pub fn set(&self, probed_region: &str, healthy_for: Option<Duration>) {
        self.healthy_for
            .lock()
            .unwrap()
            .insert(probed_region.to_string(), healthy_for);
    }
}

impl HealthHistory for FakeHealthHistory {
    async fn healthy_for(
        &self,
        _region: &str,
        _app: &str,
        probed_region: &str,
        window: Duration,
    ) -> Result<Option<Duration>> {
        let seen = self
            .healthy_for
            .lock()
            .unwrap()
            .get(probed_region)
            .copied()
            .flatten();
        Ok(seen.map(|d| d.min(window)))
    }
}

/// Alarm states by name.
#[derive(Debug, Default)]
pub struct FakeAlarms {
    /// State by alarm name.
    pub states: Mutex<BTreeMap<String, AlarmState>>,
    /// Why a person muted the alarm's actions, by alarm name.
    pub muted: Mutex<BTreeMap<String, String>>,
}

impl FakeAlarms {
    pub fn set(&self, name: &str, state: AlarmState) {
        self.states.lock().unwrap().insert(name.to_string(), state);
    }

    /// A person muted the alarm's actions (`why`).
    pub fn mute(&self, name: &str, why: &str) {
        self.muted
            .lock()
            .unwrap()
            .insert(name.to_string(), why.to_string());
    }
}

impl AlarmReader for FakeAlarms {
    async fn alarm_state(&self, _region: &str, name: &str) -> Result<Option<AlarmState>> {
        Ok(self.states.lock().unwrap().get(name).copied())
    }

    async fn muted(&self, _region: &str, name: &str) -> Result<Option<String>> {
        Ok(self.muted.lock().unwrap().get(name).cloned())
    }
}
