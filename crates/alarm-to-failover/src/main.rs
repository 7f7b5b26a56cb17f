//! alarm-to-failover Lambda: wiring only (policy lives in the library and lifeboat-core).

use alarm_to_failover::{Config, Handler, Ports};
use lifeboat_aws::AwsSettings;
use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::rds::RdsGlobalDatabase;
use lifeboat_aws::sfn::SfnWorkflow;
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::ports::SystemClock;
use lifeboat_lambda::{Env, init_tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let env = Env::process();
    let config = Config::from_env(&env)?;
    let settings = AwsSettings::from_env()?;
    let sdk = settings.load(&config.plan.region).await;
    let peer = settings.load(&config.peer_region).await;
    let cloudwatch = CloudWatch::new(&sdk);
    let handler = Handler {
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
    };
    lifeboat_lambda::serve(|event| handler.serve(event)).await
}
