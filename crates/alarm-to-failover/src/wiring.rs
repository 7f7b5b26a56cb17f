//! The handler over AWS, built once at init from the function's environment: one wiring for
//! both binaries (alarm-to-failover, and alertmanager-webhook behind its own URL).

use std::time::Duration;

use aws_config::SdkConfig;
use lifeboat_aws::AwsSettings;
use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::sfn::SfnWorkflow;
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::Result;
use lifeboat_core::ports::SystemClock;
use lifeboat_lambda::Env;

use crate::{Config, Handler, Ports};

/// The handler with AWS behind every port.
pub type AwsHandler = Handler<
    lifeboat_aws::rds::Databases,
    CloudWatch,
    CloudWatch,
    SsmParameterStore,
    SfnWorkflow,
    SnsNotifier,
    SystemClock,
    SsmParameterStore,
    SfnWorkflow,
>;

/// The handler over AWS for `config`: `sdk` in the region it fails over into, `peer` in the
/// other copy's region (its lock is read where reachable). One wiring for the functions, the
/// operator's CLI (`lifeboat failover`) and the emulator-backed tests.
pub fn over_aws(
    config: Config,
    sdk: &SdkConfig,
    peer: &SdkConfig,
    probe_timeout: Duration,
) -> Result<AwsHandler> {
    let cloudwatch = CloudWatch::new(sdk);
    let peer_arn = config.peer_state_machine_arn();
    Ok(Handler {
        ports: Ports {
            db: lifeboat_aws::rds::databases(sdk, probe_timeout)?,
            lag: cloudwatch.clone(),
            alarms: cloudwatch,
            params: SsmParameterStore::new(sdk),
            workflow: SfnWorkflow::new(sdk, config.state_machine_arn.clone()),
            notifier: SnsNotifier::new(sdk),
            clock: SystemClock,
            peer_params: SsmParameterStore::new(peer),
            peer_workflow: SfnWorkflow::new(peer, peer_arn),
        },
        config,
    })
}

/// Read the configuration and build the SDK clients (this region's and the other copy's).
pub async fn from_env(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<AwsHandler> {
    let config = Config::from_env(env)?;
    let settings = AwsSettings::from_env()?;
    let sdk = settings.load(&config.plan.region).await;
    let peer = settings.load(&config.peer_region).await;
    over_aws(config, &sdk, &peer, settings.probe_timeout)
}
