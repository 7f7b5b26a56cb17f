//! readiness Lambda: wiring only (the checks live in lifeboat-core's `readiness`).

use lifeboat_aws::AwsSettings;
use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::compute::{AsgAdapter, EcsAdapter};
use lifeboat_aws::route53::{ArcAdapter, Route53Adapter};
use lifeboat_aws::s3::S3Buckets;
use lifeboat_aws::sfn::SfnWorkflow;
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::ports::SystemClock;
use lifeboat_lambda::{Env, StdoutLines, init_tracing};
use readiness::{Config, Handler, Ports};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let env = Env::process();
    let config = Config::from_env(&env)?;
    let settings = AwsSettings::from_env()?;
    let sdk = settings.load(&config.plan.region).await;
    let route53 = Route53Adapter::new(&sdk);
    let handler = Handler {
        ports: Ports {
            db: lifeboat_aws::rds::databases(&sdk, settings.probe_timeout)?,
            lag: CloudWatch::new(&sdk),
            ecs: EcsAdapter::new(&sdk),
            asg: AsgAdapter::new(&sdk),
            records: route53.clone(),
            health_checks: route53,
            routing: ArcAdapter::new(&sdk),
            sns: SnsNotifier::new(&sdk),
            params: SsmParameterStore::new(&sdk),
            buckets: S3Buckets::new(&sdk),
            metrics: StdoutLines,
            clock: SystemClock,
            executions: SfnWorkflow::new(&sdk, String::new()),
            cache: lifeboat_redis::RedisSentinel::default(),
        },
        config,
    };
    lifeboat_lambda::serve(|event| handler.handle(event)).await
}
