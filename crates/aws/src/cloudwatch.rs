//! CloudWatch: replication lag, alarm corroboration, and the canary's health history.
//!
//! `aws-sdk-cloudwatch` is pinned to 1.99.0, the last release on the query protocol
//! (1.100+ speaks CBOR, which the emulator does not).

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::operation::get_metric_statistics::GetMetricStatisticsOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, StateValue, Statistic};
use lifeboat_core::failback::{HealthPoint, healthy_run};
use lifeboat_core::ports::{AlarmReader, HealthHistory, LagSample, ReplicationLagSource};
use lifeboat_core::trigger::AlarmState;
use lifeboat_core::{Error, Result};

use crate::config::Regional;
use crate::error::classify;

/// The metric Aurora publishes for a secondary cluster of a global database (milliseconds).
pub const LAG_METRIC: &str = "AuroraGlobalDBReplicationLag";
pub const RDS_NAMESPACE: &str = "AWS/RDS";
use lifeboat_core::metrics::{DIM_APP, DIM_PROBED_REGION};
/// health-probe's metric (from its EMF lines): 1 when every probe of the invocation passed.
pub use lifeboat_core::metrics::{
    NAMESPACE as LIFEBOAT_NAMESPACE, PRIMARY_HEALTHY as HEALTHY_METRIC,
};

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

impl CloudWatch {
    /// The metric or composite alarm named `alarm_name` (DescribeAlarms).
    async fn describe_alarm(
        &self,
        region: &str,
        alarm_name: &str,
    ) -> Result<aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput> {
        self.clients
            .get(region)?
            .describe_alarms()
            .alarm_names(alarm_name)
            .send()
            .await
            .map_err(|e| classify("DescribeAlarms", e))
    }

    /// One statistic of `namespace/metric` with these dimensions, per minute, over the last
    /// `lookback` (and the current minute), as of `now`.
    async fn per_minute(
        &self,
        region: &str,
        (namespace, metric): (&str, &str),
        dimensions: &[(&str, &str)],
        statistic: Statistic,
        lookback: Duration,
        now: SystemTime,
    ) -> Result<GetMetricStatisticsOutput> {
        let start = now
            .checked_sub(lookback)
            .ok_or_else(|| Error::internal("clock before the epoch"))?;
        let mut request = self
            .clients
            .get(region)?
            .get_metric_statistics()
            .namespace(namespace)
            .metric_name(metric);
        for (name, value) in dimensions {
            request = request.dimensions(Dimension::builder().name(*name).value(*value).build());
        }
        request
            .start_time(DateTime::from(start))
            .end_time(DateTime::from(now + Duration::from_secs(60)))
            .period(60)
            .statistics(statistic)
            .send()
            .await
            .map_err(|e| classify("GetMetricStatistics", e))
    }
}

impl ReplicationLagSource for CloudWatch {
    async fn replication_lag(&self, region: &str, cluster_id: &str) -> Result<Option<LagSample>> {
        let now = SystemTime::now();
        let out = self
            .per_minute(
                region,
                (RDS_NAMESPACE, LAG_METRIC),
                &[("DBClusterIdentifier", cluster_id)],
                Statistic::Maximum,
                self.lookback,
                now,
            )
            .await?;
        let latest = out
            .datapoints()
            .iter()
            .filter_map(|d| Some((d.timestamp()?.secs(), d.maximum()?)))
            .max_by_key(|(t, _)| *t);
        // A datapoint's timestamp is the start of its one-minute period: its age is counted from
        // the period's end.
        let now_secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(latest
            .filter(|(_, ms)| ms.is_finite() && *ms >= 0.0)
            .map(|(start, ms)| LagSample {
                // beyond what a duration holds: the longest (above any guard), not a panic
                lag: Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX),
                age: Duration::from_secs(
                    now_secs.saturating_sub(u64::try_from(start.saturating_add(60)).unwrap_or(0)),
                ),
            }))
    }
}

impl HealthHistory for CloudWatch {
    async fn healthy_for(
        &self,
        region: &str,
        app: &str,
        probed_region: &str,
        window: Duration,
    ) -> Result<Option<Duration>> {
        let now = SystemTime::now();
        let out = self
            .per_minute(
                region,
                (LIFEBOAT_NAMESPACE, HEALTHY_METRIC),
                &[(DIM_APP, app), (DIM_PROBED_REGION, probed_region)],
                Statistic::Minimum,
                window,
                now,
            )
            .await?;
        let points: Vec<HealthPoint> = out
            .datapoints()
            .iter()
            .filter_map(|d| {
                let at = time::OffsetDateTime::from_unix_timestamp(d.timestamp()?.secs()).ok()?;
                Some(HealthPoint {
                    at,
                    minimum: d.minimum()?,
                })
            })
            .collect();
        // The canary runs every minute: three minutes without a period means nothing is known.
        Ok(healthy_run(
            &points,
            time::OffsetDateTime::from(now),
            Duration::from_secs(180),
        ))
    }
}

