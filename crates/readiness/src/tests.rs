//! GIVEN / WHEN / THEN tests of the readiness function (and lifeboat-core's checks) over
//! in-memory fakes.

use std::sync::Mutex;
use std::time::Duration;

use lifeboat_core::ErrorKind;
use lifeboat_core::fakes::*;
use lifeboat_core::ports::RecordValue;
use lifeboat_core::readiness::{Check, Finding};
use serde_json::json;

use super::*;

/// The shop with its Route 53 records (the record checks are what these tests read).
const PLAN: &str = include_str!("../../../examples/plan-record-upsert.yaml");
const USE1: &str = "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1";
const USW2: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";
const TOPIC_W: &str = "arn:aws:sns:us-west-2:123456789012:lifeboat-shop";
const TOPIC_E: &str = "arn:aws:sns:us-east-1:123456789012:lifeboat-shop";
const LINK_KEY: &str = "/lifeboat/shop/link-key";
const LINK_KEY_VALUE: &str = "k3y-that-must-never-be-shown";

#[derive(Debug, Default)]
struct Lines(Mutex<Vec<String>>);

impl LineSink for Lines {
    fn line(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_string());
    }
}

/// SNS: topics that exist, and what was published.
#[derive(Debug, Default)]
struct FakeSns {
    topics: FakeTopics,
    published: FakeNotifier,
}

impl Topics for FakeSns {
    async fn topic_exists(&self, arn: &str) -> Result<bool> {
        self.topics.topic_exists(arn).await
    }
}

impl Notifier for FakeSns {
    async fn publish(&self, topic: &str, subject: &str, message: &str) -> Result<String> {
        self.published.publish(topic, subject, message).await
    }
}

type Fakes = Handler<
    FakeGlobalDatabase,
    FakeLag,
    FakeEcs,
    FakeAsg,
    FakeRecords,
    FakeHealthChecks,
    FakeRoutingControls,
    FakeSns,
    FakeParameters,
    FakeBuckets,
    Lines,
    FixedClock,
    FakeWorkflow,
    FakeCacheNodes,
>;

/// GIVEN the example plan's account, everything in place: us-east-1 the writer, us-west-2
/// 0.4 s behind, both regions' services, groups, records, topics, buckets, and the link key.
fn given_a_ready_account() -> Fakes {
    let db = FakeGlobalDatabase::new("shop-global", USE1, USW2);
    let lag = FakeLag::default();
    lag.set("shop-usw2", Duration::from_millis(400));
    let ecs = FakeEcs::default();
    let asg = FakeAsg::default();
    for (region, short) in [("us-east-1", "use1"), ("us-west-2", "usw2")] {
        ecs.add(region, "shop", "web", 1);
        ecs.add(region, "shop", "checkout", 1);
        asg.add(region, &format!("shop-workers-{short}"), 1, 8, 1);
    }
    let records = FakeRecords::default();
    for name in ["www.shop.example.com", "api.shop.example.com"] {
        records.put(
            "Z0SHOPEXAMPLE",
            RecordValue {
                name: name.into(),
                record_type: "CNAME".into(),
                ttl: 60,
                values: vec!["use1.shop.example.com".into()],
            },
        );
    }
    let sns = FakeSns::default();
    sns.topics.add(TOPIC_W);
    sns.topics.add(TOPIC_E);
    let params = FakeParameters::with("/lifeboat/shop/plan", PLAN);
    futures_put(&params, LINK_KEY, LINK_KEY_VALUE);
    let buckets = FakeBuckets::default();
    buckets.add("us-east-1", "shop-media-use1", true, &["shop-media-usw2"]);
    buckets.add("us-west-2", "shop-media-usw2", true, &["shop-media-use1"]);
    Handler {
        config: Config {
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: "/lifeboat/shop/plan".into(),
                region: "us-west-2".into(),
            },
            link_secret_parameter: Some(LINK_KEY.into()),
            scopes: lifeboat_core::readiness::Scopes {
                ecs_cluster: Some("shop".into()),
                asg_prefix: Some("shop-".into()),
                hosted_zone: Some("Z0SHOPEXAMPLE".into()),
                bucket_prefix: Some("shop-".into()),
            },
        },
        ports: Ports {
            db,
            lag,
            ecs,
            asg,
            records,
            health_checks: FakeHealthChecks::default(),
            routing: FakeRoutingControls::default(),
            sns,
            params,
            buckets,
            metrics: Lines::default(),
            clock: FixedClock::at(time::macros::datetime!(2026-11-22 03:00 UTC)),
            executions: FakeWorkflow::default(),
            cache: FakeCacheNodes::default(),
        },
    }
}

