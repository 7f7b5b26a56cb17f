//! `lifeboat readiness`.

use super::*;

/// `readiness [--to REGION]`.
pub async fn readiness(
    global: &Global,
    to: Option<&str>,
    link_secret_parameter: Option<&str>,
) -> Result<Output> {
    let region = global.region()?;
    let target = to.unwrap_or(&region).to_string();
    let sdk = sdk(global, &target).await?;
    let plan = load_plan(global, &sdk).await?;
    let route53 = Route53Adapter::new(&sdk);
    let account = Account {
        db: &lifeboat_aws::rds::databases(&sdk, PROBE_TIMEOUT)?,
        lag: &CloudWatch::new(&sdk),
        ecs: &EcsAdapter::new(&sdk),
        asg: &AsgAdapter::new(&sdk),
        records: &route53,
        health_checks: &route53,
        routing: &ArcAdapter::new(&sdk),
        topics: &SnsNotifier::new(&sdk),
        params: &SsmParameterStore::new(&sdk),
        buckets: &S3Buckets::new(&sdk),
        cache: &lifeboat_redis::RedisSentinel::default(),
    };
    let secret = link_secret_parameter
        .map(str::to_string)
        .unwrap_or_else(|| lifeboat_core::params::approval_link_secret(&global.app));
    let now = time::OffsetDateTime::now_utc();
    let report = evaluate(&account, &plan, &target, &[secret], now).await?;
    Ok(Output {
        text: report.text(),
        json: to_json("the report", &report)?,
        exit: if report.worst() == Severity::Critical {
            Exit::NotReady
        } else {
            Exit::Ok
        },
    })
}
