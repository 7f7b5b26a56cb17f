//! S3: a bucket's versioning and replication rules (readiness reads them, never writes).

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{BucketVersioningStatus, ReplicationRuleStatus};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lifeboat_core::ports::{BucketView, Buckets};
use lifeboat_core::{ErrorKind, Result};

use crate::config::Regional;
use crate::error::classify;

/// [`Buckets`] over S3, reading each bucket through its own region.
#[derive(Debug, Clone)]
pub struct S3Buckets {
    clients: Regional<Client>,
}

impl S3Buckets {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        Self {
            clients: Regional::new(base, |c, r| {
                // Path-style addressing: bucket names with dots, and the emulator on 127.0.0.1.
                Client::from_conf(
                    aws_sdk_s3::config::Builder::from(c)
                        .region(r)
                        .force_path_style(true)
                        .build(),
                )
            }),
        }
    }

    pub fn from_client(client: Client) -> Self {
        Self {
            clients: Regional::fixed(client),
        }
    }
}

/// The bucket name of a replication destination (`arn:aws:s3:::name` or a bare name).
pub fn destination_bucket(arn: &str) -> &str {
    arn.strip_prefix("arn:aws:s3:::")
        .or_else(|| arn.rsplit_once(":::").map(|(_, n)| n))
        .unwrap_or(arn)
}

impl Buckets for S3Buckets {
    async fn describe_bucket(&self, region: &str, name: &str) -> Result<Option<BucketView>> {
        let client = self.clients.get(region)?;
        let versioning = match client.get_bucket_versioning().bucket(name).send().await {
            Ok(out) => out,
            Err(e) => {
                let err = classify("GetBucketVersioning", e);
                return if err.kind() == ErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let replicates_to = match client.get_bucket_replication().bucket(name).send().await {
            Ok(out) => out
                .replication_configuration()
                .map(|c| {
                    c.rules()
                        .iter()
                        .filter(|r| r.status() == &ReplicationRuleStatus::Enabled)
                        .filter_map(|r| r.destination().map(|d| d.bucket()))
                        .map(|b| destination_bucket(b).to_string())
                        .collect()
                })
                .unwrap_or_default(),
            // No replication configuration is an answer, not a failure.
            Err(e)
                if e.as_service_error().and_then(|s| s.code())
                    == Some("ReplicationConfigurationNotFoundError") =>
            {
                Vec::new()
            }
            Err(e) => return Err(classify("GetBucketReplication", e)),
        };
        Ok(Some(BucketView {
            name: name.to_string(),
            versioning_enabled: versioning.status() == Some(&BucketVersioningStatus::Enabled),
            replicates_to,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_names_come_from_bucket_arns() {
        assert_eq!(
            destination_bucket("arn:aws:s3:::shop-media-usw2"),
            "shop-media-usw2"
        );
        assert_eq!(
            destination_bucket("arn:aws-cn:s3:::shop-media"),
            "shop-media"
        );
        assert_eq!(destination_bucket("plain"), "plain");
    }
}