impl AlarmReader for CloudWatch {
    async fn alarm_state(&self, region: &str, alarm_name: &str) -> Result<Option<AlarmState>> {
        let out = self.describe_alarm(region, alarm_name).await?;
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

    async fn muted(&self, region: &str, alarm_name: &str) -> Result<Option<String>> {
        let out = self.describe_alarm(region, alarm_name).await?;
        if out
            .metric_alarms()
            .iter()
            .any(|a| a.actions_enabled() == Some(false))
        {
            return Ok(Some(
                "its actions are disabled (DisableAlarmActions)".into(),
            ));
        }
        for a in out.composite_alarms() {
            if a.actions_enabled() == Some(false) {
                return Ok(Some(
                    "its actions are disabled (DisableAlarmActions)".into(),
                ));
            }
            if let Some(by) = a.actions_suppressed_by() {
                return Ok(Some(format!(
                    "its actions are suppressed ({})",
                    by.as_str()
                )));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
    use aws_sdk_cloudwatch::types::{Datapoint, MetricAlarm};
    use aws_smithy_mocks::{mock, mock_client};

    #[tokio::test]
    async fn health_history_reads_the_canary_metric_of_the_probed_region() {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let minute = move |ago: u64| i64::try_from((now / 60 - ago) * 60).expect("secs");
        let rule = mock!(Client::get_metric_statistics)
            .match_requests(|r| {
                r.metric_name() == Some(HEALTHY_METRIC)
                    && r.namespace() == Some(LIFEBOAT_NAMESPACE)
                    && r.dimensions()
                        .iter()
                        .any(|d| d.name() == Some("ProbedRegion") && d.value() == Some("us-east-1"))
                    && r.dimensions()
                        .iter()
                        .any(|d| d.name() == Some("App") && d.value() == Some("shop"))
                    && r.statistics() == [Statistic::Minimum]
            })
            .then_output(move || {
                let point = |ago: u64, min: f64| {
                    Datapoint::builder()
                        .timestamp(DateTime::from_secs(minute(ago)))
                        .minimum(min)
                        .build()
                };
                GetMetricStatisticsOutput::builder()
                    .datapoints(point(0, 1.0))
                    .datapoints(point(6, 0.0))
                    .datapoints(point(5, 1.0))
                    .datapoints(point(1, 1.0))
                    .build()
            });
        let cw = CloudWatch::from_client(mock_client!(aws_sdk_cloudwatch, [&rule]));
        let healthy = cw
            .healthy_for("us-west-2", "shop", "us-east-1", Duration::from_secs(900))
            .await
            .expect("history")
            .expect("healthy now");
        // healthy since the start of the period 5 minutes ago (the one after the failure)
        assert!(
            healthy >= Duration::from_secs(300) && healthy < Duration::from_secs(360),
            "{healthy:?}"
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn lag_is_the_latest_maximum_in_seconds_with_its_age_from_the_periods_end() {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        // the newest period began 4 minutes ago: it ended 3 minutes ago
        let newest = i64::try_from(now - 240).expect("time");
        let rule = mock!(Client::get_metric_statistics)
            .match_requests(|r| {
                r.metric_name() == Some(LAG_METRIC)
                    && r.namespace() == Some(RDS_NAMESPACE)
                    && r.dimensions()
                        .iter()
                        .any(|d| d.value() == Some("shop-usw2"))
            })
            .then_output(move || {
                GetMetricStatisticsOutput::builder()
                    .datapoints(
                        Datapoint::builder()
                            .timestamp(DateTime::from_secs(newest - 60))
                            .maximum(90_000.0)
                            .build(),
                    )
                    .datapoints(
                        Datapoint::builder()
                            .timestamp(DateTime::from_secs(newest))
                            .maximum(1_500.0)
                            .build(),
                    )
                    .build()
            });
        let cw = CloudWatch::from_client(mock_client!(aws_sdk_cloudwatch, [&rule]));
        let lag = cw
            .replication_lag("us-west-2", "shop-usw2")
            .await
            .expect("lag")
            .expect("a datapoint");
        assert_eq!(lag.lag, Duration::from_millis(1_500));
        assert!(lag.age.as_secs().abs_diff(180) <= 2, "{:?}", lag.age);
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