fn futures_put(params: &FakeParameters, name: &str, value: &str) {
    params
        .values
        .lock()
        .unwrap()
        .insert(name.to_string(), value.to_string());
}

fn schedule() -> Value {
    json!({
        "version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-22T03:00:00Z", "region": "us-west-2",
        "resources": [], "detail": {}
    })
}

fn problems(r: &Response) -> Vec<&Finding> {
    r.report
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Ok)
        .collect()
}

fn the_one_problem(r: &Response) -> &Finding {
    let p = problems(r);
    assert_eq!(p.len(), 1, "exactly one problem expected: {p:#?}");
    p[0]
}

fn emf_line(h: &Fakes) -> Value {
    let lines = h.ports.metrics.0.lock().unwrap();
    serde_json::from_str(lines.last().expect("an EMF line")).unwrap()
}

#[tokio::test]
async fn a_ready_account_has_no_problems_and_the_first_all_clear_is_not_sent() {
    let h = given_a_ready_account();
    let r = h.handle(schedule()).await.expect("evaluates");
    assert!(problems(&r).is_empty(), "{}", r.report.text());
    assert_eq!(r.report.writer_region.as_deref(), Some("us-east-1"));
    // Every check of the plan was made: DB (3), the database capacity, 4 services, 2 groups, 2
    // records (both regions name the same two: each is checked once), 2 topics, the link key,
    // 2 buckets, and the plan's resources within the template's scopes.
    assert_eq!(r.report.findings.len(), 18, "{}", r.report.text());
    assert!(!r.notified);
    assert!(h.ports.sns.published.messages().is_empty());
    let emf = emf_line(&h);
    assert_eq!(emf["Ready"], 1);
    assert_eq!(emf["ReadinessCritical"], 0);
    assert_eq!(emf["Region"], "us-west-2");
    assert!(
        h.ports
            .params
            .value("/lifeboat/shop/readiness/us-west-2")
            .is_some()
    );
}

#[tokio::test]
async fn a_missing_ecs_service_is_critical_and_published() {
    let h = given_a_ready_account();
    h.ports.ecs.services.lock().unwrap().remove(&(
        "us-west-2".into(),
        "shop".into(),
        "checkout".into(),
    ));
    let r = h.handle(schedule()).await.expect("evaluates");
    let f = the_one_problem(&r);
    assert_eq!(
        (f.check, f.severity, f.subject.as_str()),
        (
            Check::EcsService,
            Severity::Critical,
            "us-west-2/shop/checkout"
        )
    );
    assert!(r.notified);
    let sent = h.ports.sns.published.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].topic, TOPIC_W);
    assert!(sent[0].subject.contains("NOT READY"), "{}", sent[0].subject);
    assert!(sent[0].message.contains("us-west-2/shop/checkout"));
    assert_eq!(emf_line(&h)["Ready"], 0);
}

#[tokio::test]
async fn lag_above_the_guard_is_critical() {
    let h = given_a_ready_account();
    h.ports.lag.set("shop-usw2", Duration::from_secs(45));
    let r = h.handle(schedule()).await.expect("evaluates");
    let f = the_one_problem(&r);
    assert_eq!(
        (f.check, f.severity),
        (Check::ReplicationLag, Severity::Critical)
    );
    assert!(
        f.message.contains("45.0 s") && f.message.contains("30.0 s"),
        "{}",
        f.message
    );
}

