//! failback-orchestrator Lambda: wiring only (policy lives in the library and lifeboat-core).
#![recursion_limit = "256"]

use failback_orchestrator::{Config, Handler, Ports};
use lifeboat_aws::AwsSettings;
use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::sfn::SfnWorkflow;
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
    let peer_arn = config.peer_state_machine_arn();
    let cloudwatch = CloudWatch::new(&sdk);
    let handler = Handler {
        ports: Ports {
            db: lifeboat_aws::rds::databases(&sdk, settings.probe_timeout)?,
            lag: cloudwatch.clone(),
            health: cloudwatch,
            params: SsmParameterStore::new(&sdk),
            workflow: SfnWorkflow::new(&sdk, config.state_machine_arn.clone()),
            clock: SystemClock,
            peer_params: SsmParameterStore::new(&peer),
            peer_workflow: SfnWorkflow::new(&peer, peer_arn),
        },
        config,
    };
    lifeboat_lambda::serve(|event| handler.handle(event)).await
}
