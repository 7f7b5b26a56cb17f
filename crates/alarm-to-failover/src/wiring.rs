//! The handler over AWS, built once at init from the function's environment: one wiring for
//! both binaries (alarm-to-failover, and alertmanager-webhook behind its own URL).

use lifeboat_aws::AwsSettings;
use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::rds::RdsGlobalDatabase;
use lifeboat_aws::sfn::SfnWorkflow;
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::Result;
use lifeboat_core::ports::SystemClock;
use lifeboat_lambda::Env;

use crate::{Config, Handler, Ports};

/// The handler with AWS behind every port.
pub type AwsHandler = Handler<
    RdsGlobalDatabase,
    CloudWatch,
    CloudWatch,
    SsmParameterStore,
    SfnWorkflow,
    SnsNotifier,
    SystemClock,
    SsmParameterStore,
    SfnWorkflow,
>;

/// Read the configuration and build the SDK clients (this region's and the other copy's).
pub async fn from_env(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<AwsHandler> {
    let config = Config::from_env(env)?;
    let settings = AwsSettings::from_env()?;
    let sdk = settings.load(&config.plan.region).await;
    let peer = settings.load(&config.peer_region).await;
    let cloudwatch = CloudWatch::new(&sdk);
    Ok(Handler {
        ports: Ports {
            db: RdsGlobalDatabase::new(&sdk, settings.probe_timeout),
            lag: cloudwatch.clone(),
            alarms: cloudwatch,
            params: SsmParameterStore::new(&sdk),
            workflow: SfnWorkflow::new(&sdk, config.state_machine_arn.clone()),
            notifier: SnsNotifier::new(&sdk),
            clock: SystemClock,
            peer_params: SsmParameterStore::new(&peer),
            peer_workflow: SfnWorkflow::new(&peer, config.peer_state_machine_arn()),
        },
        config,
    })
}