#[tokio::test]
async fn no_lag_datapoint_is_a_warning() {
    let h = given_a_ready_account();
    h.ports.lag.samples.lock().unwrap().clear();
    let r = h.handle(schedule()).await.expect("evaluates");
    let f = the_one_problem(&r);
    assert_eq!(
        (f.check, f.severity),
        (Check::ReplicationLag, Severity::Warning)
    );
}

#[tokio::test]
async fn a_bucket_without_replication_or_versioning_is_critical() {
    let h = given_a_ready_account();
    h.ports
        .buckets
        .add("us-east-1", "shop-media-use1", true, &["somewhere-else"]);
    h.ports
        .buckets
        .add("us-west-2", "shop-media-usw2", false, &["shop-media-use1"]);
    let r = h.handle(schedule()).await.expect("evaluates");
    let p = problems(&r);
    assert_eq!(p.len(), 2, "{p:#?}");
    let e = p
        .iter()
        .find(|f| f.subject == "us-east-1/shop-media-use1")
        .unwrap();
    assert!(
        e.message
            .contains("no enabled replication rule into us-west-2"),
        "{}",
        e.message
    );
    let w = p
        .iter()
        .find(|f| f.subject == "us-west-2/shop-media-usw2")
        .unwrap();
    assert!(
        w.message.contains("versioning is not enabled"),
        "{}",
        w.message
    );
    assert!(
        p.iter()
            .all(|f| f.check == Check::Bucket && f.severity == Severity::Critical)
    );
}

#[tokio::test]
async fn a_group_whose_max_is_below_active_capacity_is_critical() {
    let h = given_a_ready_account();
    h.ports.asg.add("us-west-2", "shop-workers-usw2", 1, 4, 1);
    let r = h.handle(schedule()).await.expect("evaluates");
    let f = the_one_problem(&r);
    assert_eq!(
        (f.check, f.severity),
        (Check::AutoScalingGroup, Severity::Critical)
    );
    assert!(f.message.contains("max 4"), "{}", f.message);
}

#[tokio::test]
async fn missing_topic_record_secret_and_member_are_each_critical() {
    let h = given_a_ready_account();
    h.ports.sns.topics.remove(TOPIC_E);
    h.ports
        .records
        .records
        .lock()
        .unwrap()
        .retain(|(_, name, _), _| name != "api.shop.example.com");
    h.ports.params.values.lock().unwrap().remove(LINK_KEY);
    h.ports
        .db
        .view
        .lock()
        .unwrap()
        .as_mut()
        .unwrap()
        .members
        .retain(|m| m.cluster_arn != USW2);
    let r = h.handle(schedule()).await.expect("evaluates");
    let mut got: Vec<(Check, &str)> = problems(&r)
        .iter()
        .map(|f| {
            assert_eq!(f.severity, Severity::Critical, "{f:?}");
            (f.check, f.subject.as_str())
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (Check::GlobalCluster, "shop-global"),
            (Check::DnsRecord, "Z0SHOPEXAMPLE/api.shop.example.com CNAME"),
            (Check::Topic, TOPIC_E),
            (Check::Secret, LINK_KEY),
        ]
    );
}

#[tokio::test]
async fn secret_values_never_appear_in_a_report() {
    let h = given_a_ready_account();
    let r = h.handle(schedule()).await.expect("evaluates");
    let all = serde_json::to_string(&r).unwrap() + &r.report.text();
    assert!(!all.contains(LINK_KEY_VALUE));
    assert!(all.contains(LINK_KEY), "the secret's name is reported");
}

#[tokio::test]
async fn findings_are_published_when_they_change_not_on_every_schedule() {
    let h = given_a_ready_account();
    h.ports.lag.set("shop-usw2", Duration::from_secs(45));
    assert!(h.handle(schedule()).await.unwrap().notified, "new problem");
    assert!(
        !h.handle(schedule()).await.unwrap().notified,
        "same problem"
    );
    h.ports.lag.set("shop-usw2", Duration::from_millis(300));
    let r = h.handle(schedule()).await.unwrap();
    assert!(r.notified, "problem gone");
    let sent = h.ports.sns.published.messages();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].subject.contains("ready again"),
        "{}",
        sent[1].subject
    );
}

