//! Fakes: Time.

use super::prelude::*;

/// A clock that says what it is told.
#[derive(Debug)]
pub struct FixedClock {
    pub now: Mutex<OffsetDateTime>,
}

impl FixedClock {
    pub fn at(t: OffsetDateTime) -> Self {
        Self { now: Mutex::new(t) }
    }

    pub fn advance(&self, by: time::Duration) {
        *self.now.lock().unwrap() += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap()
    }
}
