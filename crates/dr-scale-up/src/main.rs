//! dr-scale-up Lambda: wiring only (policy lives in the library and lifeboat-core).

use dr_scale_up::{Config, Handler, Ports};
use lifeboat_aws::AwsSettings;
use lifeboat_aws::compute::{AsgAdapter, EcsAdapter};
use lifeboat_aws::eks::EksTokenSigner;
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::ports::SystemClock;
use lifeboat_http::kubernetes::{self, KubernetesApi};
use lifeboat_lambda::{Env, init_tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let env = Env::process();
    let config = Config::from_env(&env)?;
    let settings = AwsSettings::from_env()?;
    let sdk = settings.load(&config.plan.region).await;
    let peer = settings.load(&config.peer_region).await;
    let handler = Handler {
        ports: Ports {
            ecs: EcsAdapter::new(&sdk),
            asg: AsgAdapter::new(&sdk),
            k8s: KubernetesApi::new(kubernetes::REQUEST_TIMEOUT)?,
            eks: EksTokenSigner::new(&sdk),
            db: lifeboat_aws::rds::databases(&sdk, settings.probe_timeout)?,
            params: SsmParameterStore::new(&sdk),
            peer_params: SsmParameterStore::new(&peer),
            notifier: SnsNotifier::new(&sdk),
            clock: SystemClock,
        },
        config,
    };
    lifeboat_lambda::serve(|event| handler.handle(event)).await
}