#[tokio::test]
async fn a_failed_publish_fails_the_run_and_is_tried_again_next_time() {
    let h = given_a_ready_account();
    h.ports.lag.set("shop-usw2", Duration::from_secs(45));
    h.ports.sns.published.fail_next(ErrorKind::Transient);
    let err = h.handle(schedule()).await.expect_err("publish failed");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(h.handle(schedule()).await.unwrap().notified);
}

#[tokio::test]
async fn a_dark_primary_region_gives_warnings_not_a_failure() {
    let h = given_a_ready_account();
    h.ports.db.go_dark("us-east-1");
    h.ports
        .ecs
        .dark_regions
        .lock()
        .unwrap()
        .insert("us-east-1".into());
    let r = h.handle(schedule()).await.expect("evaluates");
    let p = problems(&r);
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(p.iter().all(|f| f.severity == Severity::Warning));
    let ecs: Vec<_> = p.iter().filter(|f| f.check == Check::EcsService).collect();
    assert_eq!(ecs.len(), 2, "{p:#?}");
    assert!(ecs.iter().all(|f| f.subject.starts_with("us-east-1/")));
    // the database capacity cannot be compared with a primary that does not answer
    assert!(p.iter().any(|f| f.check == Check::DatabaseCapacity
        && f.message.contains("could not be read")
        && f.message.contains("not compared")));
    // The target (this region) is still fully checked.
    assert!(
        r.report
            .findings
            .iter()
            .any(|f| f.check == Check::TargetCluster && f.severity == Severity::Ok)
    );
}

#[tokio::test]
async fn the_target_not_available_is_critical() {
    let h = given_a_ready_account();
    h.ports.db.set_cluster_status(USW2, "modifying");
    let r = h.handle(schedule()).await.expect("evaluates");
    let f = the_one_problem(&r);
    assert_eq!(
        (f.check, f.severity),
        (Check::TargetCluster, Severity::Critical)
    );
}

