//! failover-approval Lambda: wiring only (policy lives in the library and lifeboat-core).

use failover_approval::{Config, Handler, Ports};
use lifeboat_aws::AwsSettings;
use lifeboat_aws::sfn::SfnCallbacks;
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::ports::SystemClock;
use lifeboat_http::Http;
use lifeboat_lambda::{Env, init_tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let env = Env::process();
    let region = env.region()?;
    let sdk = AwsSettings::from_env()?.load(&region).await;
    let params = SsmParameterStore::new(&sdk);
    // Secrets are read once, at init (a rotation takes effect on the next cold start).
    let config = Config::load(&env, &params).await?;
    let handler = Handler {
        ports: Ports {
            params,
            notifier: SnsNotifier::new(&sdk),
            webhook: Http::new()?,
            callbacks: SfnCallbacks::new(&sdk),
            clock: SystemClock,
        },
        config,
    };
    lifeboat_lambda::serve(|event| handler.handle(event)).await
}
