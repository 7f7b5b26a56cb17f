//! The one `SdkConfig` builder.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudwatch::config::SharedCredentialsProvider;
use aws_smithy_types::retry::RetrySpec;
use lifeboat_core::plan::is_region_name;
use lifeboat_core::{Error, Result};

/// How lifeboat talks to AWS. Retries are the SDK's standard retry strategy (exponential
/// backoff with jitter, throttling-aware); timeouts bound every call so a dark region cannot
/// hang a function.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// Send every request here instead of AWS (the emulator); `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// Attempts per call, including the first (`LIFEBOAT_AWS_MAX_ATTEMPTS`, default 3).
    pub max_attempts: u32,
    /// TCP/TLS connect timeout (`LIFEBOAT_AWS_CONNECT_TIMEOUT_MS`, default 3000).
    pub connect_timeout: Duration,
    /// One attempt (`LIFEBOAT_AWS_ATTEMPT_TIMEOUT_MS`, default 10000).
    pub attempt_timeout: Duration,
    /// A whole call including retries (`LIFEBOAT_AWS_OPERATION_TIMEOUT_MS`, default 25000).
    pub operation_timeout: Duration,
    /// Credentials to use instead of the default chain (tests).
    pub credentials: Option<SharedCredentialsProvider>,
    /// A named profile of the shared config files (the CLI's `--profile`); `None`: the default
    /// chain (`AWS_PROFILE`, environment, SSO, instance or task role).
    pub profile: Option<String>,
    /// How long the primary's database may take to answer before it counts as dark
    /// (`LIFEBOAT_PROBE_TIMEOUT_MS`, default 2000, at most 30000): bounds
    /// [`crate::rds::RdsGlobalDatabase`]'s probes of a cluster and its endpoint.
    pub probe_timeout: Duration,
}

/// The default of [`AwsSettings::probe_timeout`].
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_millis(2_000);

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            max_attempts: 3,
            connect_timeout: Duration::from_millis(3_000),
            attempt_timeout: Duration::from_millis(10_000),
            operation_timeout: Duration::from_millis(25_000),
            credentials: None,
            profile: None,
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
        }
    }
}

impl AwsSettings {
    /// Read the settings from the environment (see the field docs for the variables).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read the settings through `lookup` (testable without touching the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let d = Self::default();
        let ms_up_to = |name: &str, default: Duration, max: u64| -> Result<Duration> {
            match lookup(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .map(Duration::from_millis)
                    .ok_or_else(|| {
                        Error::invalid_input(format!("{name} must be milliseconds in 1..={max}"))
                    }),
            }
        };
        let ms = |name: &str, default: Duration| ms_up_to(name, default, 900_000);
        let max_attempts = match lookup("LIFEBOAT_AWS_MAX_ATTEMPTS") {
            None => d.max_attempts,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=10).contains(n))
                .ok_or_else(|| Error::invalid_input("LIFEBOAT_AWS_MAX_ATTEMPTS must be 1..=10"))?,
        };
        Ok(Self {
            endpoint_url: lookup("AWS_ENDPOINT_URL").filter(|u| !u.trim().is_empty()),
            max_attempts,
            connect_timeout: ms("LIFEBOAT_AWS_CONNECT_TIMEOUT_MS", d.connect_timeout)?,
            attempt_timeout: ms("LIFEBOAT_AWS_ATTEMPT_TIMEOUT_MS", d.attempt_timeout)?,
            operation_timeout: ms("LIFEBOAT_AWS_OPERATION_TIMEOUT_MS", d.operation_timeout)?,
            credentials: None,
            profile: None,
            probe_timeout: ms_up_to("LIFEBOAT_PROBE_TIMEOUT_MS", d.probe_timeout, 30_000)?,
        })
    }

    /// The standard retry strategy with AWS's 2026 retry behaviour (Retry Behavior 2.1, what
    /// `AWS_NEW_RETRIES_2026=true` selects; the SDK ignores that variable once a retry config
    /// is set, as here): a transient error (a 5xx, a dropped connection) is retried after a
    /// jittered backoff from a 50 ms base, throttling from 1 s. The legacy 1 s base for both
    /// made every call to a dark region that answers 503 wait up to a second before its retry,
    /// one call after another on a failover's critical path (measured: 0.3-1 s per call in
    /// alarm-to-failover, Assess and the promotion's start).
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_retry_spec(RetrySpec::v2_1())
    }

    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.operation_timeout)
            .build()
    }

    /// Build the shared `SdkConfig` (home region `region`). Call once, at init.
    pub async fn load(&self, region: &str) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(self.retry_config())
            .timeout_config(self.timeout_config());
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url.clone());
        }
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(creds) = &self.credentials {
            loader = loader.credentials_provider(creds.clone());
        }
        loader.load().await
    }
}