#[tokio::test]
async fn anything_but_the_schedule_is_invalid_input_and_changes_nothing() {
    let h = given_a_ready_account();
    let before = h.ports.params.snapshot();
    for bad in [
        json!({}),
        json!({"source": "x", "detail-type": "y"}),
        json!([1]),
    ] {
        let err = h.handle(bad).await.expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
    assert_eq!(h.ports.params.snapshot(), before);
    assert!(h.ports.metrics.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_stale_run_lock_is_a_loud_warning_and_a_live_one_is_nothing() {
    // GIVEN a lock whose execution has ended
    let h = given_a_ready_account();
    h.ports.executions.close(
        "shop-to-us-west-2-1",
        lifeboat_core::ports::ExecutionStatus::Failed,
    );
    let lock = json!({"run_id": "shop-to-us-west-2-1", "target_region": "us-west-2",
                      "acquired_at": "2026-11-22T02:00:00Z",
                      "execution_arn": FakeWorkflow::arn("shop-to-us-west-2-1")});
    futures_put(&h.ports.params, "/lifeboat/shop/lock", &lock.to_string());
    let r = h.handle(schedule()).await.expect("evaluates");
    let f = the_one_problem(&r);
    assert_eq!((f.check, f.severity), (Check::RunLock, Severity::Warning));
    assert!(
        f.message.starts_with("STALE: ") && f.message.contains("has ended (FAILED)"),
        "{}",
        f.message
    );
    assert!(r.notified, "said on the topic");
    // GIVEN the lock's execution runs: no finding
    let h = given_a_ready_account();
    h.ports.executions.started.lock().unwrap().push(Started {
        name: "shop-to-us-west-2-1".into(),
        input: "{}".into(),
    });
    futures_put(&h.ports.params, "/lifeboat/shop/lock", &lock.to_string());
    let r = h.handle(schedule()).await.expect("evaluates");
    assert!(problems(&r).is_empty(), "{:?}", problems(&r));
}

/// GIVEN a traffic record whose TTL (300 s) is longer than the plan's verify deadline (120 s by
/// default), WHEN readiness runs, THEN it warns, naming both figures and the fix: Verify could
/// give up while resolvers still serve the old answer.
#[tokio::test]
async fn a_record_ttl_longer_than_the_verify_deadline_is_a_warning() {
    let h = given_a_ready_account();
    h.ports.records.put(
        "Z0SHOPEXAMPLE",
        RecordValue {
            name: "www.shop.example.com".into(),
            record_type: "CNAME".into(),
            ttl: 300,
            values: vec!["use1.shop.example.com".into()],
        },
    );
    let r = h.handle(schedule()).await.expect("evaluates");
    let p = problems(&r);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].check, Check::DnsRecord);
    assert_eq!(p[0].severity, Severity::Warning);
    assert_eq!(p[0].subject, "Z0SHOPEXAMPLE/www.shop.example.com CNAME");
    assert!(
        p[0].message
            .contains("TTL of 300 s is longer than traffic.verify_deadline_seconds (120 s)")
            && p[0].message.contains("at least 300"),
        "{}",
        p[0].message
    );
}

/// GIVEN the newest lag datapoint is 4 minutes old (guard 30 s), WHEN readiness runs, THEN it
/// warns that the lag counts as unknown, naming the datapoint's age.
#[tokio::test]
async fn a_stale_lag_datapoint_is_a_warning_naming_its_age() {
    let h = given_a_ready_account();
    h.ports.lag.set_aged(
        "shop-usw2",
        Duration::from_millis(400),
        Duration::from_secs(240),
    );
    let r = h.handle(schedule()).await.expect("evaluates");
    let p = problems(&r);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(
        (p[0].check, p[0].severity),
        (Check::ReplicationLag, Severity::Warning)
    );
    assert!(
        p[0].message
            .contains("240.0 s old, older than the RPO guard of 30.0 s"),
        "{}",
        p[0].message
    );
}

#[tokio::test]
async fn a_plan_resource_outside_the_templates_scopes_makes_the_region_not_ready() {
    let mut h = given_a_ready_account();
    h.config.scopes.ecs_cluster = Some("payments".into());
    let out = h.handle(schedule()).await.unwrap();
    let critical: Vec<_> = out
        .report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .collect();
    assert!(
        critical
            .iter()
            .any(|f| f.check == Check::Permission && f.subject == "us-west-2/shop/web"),
        "{critical:?}"
    );
}

#[tokio::test]
async fn a_target_database_smaller_than_the_primary_is_a_warning_naming_both() {
    // GIVEN the primary on db.r6g.4xlarge and a plan whose active class for us-west-2 is
    // db.r6g.2xlarge (its standby instance db.r6g.large)
    let mut h = given_a_ready_account();
    h.ports.params = FakeParameters::with(
        "/lifeboat/shop/plan",
        &plan_with_instance_classes(PLAN, "db.r6g.2xlarge"),
    );
    futures_put(&h.ports.params, LINK_KEY, LINK_KEY_VALUE);
    h.ports
        .db
        .set_capacity(USE1, Some((8.0, 64.0)), &[("use1-1", "db.r6g.4xlarge")]);
    h.ports
        .db
        .set_capacity(USW2, Some((0.5, 16.0)), &[("usw2-1", "db.r6g.large")]);
    let r = h.handle(schedule()).await.expect("evaluates");
    let f = the_one_problem(&r);
    assert_eq!(f.check, Check::DatabaseCapacity);
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.message.contains(
            "db.r6g.2xlarge (the plan's active class) while the primary runs db.r6g.4xlarge"
        ),
        "{f:?}"
    );
    // WHEN the plan's active class matches the primary THEN the finding is ok
    h.ports.params = FakeParameters::with(
        "/lifeboat/shop/plan",
        &plan_with_instance_classes(PLAN, "db.r6g.4xlarge"),
    );
    futures_put(&h.ports.params, LINK_KEY, LINK_KEY_VALUE);
    let r = h.handle(schedule()).await.expect("evaluates");
    assert!(problems(&r).is_empty(), "{:#?}", problems(&r));
    assert!(
        r.report
            .findings
            .iter()
            .any(|f| f.check == Check::DatabaseCapacity && f.severity == Severity::Ok)
    );
}

