//! CloudWatch: replication lag and alarm corroboration.
//!
//! `aws-sdk-cloudwatch` is pinned to 1.99.0, the last release on the query protocol
//! (1.100+ speaks CBOR, which the emulator does not).

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, StateValue, Statistic};
use lifeboat_core::ports::{AlarmReader, ReplicationLagSource};
use lifeboat_core::trigger::AlarmState;
use lifeboat_core::{Error, Result};

use crate::config::Regional;
use crate::error::classify;

/// The metric Aurora publishes for a secondary cluster of a global database (milliseconds).
pub const LAG_METRIC: &str = "AuroraGlobalDBReplicationLag";
pub const RDS_NAMESPACE: &str = "AWS/RDS";

/// [`ReplicationLagSource`] and [`AlarmReader`] over CloudWatch.
#[derive(Debug, Clone)]
pub struct CloudWatch {
    clients: Regional<Client>,
    /// How far back to look for the latest lag datapoint.
    lookback: Duration,
}

impl CloudWatch {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        Self {
            clients: Regional::new(base, |c, r| {
                Client::from_conf(
                    aws_sdk_cloudwatch::config::Builder::from(c)
                        .region(r)
                        .build(),
                )
            }),
            lookback: Duration::from_secs(300),
        }
    }

    pub fn from_client(client: Client) -> Self {
        Self {
            clients: Regional::fixed(client),
            lookback: Duration::from_secs(300),
        }
    }
}

impl ReplicationLagSource for CloudWatch {
    async fn replication_lag(&self, region: &str, cluster_id: &str) -> Result<Option<Duration>> {
        let now = SystemTime::now();
        let start = now
            .checked_sub(self.lookback)
            .ok_or_else(|| Error::internal("clock before the epoch"))?;
        let out = self
            .clients
            .get(region)?
            .get_metric_statistics()
            .namespace(RDS_NAMESPACE)
            .metric_name(LAG_METRIC)
            .dimensions(
                Dimension::builder()
                    .name("DBClusterIdentifier")
                    .value(cluster_id)
                    .build(),
            )
            .start_time(DateTime::from(start))
            .end_time(DateTime::from(now + Duration::from_secs(60)))
            .period(60)
            .statistics(Statistic::Maximum)
            .send()
            .await
            .map_err(|e| classify("GetMetricStatistics", e))?;
        let latest = out
            .datapoints()
            .iter()
            .filter_map(|d| Some((d.timestamp()?.secs(), d.maximum()?)))
            .max_by_key(|(t, _)| *t);
        Ok(latest
            .map(|(_, ms)| ms)
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .map(|ms| Duration::from_secs_f64(ms / 1000.0)))
    }
}

impl AlarmReader for CloudWatch {
    async fn alarm_state(&self, region: &str, alarm_name: &str) -> Result<Option<AlarmState>> {
        let out = self
            .clients
            .get(region)?
            .describe_alarms()
            .alarm_names(alarm_name)
            .send()
            .await
            .map_err(|e| classify("DescribeAlarms", e))?;
        let state = out
            .metric_alarms()
            .iter()
            .filter_map(|a| a.state_value())
            .chain(
                out.composite_alarms()
                    .iter()
                    .filter_map(|a| a.state_value()),
            )
            .next();
        Ok(state.and_then(|s| match s {
            StateValue::Alarm => Some(AlarmState::Alarm),
            StateValue::Ok => Some(AlarmState::Ok),
            StateValue::InsufficientData => Some(AlarmState::InsufficientData),
            _ => None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
    use aws_sdk_cloudwatch::operation::get_metric_statistics::GetMetricStatisticsOutput;
    use aws_sdk_cloudwatch::types::{Datapoint, MetricAlarm};
    use aws_smithy_mocks::{mock, mock_client};

    #[tokio::test]
    async fn lag_is_the_latest_maximum_in_seconds() {
        let rule = mock!(Client::get_metric_statistics)
            .match_requests(|r| {
                r.metric_name() == Some(LAG_METRIC)
                    && r.namespace() == Some(RDS_NAMESPACE)
                    && r.dimensions()
                        .iter()
                        .any(|d| d.value() == Some("shop-usw2"))
            })
            .then_output(|| {
                GetMetricStatisticsOutput::builder()
                    .datapoints(
                        Datapoint::builder()
                            .timestamp(DateTime::from_secs(1_000))
                            .maximum(90_000.0)
                            .build(),
                    )
                    .datapoints(
                        Datapoint::builder()
                            .timestamp(DateTime::from_secs(1_060))
                            .maximum(1_500.0)
                            .build(),
                    )
                    .build()
            });
        let cw = CloudWatch::from_client(mock_client!(aws_sdk_cloudwatch, [&rule]));
        let lag = cw
            .replication_lag("us-west-2", "shop-usw2")
            .await
            .expect("lag");
        assert_eq!(lag, Some(Duration::from_millis(1_500)));
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn no_datapoint_means_unknown_lag() {
        let rule = mock!(Client::get_metric_statistics)
            .then_output(|| GetMetricStatisticsOutput::builder().build());
        let cw = CloudWatch::from_client(mock_client!(aws_sdk_cloudwatch, [&rule]));
        assert_eq!(
            cw.replication_lag("us-west-2", "x").await.expect("ok"),
            None
        );
    }

    #[tokio::test]
    async fn alarm_state_is_read_back() {
        let rule = mock!(Client::describe_alarms)
            .match_requests(|r| r.alarm_names() == ["primary-down"])
            .then_output(|| {
                DescribeAlarmsOutput::builder()
                    .metric_alarms(
                        MetricAlarm::builder()
                            .alarm_name("primary-down")
                            .state_value(StateValue::Ok)
                            .build(),
                    )
                    .build()
            });
        let cw = CloudWatch::from_client(mock_client!(aws_sdk_cloudwatch, [&rule]));
        let state = cw
            .alarm_state("us-west-2", "primary-down")
            .await
            .expect("ok");
        assert_eq!(state, Some(AlarmState::Ok));
    }
}
