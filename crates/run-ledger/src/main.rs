//! run-ledger Lambda: wiring only (policy lives in the library and lifeboat-core).
#![recursion_limit = "256"]

use lifeboat_aws::AwsSettings;
use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::sfn::SfnHistory;
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::ports::SystemClock;
use lifeboat_lambda::{Env, init_tracing};
use run_ledger::{Config, Handler, Ports};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let env = Env::process();
    let config = Config::from_env(&env)?;
    let settings = AwsSettings::from_env()?;
    let sdk = settings.load(&config.plan.region).await;
    let cloudwatch = CloudWatch::new(&sdk);
    let handler = Handler {
        ports: Ports {
            db: lifeboat_aws::rds::databases(&sdk, settings.probe_timeout)?,
            lag: cloudwatch.clone(),
            alarms: cloudwatch,
            params: SsmParameterStore::new(&sdk),
            history: SfnHistory::new(&sdk),
            notifier: SnsNotifier::new(&sdk),
            clock: SystemClock,
        },
        config,
    };
    lifeboat_lambda::serve(|event| handler.handle(event)).await
}