// -- the cache ---------------------------------------------------------------------------------

/// GIVEN the ready account with a cache in the plan: us-east-1's master a1 watched by its
/// Sentinel, us-west-2's two nodes replicating it, us-west-2's Sentinel watching nothing.
fn given_a_cache() -> Fakes {
    use lifeboat_core::plan::{CacheFailover, CachePlan, CacheProvider, Plan, RegionCachePlan};
    let mut h = given_a_ready_account();
    let mut plan = Plan::parse(PLAN).expect("the example");
    plan.cache = Some(CachePlan {
        provider: CacheProvider::RedisSentinel,
        master_name: "shop-cache".into(),
        on_failover: CacheFailover::Promote,
        quorum: 1,
        password_parameter: Some("/lifeboat/shop/cache-password".into()),
    });
    for (region, prefix) in [("us-east-1", "10.10"), ("us-west-2", "10.20")] {
        plan.regions.get_mut(region).expect("region").cache = Some(RegionCachePlan {
            nodes: vec![format!("{prefix}.0.11:6379"), format!("{prefix}.0.12:6379")],
            sentinels: vec![format!("{prefix}.0.21:26379")],
        });
    }
    h.ports.params.insert(
        "/lifeboat/shop/plan",
        &serde_json::to_string(&plan).expect("json"),
    );
    futures_put(
        &h.ports.params,
        "/lifeboat/shop/cache-password",
        "s3cret-cache",
    );
    let c = FakeCacheNodes::new(Some("s3cret-cache"));
    c.node("10.10.0.11:6379", None, 100)
        .node("10.10.0.12:6379", Some("10.10.0.11:6379"), 100)
        .node("10.20.0.11:6379", Some("10.10.0.11:6379"), 100)
        .node("10.20.0.12:6379", Some("10.10.0.11:6379"), 100)
        .sentinel("10.10.0.21:26379", Some("10.10.0.11:6379"))
        .sentinel("10.20.0.21:26379", None);
    h.ports.cache = c;
    h
}

#[tokio::test]
async fn a_standby_cache_replicating_the_shops_master_is_ready_read_without_its_password() {
    let h = given_a_cache();
    let r = h.handle(schedule()).await.expect("evaluates");
    assert!(problems(&r).is_empty(), "{}", r.report.text());
    let cache: Vec<&Finding> = r
        .report
        .findings
        .iter()
        .filter(|f| f.check == lifeboat_core::readiness::Check::Cache)
        .collect();
    // the target's Sentinel, and each of its two nodes as the active region's Sentinel sees it
    assert_eq!(cache.len(), 3, "{cache:#?}");
    assert!(
        r.report
            .findings
            .iter()
            .any(|f| f.subject == "/lifeboat/shop/cache-password" && f.message == "exists"),
        "the password's parameter is checked by its metadata: {}",
        r.report.text()
    );
    assert!(!r.report.text().contains("s3cret-cache"));
}

#[tokio::test]
async fn a_standby_node_without_the_shops_data_or_a_watching_standby_sentinel_is_critical() {
    // GIVEN one us-west-2 node came back as a master of its own, and us-west-2's Sentinel
    // watches it
    let h = given_a_cache();
    h.ports.cache.node("10.20.0.12:6379", None, 0);
    h.ports
        .cache
        .sentinel("10.20.0.21:26379", Some("10.20.0.12:6379"));
    let r = h.handle(schedule()).await.expect("evaluates");
    let p = problems(&r);
    assert_eq!(p.len(), 2, "{}", r.report.text());
    assert!(p.iter().all(|f| f.severity == Severity::Critical));
    assert!(
        p.iter()
            .any(|f| f.subject == "us-west-2/sentinel 10.20.0.21:26379"
                && f.message.contains("two writers"))
    );
    assert!(p.iter().any(|f| f.subject == "us-west-2/10.20.0.12:6379"
        && f.message.contains("without the shop's data")));
    assert_eq!(emf_line(&h)["Ready"], 0);
}
