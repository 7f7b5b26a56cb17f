//! verify Lambda: wiring only (policy lives in the library and lifeboat-core).

use lifeboat_aws::AwsSettings;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_http::Http;
use lifeboat_lambda::{Env, init_tracing};
use lifeboat_redis::RedisSentinel;
use verify::{Config, Handler, Ports};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let env = Env::process();
    let config = Config::from_env(&env)?;
    let settings = AwsSettings::from_env()?;
    let sdk = settings.load(&config.region).await;
    let handler = Handler {
        ports: Ports {
            http: Http::new()?,
            db: lifeboat_aws::rds::databases(&sdk, settings.probe_timeout)?,
            params: SsmParameterStore::new(&sdk),
            cache: RedisSentinel::default(),
        },
        config,
    };
    lifeboat_lambda::serve(|event| handler.handle(event)).await
}
