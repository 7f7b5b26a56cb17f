//! Fakes: S3 buckets, as readiness reads them.

use super::prelude::*;

/// Buckets by (region, name).
#[derive(Debug, Default)]
pub struct FakeBuckets {
    /// By (region, name).
    pub buckets: Mutex<BTreeMap<(String, String), BucketView>>,
}

impl FakeBuckets {
    pub fn add(&self, region: &str, name: &str, versioning_enabled: bool, replicates_to: &[&str]) {
        self.buckets.lock().unwrap().insert(
            (region.into(), name.into()),
            BucketView {
                name: name.into(),
                versioning_enabled,
                replicates_to: replicates_to.iter().map(|s| s.to_string()).collect(),
            },
        );
    }
}

impl Buckets for FakeBuckets {
    async fn describe_bucket(&self, region: &str, name: &str) -> Result<Option<BucketView>> {
        Ok(self
            .buckets
            .lock()
            .unwrap()
            .get(&(region.to_string(), name.to_string()))
            .cloned())
    }
}
