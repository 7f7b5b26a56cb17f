//! dns-flip Lambda: wiring only (policy lives in the library and lifeboat-core).

use dns_flip::{Config, Handler, Ports};
use lifeboat_aws::AwsSettings;
use lifeboat_aws::route53::{ArcAdapter, Route53Adapter};
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_http::digitalocean::{self, DigitalOceanDns};
use lifeboat_http::linode::{self, LinodeDns};
use lifeboat_lambda::{Env, init_tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let env = Env::process();
    let config = Config::from_env(&env)?;
    let settings = AwsSettings::from_env()?;
    let sdk = settings.load(&config.plan.region).await;
    let peer = settings.load(&config.peer_region).await;
    let route53 = Route53Adapter::new(&sdk);
    // DigitalOcean's and Linode's APIs; a fake on loopback only in tests (the adapter refuses anything else
    // that is not https).
    let digitalocean_api = env
        .optional("LIFEBOAT_DIGITALOCEAN_API_URL")
        .unwrap_or_else(|| digitalocean::DEFAULT_API_URL.to_string());
    let digitalocean = DigitalOceanDns::new(&digitalocean_api, digitalocean::REQUEST_TIMEOUT)?;
    let linode_api = env
        .optional("LIFEBOAT_LINODE_API_URL")
        .unwrap_or_else(|| linode::DEFAULT_API_URL.to_string());
    let linode = LinodeDns::new(&linode_api, linode::REQUEST_TIMEOUT)?;
    let handler = Handler {
        ports: Ports {
            records: route53.clone(),
            checks: route53,
            arc: ArcAdapter::new(&sdk),
            db: lifeboat_aws::rds::databases(&sdk, settings.probe_timeout)?,
            params: SsmParameterStore::new(&sdk),
            peer_params: SsmParameterStore::new(&peer),
            notifier: SnsNotifier::new(&sdk),
            digitalocean,
            linode,
        },
        config,
    };
    lifeboat_lambda::serve(|event| handler.handle(event)).await
}
