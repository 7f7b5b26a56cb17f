//! health-probe Lambda: wiring only (policy lives in the library and lifeboat-core).

use health_probe::{Config, Handler, Ports, StdoutLines};
use lifeboat_aws::AwsSettings;
use lifeboat_aws::events::EventBridgePublisher;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::ports::SystemClock;
use lifeboat_http::Http;
use lifeboat_lambda::{Env, init_tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let env = Env::process();
    let config = Config::from_env(&env)?;
    let sdk = AwsSettings::from_env()?.load(&config.plan.region).await;
    let handler = Handler {
        ports: Ports {
            http: Http::new()?,
            events: EventBridgePublisher::new(&sdk).on_bus(env.optional("LIFEBOAT_EVENT_BUS")),
            params: SsmParameterStore::new(&sdk),
            metrics: StdoutLines,
            clock: SystemClock,
        },
        config,
    };
    lifeboat_lambda::serve(|event| handler.handle(event)).await
}