/// One client per region, all built from one `SdkConfig` (sharing its HTTP client and
/// credentials), each created on first use and then reused.
pub struct Regional<C> {
    source: Source<C>,
    clients: Arc<Mutex<BTreeMap<String, C>>>,
}

#[derive(Clone)]
enum Source<C> {
    Build {
        base: Box<SdkConfig>,
        make: fn(&SdkConfig, Region) -> C,
    },
    /// One ready client for every region (mocked clients in adapter tests).
    Fixed(C),
}

impl<C> std::fmt::Debug for Regional<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let home = match &self.source {
            Source::Build { base, .. } => base.region().map(|r| r.to_string()),
            Source::Fixed(_) => None,
        };
        f.debug_struct("Regional")
            .field("home", &home)
            .finish_non_exhaustive()
    }
}

impl<C: Clone> Regional<C> {
    /// `make` builds a client for a region from the shared config, e.g.
    /// `|c, r| aws_sdk_rds::Client::from_conf(aws_sdk_rds::config::Builder::from(c).region(r).build())`.
    pub fn new(base: &SdkConfig, make: fn(&SdkConfig, Region) -> C) -> Self {
        Self {
            source: Source::Build {
                base: Box::new(base.clone()),
                make,
            },
            clients: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// Use `client` for every region.
    pub fn fixed(client: C) -> Self {
        Self {
            source: Source::Fixed(client),
            clients: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// The client for `region`.
    pub fn get(&self, region: &str) -> Result<C> {
        if !is_region_name(region) {
            return Err(Error::invalid_input(format!(
                "'{region}' is not a region name"
            )));
        }
        let (base, make) = match &self.source {
            Source::Fixed(c) => return Ok(c.clone()),
            Source::Build { base, make } => (base, make),
        };
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| Error::internal("regional client cache poisoned"))?;
        let client = clients
            .entry(region.to_string())
            .or_insert_with(|| make(base, Region::new(region.to_string())));
        Ok(client.clone())
    }
}

impl<C: Clone> Clone for Regional<C> {
    fn clone(&self) -> Self {
        Self {
            source: self.source.clone(),
            clients: Arc::clone(&self.clients),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_environment_with_bounds() {
        let s = AwsSettings::from_lookup(|k| match k {
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:5000".into()),
            "LIFEBOAT_AWS_MAX_ATTEMPTS" => Some("1".into()),
            "LIFEBOAT_AWS_ATTEMPT_TIMEOUT_MS" => Some("1500".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(s.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(s.max_attempts, 1);
        assert_eq!(s.attempt_timeout, Duration::from_millis(1500));
        assert_eq!(s.connect_timeout, Duration::from_millis(3000));

        for (k, v) in [
            ("LIFEBOAT_AWS_MAX_ATTEMPTS", "0"),
            ("LIFEBOAT_AWS_MAX_ATTEMPTS", "many"),
            ("LIFEBOAT_AWS_CONNECT_TIMEOUT_MS", "-5"),
            ("LIFEBOAT_AWS_OPERATION_TIMEOUT_MS", "0"),
        ] {
            let err = AwsSettings::from_lookup(|name| (name == k).then(|| v.to_string()))
                .expect_err("out of bounds");
            assert_eq!(err.kind(), lifeboat_core::ErrorKind::InvalidInput);
            assert!(err.to_string().contains(k), "{err}");
        }
    }

    #[tokio::test]
    async fn transient_errors_back_off_from_50_ms_and_throttling_from_1_s() {
        let settings = AwsSettings::default();
        let spec = RetrySpec::v2_1();
        assert_eq!(
            spec.non_throttling_initial_backoff(),
            Duration::from_millis(50)
        );
        let retry = settings.retry_config();
        assert_eq!(retry.retry_spec(), Some(&spec));
        assert_eq!(
            retry.initial_backoff(),
            Duration::from_secs(1),
            "throttling's base"
        );
        assert_eq!(retry.max_attempts(), 3);
        // what every client is built from carries it
        let loaded = settings.load("us-west-2").await;
        assert_eq!(
            loaded.retry_config().and_then(|r| r.retry_spec()),
            Some(&spec)
        );
    }

    #[tokio::test]
    async fn regional_clients_are_made_once_per_region_and_refuse_bad_names() {
        let base = AwsSettings::default().load("us-west-2").await;
        let regional = Regional::new(&base, |c, r| {
            aws_sdk_ssm::Client::from_conf(aws_sdk_ssm::config::Builder::from(c).region(r).build())
        });
        let east = regional.get("us-east-1").expect("client");
        assert_eq!(
            east.config().region().map(|r| r.as_ref()),
            Some("us-east-1")
        );
        assert!(regional.get("us-east-1").is_ok());
        assert_eq!(
            regional.get("../evil").expect_err("bad").kind(),
            lifeboat_core::ErrorKind::InvalidInput
        );
    }
}
