//! dr-scale-up, dns-flip, verify and health-probe against the emulated AWS, with the real
//! adapters over HTTP; health endpoints served by local HTTP servers.

use lifeboat_http::digitalocean::DigitalOceanDns;
use lifeboat_http::kubernetes::KubernetesApi;
use lifeboat_http::linode::LinodeDns;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lifeboat_aws::compute::{AsgAdapter, EcsAdapter};
use lifeboat_aws::eks::EksTokenSigner;
use lifeboat_aws::events::EventBridgePublisher;
use lifeboat_aws::rds::RdsGlobalDatabase;
use lifeboat_aws::route53::{ArcAdapter, Route53Adapter};
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::ErrorKind;
use lifeboat_core::plan::{HealthEndpoint, TrafficMode};
use lifeboat_core::ports::{RecordSets, RecordValue, SystemClock};
use lifeboat_core::trigger::Observation;
use lifeboat_http::Http;
use lifeboat_tests::{EAST, GLOBAL, PLAN_PARAMETER, Shop, WEST, WEST_CLUSTER};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

type ScaleHandler = dr_scale_up::Handler<
    EcsAdapter,
    AsgAdapter,
    lifeboat_aws::rds::Databases,
    SsmParameterStore,
    SsmParameterStore,
    SnsNotifier,
    SystemClock,
    KubernetesApi,
    EksTokenSigner,
>;

/// dr-scale-up as the copy in `region` wires it (the other region's store as its peer).
fn scale_handler_in(shop: &Shop, region: &str) -> ScaleHandler {
    let (sdk, peer, peer_region) = if region == WEST {
        (&shop.west, &shop.east, EAST)
    } else {
        (&shop.east, &shop.west, WEST)
    };
    dr_scale_up::Handler {
        config: dr_scale_up::Config {
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: PLAN_PARAMETER.into(),
                region: region.into(),
            },
            concurrency: 8,
            peer_region: peer_region.into(),
        },
        ports: dr_scale_up::Ports {
            ecs: EcsAdapter::new(sdk),
            asg: AsgAdapter::new(sdk),
            db: lifeboat_aws::rds::databases(sdk, Duration::from_secs(2)).expect("databases"),
            params: SsmParameterStore::new(sdk),
            peer_params: SsmParameterStore::new(peer),
            notifier: SnsNotifier::new(sdk),
            clock: SystemClock,
            // Not reached: the shop's plan names no Kubernetes cluster.
            k8s: KubernetesApi::new(Duration::from_secs(1)).expect("a client"),
            eks: EksTokenSigner::new(sdk),
        },
    }
}

fn scale_handler(shop: &Shop) -> ScaleHandler {
    scale_handler_in(shop, WEST)
}

/// Route 53 records, counting change batches.
#[derive(Debug)]
struct CountingRecords(Route53Adapter, AtomicUsize);

impl RecordSets for CountingRecords {
    async fn read_record(
        &self,
        zone: &str,
        name: &str,
        t: &str,
    ) -> lifeboat_core::Result<Option<RecordValue>> {
        self.0.read_record(zone, name, t).await
    }
    async fn upsert(
        &self,
        zone: &str,
        records: &[RecordValue],
        comment: &str,
    ) -> lifeboat_core::Result<String> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.upsert(zone, records, comment).await
    }
    async fn change_in_sync(&self, id: &str) -> lifeboat_core::Result<bool> {
        self.0.change_in_sync(id).await
    }
}

type DnsHandler = dns_flip::Handler<
    CountingRecords,
    Route53Adapter,
    ArcAdapter,
    lifeboat_aws::rds::Databases,
    SsmParameterStore,
    SsmParameterStore,
    SnsNotifier,
    DigitalOceanDns,
    LinodeDns,
>;

fn dns_handler(shop: &Shop) -> DnsHandler {
    dns_handler_with_arc(shop, ArcAdapter::new(&shop.west))
}

fn dns_handler_with_arc(shop: &Shop, arc: ArcAdapter) -> DnsHandler {
    let sdk = &shop.west;
    dns_flip::Handler {
        config: dns_flip::Config {
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: PLAN_PARAMETER.into(),
                region: WEST.into(),
            },
            peer_region: EAST.into(),
        },
        ports: dns_flip::Ports {
            records: CountingRecords(Route53Adapter::new(sdk), AtomicUsize::new(0)),
            checks: Route53Adapter::new(sdk),
            arc,
            db: lifeboat_aws::rds::databases(sdk, Duration::from_secs(2)).expect("databases"),
            params: SsmParameterStore::new(sdk),
            peer_params: SsmParameterStore::new(&shop.east),
            notifier: SnsNotifier::new(sdk),
            // Not reached in Route 53 modes; an address nothing listens on.
            digitalocean: DigitalOceanDns::new("http://127.0.0.1:9", Duration::from_secs(1))
                .expect("a loopback URL"),
            linode: LinodeDns::new("http://127.0.0.1:9", Duration::from_secs(1))
                .expect("a loopback URL"),
        },
    }
}

/// Promote us-west-2 (an unplanned failover, time-scaled) and wait until it is the writer.
async fn promote_west(shop: &Shop) {
    shop.emulator.configure(json!({"time_scale": 0.001})).await;
    aws_sdk_rds::Client::new(&shop.west)
        .failover_global_cluster()
        .global_cluster_identifier(GLOBAL)
        .target_db_cluster_identifier(WEST_CLUSTER)
        .allow_data_loss(true)
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while shop.writer().await.as_deref() != Some(WEST_CLUSTER) {
        assert!(
            Instant::now() < deadline,
            "us-west-2 never became the writer"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ecs_desired(shop: &Shop, region_cfg: &aws_config::SdkConfig, service: &str) -> (i32, i32) {
    let out = aws_sdk_ecs::Client::new(region_cfg)
        .describe_services()
        .cluster("shop")
        .services(service)
        .send()
        .await
        .unwrap();
    let _ = shop;
    let s = &out.services()[0];
    (s.desired_count(), s.running_count())
}

#[tokio::test]
async fn scale_up_sets_active_capacity_and_reports_steady_once_tasks_run() {
    let shop = Shop::seed(2000.0).await;
    // Tasks take 1 s to start, instances 1.2 s to boot.
    shop.emulator
        .configure(
            json!({"time_scale": 0.01, "ecs": {"task_start_seconds": 100},
                          "autoscaling": {"instance_start_seconds": 120}}),
        )
        .await;
    let h = scale_handler(&shop);
    let out = h.handle(json!({"action": "start"})).await.unwrap();
    let dr_scale_up::Response::Scaled { changed, .. } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(changed.len(), 3, "{out:?}");
    assert_eq!(ecs_desired(&shop, &shop.west, "web").await.0, 6);
    assert_eq!(ecs_desired(&shop, &shop.west, "checkout").await.0, 4);
    let first = h.handle(json!({"action": "status"})).await.unwrap();
    assert!(
        matches!(first, dr_scale_up::Response::Scaling { .. }),
        "{first:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = h.handle(json!({"action": "status"})).await.unwrap();
        if matches!(status, dr_scale_up::Response::Steady { .. }) {
            break;
        }
        assert!(Instant::now() < deadline, "never steady: {status:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let g = aws_sdk_autoscaling::Client::new(&shop.west)
        .describe_auto_scaling_groups()
        .auto_scaling_group_names("shop-workers-usw2")
        .send()
        .await
        .unwrap();
    let g = &g.auto_scaling_groups()[0];
    assert_eq!((g.min_size(), g.desired_capacity()), (Some(4), Some(6)));
    assert_eq!(ecs_desired(&shop, &shop.west, "web").await, (6, 6));
    // The primary region was not touched.
    assert_eq!(ecs_desired(&shop, &shop.east, "web").await, (6, 6));
}

#[tokio::test]
async fn scale_up_above_a_groups_max_is_refused_and_changes_nothing() {
    let shop = Shop::seed(2000.0).await;
    aws_sdk_autoscaling::Client::new(&shop.west)
        .update_auto_scaling_group()
        .auto_scaling_group_name("shop-workers-usw2")
        .max_size(4)
        .send()
        .await
        .unwrap();
    let err = scale_handler(&shop)
        .handle(json!({"action": "start"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(err.message().contains("max size 4"), "{err}");
    assert_eq!(ecs_desired(&shop, &shop.west, "web").await.0, 1);
}

#[tokio::test]
async fn scale_down_of_the_writers_region_is_refused() {
    let shop = Shop::seed(2000.0).await;
    let err = scale_handler(&shop)
        .handle(json!({"action": "scale_down", "region": EAST}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(ecs_desired(&shop, &shop.east, "web").await.0, 6);
}

/// The home copy's plan: the same document in us-east-1's parameter store.
async fn plan_in_home(shop: &Shop) {
    let plan = aws_sdk_ssm::Client::new(&shop.west)
        .get_parameter()
        .name(PLAN_PARAMETER)
        .send()
        .await
        .unwrap();
    aws_sdk_ssm::Client::new(&shop.east)
        .put_parameter()
        .name(PLAN_PARAMETER)
        .value(plan.parameter().and_then(|p| p.value()).unwrap())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_data_loss_fence_records_a_dark_old_primary_as_unreachable() {
    let shop = Shop::seed(2000.0).await;
    shop.emulator.outage(EAST).await;
    let out = scale_handler(&shop)
        .handle(json!({"action": "fence", "region": EAST, "run_id": "r1"}))
        .await
        .expect("a dark region never blocks the failover");
    let dr_scale_up::Response::Fenced { fence } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(fence.actions.len(), 3, "{fence:?}");
    assert!(
        fence.actions.iter().all(|a| matches!(
            a.outcome,
            lifeboat_core::fence::FenceOutcome::Unreachable { .. }
        )),
        "{fence:?}"
    );
}

#[tokio::test]
async fn the_returning_home_region_fences_itself_and_says_so_on_its_topic() {
    // GIVEN a failover with data loss into us-west-2, and us-east-1 back with its compute
    // still at active capacity
    let shop = Shop::seed(2000.0).await;
    promote_west(&shop).await;
    plan_in_home(&shop).await;
    assert_eq!(ecs_desired(&shop, &shop.east, "web").await.0, 6);
    // WHEN the home copy's schedule invokes the guard
    let home = scale_handler_in(&shop, EAST);
    let out = home.handle(json!({"action": "guard"})).await.unwrap();
    // THEN its compute is at the fenced level (0), and its topic says so, once
    let dr_scale_up::Response::Guarded {
        fence, announced, ..
    } = &out
    else {
        panic!("{out:?}")
    };
    assert!(fence.as_ref().is_some_and(|f| f.complete()), "{out:?}");
    assert!(announced.is_some());
    assert_eq!(ecs_desired(&shop, &shop.east, "web").await.0, 0);
    assert_eq!(ecs_desired(&shop, &shop.east, "checkout").await.0, 0);
    let said = lifeboat_tests::receive(&shop.east, &shop.home_inbox_url).await;
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("us-east-1 fenced itself"), "{}", said[0]);
    let again = home.handle(json!({"action": "guard"})).await.unwrap();
    let dr_scale_up::Response::Guarded { announced, .. } = &again else {
        panic!("{again:?}")
    };
    assert!(announced.is_none(), "announced once");
    // AND the us-west-2 copy (the writer's) is untouched
    assert_eq!(ecs_desired(&shop, &shop.west, "web").await.0, 1);
}

async fn cname(shop: &Shop, name: &str) -> Vec<String> {
    Route53Adapter::new(&shop.west)
        .read_record(&shop.zone_id, name, "CNAME")
        .await
        .unwrap()
        .map(|r| r.values)
        .unwrap_or_default()
}

#[tokio::test]
async fn dns_flip_is_refused_until_the_target_database_is_the_writer() {
    let shop = Shop::seed(2000.0).await;
    let err = dns_handler(&shop)
        .handle(json!({"action": "flip"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(
        cname(&shop, "www.shop.example.com").await,
        ["use1.shop.example.com"]
    );
    assert!(shop.routing_control_on(&shop.arc.east).await);
    assert!(!shop.routing_control_on(&shop.arc.west).await);
}

/// How many calls of `operation` the emulator served since its count was last cleared.
async fn calls_of(shop: &Shop, operation: &str) -> u64 {
    shop.emulator
        .control("GET", "/_lifeboat/calls", None)
        .await
        .get(operation)
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// Issue 18 item 9, against the emulated ARC cluster of the example plan: us-east-1 is dark, so
/// its cluster endpoint (the plan's first) answers EndpointTemporarilyUnavailable; the flip goes
/// through the next endpoint, in one atomic update, and Route 53 sees us-west-2's control On.
#[tokio::test]
async fn the_example_flips_its_routing_controls_through_another_endpoint_while_us_east_1_is_dark() {
    let shop = Shop::seed(2000.0).await;
    promote_west(&shop).await;
    shop.emulator.outage(EAST).await;
    shop.emulator
        .control("DELETE", "/_lifeboat/calls", None)
        .await;
    let out = dns_handler(&shop)
        .handle(json!({"action": "flip", "run_id": "shop-to-us-west-2-1"}))
        .await
        .expect("flipped");
    let dns_flip::Response::Flipped {
        endpoint,
        previous,
        changes,
        ..
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(
        shop.arc.endpoints[0].0, EAST,
        "the plan lists us-east-1's endpoint first"
    );
    assert_eq!(endpoint.as_deref(), Some(shop.arc.endpoints[1].1.as_str()));
    assert_eq!(
        previous.routing_controls,
        [
            (shop.arc.west.clone(), false),
            (shop.arc.east.clone(), true)
        ]
    );
    assert!(changes.is_empty(), "no record changes: {changes:?}");
    assert_eq!(
        calls_of(&shop, "route53-recovery-cluster:UpdateRoutingControlStates").await,
        1,
        "one atomic update"
    );
    assert_eq!(calls_of(&shop, "route53:ChangeResourceRecordSets").await, 0);
    assert!(shop.routing_control_on(&shop.arc.west).await);
    assert!(!shop.routing_control_on(&shop.arc.east).await);
}

/// A safety rule's conflict is final: not tried at every endpoint, nothing changed, and the kind
/// is kept for the state machine.
#[tokio::test]
async fn a_safety_rule_conflict_is_final_and_changes_nothing() {
    let shop = Shop::seed(2000.0).await;
    promote_west(&shop).await;
    // The panel asserts both regions On (a rule that no failover can satisfy).
    shop.emulator
        .control(
            "POST",
            "/_lifeboat/arc",
            Some(json!({
                "endpoint_regions": lifeboat_tests::ARC_ENDPOINT_REGIONS,
                "control_panel": "shop",
                "routing_controls": [
                    {"name": "shop-use1", "state": "On"},
                    {"name": "shop-usw2", "state": "On"},
                ],
                "assertion_rules": [
                    {"name": "both-on", "at_least": 2, "controls": ["shop-use1", "shop-usw2"]},
                ],
            })),
        )
        .await;
    shop.emulator
        .control("DELETE", "/_lifeboat/calls", None)
        .await;
    let err = dns_handler(&shop)
        .handle(json!({"action": "flip", "run_id": "shop-to-us-west-2-1"}))
        .await
        .expect_err("refused by the safety rule");
    assert!(!err.kind().is_retryable(), "{err}");
    assert!(err.to_string().contains("both-on"), "{err}");
    assert_eq!(
        calls_of(&shop, "route53-recovery-cluster:UpdateRoutingControlStates").await,
        1,
        "not tried again at the other endpoints"
    );
    assert!(shop.routing_control_on(&shop.arc.east).await);
}

#[tokio::test]
async fn dns_flip_changes_a_zone_in_exactly_one_batch_and_waits_for_insync() {
    let shop = Shop::seed(2000.0).await;
    shop.use_record_upsert().await;
    // Propagation of 3 s of real time: long enough to see PENDING on a loaded machine.
    shop.emulator
        .configure(json!({"route53": {"propagation_seconds": 300}}))
        .await;
    promote_west(&shop).await;
    let h = dns_handler(&shop);
    let out = h
        .handle(json!({"action": "flip", "run_id": "shop-to-us-west-2-1"}))
        .await
        .unwrap();
    let dns_flip::Response::Flipped {
        changes, previous, ..
    } = &out
    else {
        panic!("{out:?}")
    };
    assert_eq!(
        h.ports.records.1.load(Ordering::SeqCst),
        1,
        "one change batch"
    );
    assert_eq!(changes.len(), 1);
    assert_eq!(
        cname(&shop, "www.shop.example.com").await,
        ["usw2.shop.example.com"]
    );
    assert_eq!(
        cname(&shop, "api.shop.example.com").await,
        ["api-usw2.shop.example.com"]
    );
    assert_eq!(previous.records.len(), 2);
    // Route 53 answers PENDING until the change has propagated, then INSYNC.
    let status = h
        .handle(json!({"action": "status", "changes": changes}))
        .await
        .unwrap();
    assert!(
        matches!(status, dns_flip::Response::Pending { .. }),
        "{status:?}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let status = h
            .handle(json!({"action": "status", "changes": changes}))
            .await
            .unwrap();
        if matches!(status, dns_flip::Response::InSync { .. }) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Again: the records already read as planned; nothing is sent.
    h.handle(json!({"action": "flip"})).await.unwrap();
    assert_eq!(h.ports.records.1.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn health_check_mode_inverts_the_primarys_checks() {
    let shop = Shop::seed(2000.0).await;
    let r53 = aws_sdk_route53::Client::new(&shop.east);
    let mut ids = Vec::new();
    for (i, host) in ["use1.shop.example.com", "usw2.shop.example.com"]
        .iter()
        .enumerate()
    {
        let hc = r53
            .create_health_check()
            .caller_reference(format!("hc-{i}"))
            .health_check_config(
                aws_sdk_route53::types::HealthCheckConfig::builder()
                    .r#type(aws_sdk_route53::types::HealthCheckType::Https)
                    .fully_qualified_domain_name(*host)
                    .resource_path("/healthz")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        ids.push(hc.health_check().unwrap().id().to_string());
    }
    let (east_hc, west_hc) = (ids[0].clone(), ids[1].clone());
    shop.change_plan(|p| {
        p.traffic.mode = TrafficMode::HealthCheck;
        p.regions.get_mut(EAST).unwrap().traffic.health_check_ids = vec![east_hc.clone()];
        p.regions.get_mut(WEST).unwrap().traffic.health_check_ids = vec![west_hc.clone()];
    })
    .await;
    promote_west(&shop).await;
    let out = dns_handler(&shop)
        .handle(json!({"action": "flip"}))
        .await
        .unwrap();
    let inverted = |id: String| {
        let r53 = r53.clone();
        async move {
            r53.get_health_check()
                .health_check_id(id)
                .send()
                .await
                .unwrap()
                .health_check()
                .and_then(|h| h.health_check_config())
                .and_then(|c| c.inverted())
                .unwrap_or(false)
        }
    };
    assert!(
        inverted(east_hc.clone()).await,
        "the primary's check is inverted"
    );
    assert!(!inverted(west_hc.clone()).await);
    let dns_flip::Response::Flipped { previous, .. } = out else {
        panic!()
    };
    assert_eq!(previous.health_checks, [(west_hc, false), (east_hc, false)]);
}

/// A region's health endpoint and the public name, served locally.
async fn serve_shop(regional: (u16, &str), public: (u16, &str), delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/usw2/healthz"))
        .respond_with(
            ResponseTemplate::new(regional.0)
                .set_body_string(regional.1)
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/www/healthz"))
        .respond_with(ResponseTemplate::new(public.0).set_body_string(public.1))
        .mount(&server)
        .await;
    server
}

async fn point_checks_at(shop: &Shop, server: &MockServer) {
    let uri = server.uri();
    shop.change_plan(|p| {
        let west = p.regions.get_mut(WEST).unwrap();
        west.health_endpoints = vec![HealthEndpoint {
            url: format!("{uri}/usw2/healthz"),
            expect_status: 200,
            expect_body_contains: Some("ok".into()),
            timeout_ms: 500,
        }];
        west.public_checks = vec![HealthEndpoint {
            url: format!("{uri}/www/healthz"),
            expect_status: 200,
            expect_body_contains: Some("region=us-west-2".into()),
            timeout_ms: 500,
        }];
    })
    .await;
}

fn verify_handler(
    shop: &Shop,
) -> verify::Handler<
    Http,
    lifeboat_aws::rds::Databases,
    SsmParameterStore,
    lifeboat_redis::RedisSentinel,
> {
    let sdk = &shop.west;
    verify::Handler {
        config: verify::Config {
            plan_parameter: PLAN_PARAMETER.into(),
            region: WEST.into(),
        },
        ports: verify::Ports {
            http: Http::new().unwrap(),
            db: lifeboat_aws::rds::databases(sdk, Duration::from_secs(2)).expect("databases"),
            params: SsmParameterStore::new(sdk),
            cache: lifeboat_redis::RedisSentinel::default(),
        },
    }
}

#[tokio::test]
async fn verify_passes_against_live_endpoints_and_fails_on_503_or_timeout() {
    let shop = Shop::seed(2000.0).await;
    promote_west(&shop).await;
    let h = verify_handler(&shop);

    let good = serve_shop((200, "ok"), (200, "ok region=us-west-2"), Duration::ZERO).await;
    point_checks_at(&shop, &good).await;
    let r = h.handle(json!({})).await.unwrap();
    assert!(r.passed, "{r:?}");
    assert_eq!(r.checks.len(), 3);

    let down = serve_shop((503, "down"), (200, "ok region=us-west-2"), Duration::ZERO).await;
    point_checks_at(&shop, &down).await;
    let r = h.handle(json!({})).await.unwrap();
    assert!(!r.passed);
    assert!(
        r.checks
            .iter()
            .any(|c| !c.passed && c.evidence.contains("HTTP 503")),
        "{r:?}"
    );

    let slow = serve_shop(
        (200, "ok"),
        (200, "ok region=us-west-2"),
        Duration::from_secs(3),
    )
    .await;
    point_checks_at(&shop, &slow).await;
    let started = Instant::now();
    let r = h.handle(json!({})).await.unwrap();
    assert!(!r.passed);
    assert!(
        r.checks.iter().any(|c| c.evidence.contains("timed out")),
        "{r:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the timeout bounds the check"
    );
}

#[tokio::test]
async fn the_canary_puts_an_event_that_reaches_alarm_to_failover() {
    let shop = Shop::seed(2000.0).await;
    // The primary answers 503.
    let primary = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&primary)
        .await;
    let uri = primary.uri();
    shop.change_plan(|p| {
        p.regions.get_mut(EAST).unwrap().health_endpoints = vec![HealthEndpoint {
            url: format!("{uri}/healthz"),
            expect_status: 200,
            expect_body_contains: None,
            timeout_ms: 500,
        }];
    })
    .await;
    // EventBridge rule in us-west-2: lifeboat.probe events -> a queue (standing in for the
    // alarm-to-failover target).
    let (queue_url, queue_arn) = lifeboat_tests::create_queue(&shop.west, "probe-events").await;
    let events = aws_sdk_eventbridge::Client::new(&shop.west);
    events
        .put_rule()
        .name("lifeboat-canary")
        .event_pattern(r#"{"source":["lifeboat.probe"],"detail-type":["Primary Unhealthy"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("lifeboat-canary")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let h = health_probe::Handler {
        config: health_probe::Config {
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: PLAN_PARAMETER.into(),
                region: WEST.into(),
            },
            interval: Duration::from_millis(10),
            watch: Duration::from_millis(1),
        },
        ports: health_probe::Ports {
            http: Http::new().unwrap(),
            events: EventBridgePublisher::new(&shop.west),
            params: SsmParameterStore::new(&shop.west),
            metrics: health_probe::StdoutLines,
            clock: SystemClock,
        },
    };
    let schedule: Value = serde_json::from_str(
        &std::fs::read_to_string(
            lifeboat_tests::repo_root().join("events/health-probe/scheduled.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let r = h.handle(schedule).await.unwrap();
    // Every round fails: 3 of 5 is reached at the third round and reported at once (issue 21:
    // it probed all five before).
    assert_eq!((r.failures, r.probes, r.event_sent), (3, 5, true));
    assert_eq!(primary.received_requests().await.unwrap().len(), 3);

    let delivered = lifeboat_tests::receive(&shop.west, &queue_url).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let event: Value = serde_json::from_str(&delivered[0]).unwrap();
    let Observation::Canary(report) = alarm_to_failover::parse_observation(event).unwrap() else {
        panic!("not a canary observation")
    };
    assert_eq!((report.failures, report.probed_region.as_str()), (3, EAST));
}

#[tokio::test]
async fn routing_controls_flip_through_the_next_arc_endpoint_when_one_fails() {
    use aws_sdk_route53recoverycluster::Client as Arc;
    use aws_sdk_route53recoverycluster::operation::get_routing_control_state::{
        GetRoutingControlStateError, GetRoutingControlStateOutput,
    };
    use aws_sdk_route53recoverycluster::operation::update_routing_control_states::UpdateRoutingControlStatesOutput;
    use aws_sdk_route53recoverycluster::types::RoutingControlState;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const RC_EAST: &str =
        "arn:aws:route53-recovery-control::123456789012:controlpanel/p/routingcontrol/use1";
    const RC_WEST: &str =
        "arn:aws:route53-recovery-control::123456789012:controlpanel/p/routingcontrol/usw2";
    const EP1: &str = "https://host-1.route53-recovery-cluster.us-west-2.amazonaws.com/v1";
    const EP2: &str = "https://host-2.route53-recovery-cluster.ap-southeast-2.amazonaws.com/v1";

    let shop = Shop::seed(2000.0).await;
    shop.change_plan(|p| {
        p.traffic.mode = TrafficMode::RoutingControl;
        p.traffic.arc_cluster_endpoints = [(EP1, "us-west-2"), (EP2, "ap-southeast-2")]
            .iter()
            .map(|(e, r)| lifeboat_core::plan::ArcClusterEndpoint {
                endpoint: e.to_string(),
                region: r.to_string(),
            })
            .collect();
        p.regions
            .get_mut(EAST)
            .unwrap()
            .traffic
            .routing_control_arns = vec![RC_EAST.into()];
        p.regions
            .get_mut(WEST)
            .unwrap()
            .traffic
            .routing_control_arns = vec![RC_WEST.into()];
    })
    .await;

    // Endpoint 1 is down (its region is impaired); endpoint 2 answers.
    let down = mock!(Arc::get_routing_control_state).then_error(|| {
        GetRoutingControlStateError::InternalServerException(
            aws_sdk_route53recoverycluster::types::error::InternalServerException::builder()
                .message("endpoint unavailable")
                .meta(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("InternalServerException")
                        .build(),
                )
                .build()
                .unwrap(),
        )
    });
    let state = |arn: &'static str, on: bool| {
        mock!(Arc::get_routing_control_state)
            .match_requests(move |r| r.routing_control_arn() == Some(arn))
            .then_output(move || {
                GetRoutingControlStateOutput::builder()
                    .routing_control_arn(arn)
                    .routing_control_state(if on {
                        RoutingControlState::On
                    } else {
                        RoutingControlState::Off
                    })
                    .build()
                    .unwrap()
            })
    };
    let west_off = state(RC_WEST, false);
    let east_on = state(RC_EAST, true);
    let update = mock!(Arc::update_routing_control_states)
        .match_requests(|r| {
            let e = r.update_routing_control_state_entries();
            e.len() == 2
                && e[0].routing_control_arn() == RC_WEST
                && e[0].routing_control_state() == &RoutingControlState::On
                && e[1].routing_control_arn() == RC_EAST
                && e[1].routing_control_state() == &RoutingControlState::Off
        })
        .then_output(|| UpdateRoutingControlStatesOutput::builder().build());
    let arc = ArcAdapter::from_clients([
        (
            EP1.to_string(),
            mock_client!(aws_sdk_route53recoverycluster, [&down]),
        ),
        (
            EP2.to_string(),
            mock_client!(
                aws_sdk_route53recoverycluster,
                RuleMode::MatchAny,
                [&west_off, &east_on, &update]
            ),
        ),
    ]);
    let h = dns_handler_with_arc(&shop, arc);

    // Not before the database: us-east-1 is still the writer.
    let err = h.handle(json!({"action": "flip"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(update.num_calls(), 0);

    promote_west(&shop).await;
    let out = h.handle(json!({"action": "flip"})).await.unwrap();
    let dns_flip::Response::Flipped {
        endpoint, previous, ..
    } = out
    else {
        panic!()
    };
    assert_eq!(down.num_calls(), 1, "endpoint 1 was tried first");
    assert_eq!(
        update.num_calls(),
        1,
        "one atomic update through endpoint 2"
    );
    assert_eq!(endpoint.as_deref(), Some(EP2));
    assert_eq!(
        previous.routing_controls,
        [(RC_WEST.to_string(), false), (RC_EAST.to_string(), true)]
    );
}

#[tokio::test]
async fn scale_up_with_a_missing_service_is_not_found_and_changes_nothing() {
    let shop = Shop::seed(2000.0).await;
    let ecs = aws_sdk_ecs::Client::new(&shop.west);
    ecs.update_service()
        .cluster("shop")
        .service("checkout")
        .desired_count(0)
        .send()
        .await
        .unwrap();
    ecs.delete_service()
        .cluster("shop")
        .service("checkout")
        .send()
        .await
        .unwrap();
    let err = scale_handler(&shop)
        .handle(json!({"action": "start"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains("ecs:shop/checkout"), "{err}");
    assert_eq!(ecs_desired(&shop, &shop.west, "web").await.0, 1);
}

#[tokio::test]
async fn a_secrets_existence_is_read_from_its_metadata_only() {
    use lifeboat_core::ports::ParameterStore;
    let shop = Shop::seed(2000.0).await;
    let params = SsmParameterStore::new(&shop.west);
    params
        .create_secret("/lifeboat/shop/approval-link-secret-test", "k3y")
        .await
        .unwrap();
    assert!(
        params
            .exists("/lifeboat/shop/approval-link-secret-test")
            .await
            .unwrap()
    );
    // a name that is a prefix of an existing one is not it
    assert!(!params.exists("/lifeboat/shop/approval-link").await.unwrap());
    assert!(!params.exists("/lifeboat/shop/missing").await.unwrap());
    let calls = shop.emulator.control("GET", "/_lifeboat/calls", None).await;
    assert!(
        calls.get("ssm:DescribeParameters").is_some(),
        "exists() uses DescribeParameters: {calls}"
    );
}

/// The emulator's injected API faults (issue 19, chaos) reach lifeboat's adapters as the kinds
/// the state machine retries: a throttle is `Throttled`, a server error `Transient`, and a call
/// the rule does not match is untouched.
#[tokio::test]
async fn injected_api_faults_keep_their_kind_through_the_adapters() {
    use lifeboat_core::ports::{GlobalDatabase, ParameterStore};
    let shop = Shop::seed(800.0).await;
    let ssm = SsmParameterStore::new(&shop.west);
    let rds = RdsGlobalDatabase::new(&shop.west, Duration::from_secs(2));
    for (kind, want) in [
        ("throttle", ErrorKind::Throttled),
        ("error", ErrorKind::Transient),
    ] {
        shop.emulator
            .control(
                "POST",
                "/_lifeboat/api-faults",
                Some(json!({"seed": 1, "rules": [
                    {"service": "ssm", "operation": "GetParameter", "kind": kind, "rate": 1.0},
                    {"service": "rds", "kind": kind, "rate": 1.0},
                ]})),
            )
            .await;
        let err = ssm.get(PLAN_PARAMETER).await.expect_err("faulted");
        assert_eq!(err.kind(), want, "ssm {kind}: {err}");
        let err = rds
            .describe_global(WEST, GLOBAL)
            .await
            .expect_err("faulted");
        assert_eq!(err.kind(), want, "rds {kind}: {err}");
        // another operation of the same service is served
        ssm.create("/lifeboat/shop/chaos-probe", "x")
            .await
            .expect("not matched");
        shop.emulator
            .control("DELETE", "/_lifeboat/api-faults", None)
            .await;
        let _ = aws_sdk_ssm::Client::new(&shop.west)
            .delete_parameter()
            .name("/lifeboat/shop/chaos-probe")
            .send()
            .await;
    }
    assert!(ssm.get(PLAN_PARAMETER).await.expect("served").is_some());
}

/// ECS answers DescribeServices for up to 10 services a call: a scale step's status over 12
/// services reads them in 2 calls, not 12 (issue 21: the status poll's cost grows by tens).
#[tokio::test]
async fn a_scale_status_reads_ecs_services_ten_per_call() {
    let shop = Shop::seed(2000.0).await;
    let ecs = aws_sdk_ecs::Client::new(&shop.west);
    let extra: Vec<String> = (0..10).map(|i| format!("svc-{i}")).collect();
    for name in &extra {
        ecs.create_service()
            .cluster("shop")
            .service_name(name)
            .task_definition("web")
            .desired_count(1)
            .send()
            .await
            .expect("service");
    }
    shop.change_plan(|plan| {
        let services = &mut plan
            .regions
            .get_mut(WEST)
            .expect("us-west-2")
            .compute
            .ecs_services;
        services.extend(
            extra
                .iter()
                .map(|name| lifeboat_core::plan::EcsServicePlan {
                    cluster: "shop".into(),
                    service: name.clone(),
                    standby_count: 1,
                    active_count: 2,
                }),
        );
    })
    .await;
    let h = scale_handler(&shop);
    h.handle(json!({"action": "start"})).await.unwrap();
    shop.emulator
        .control("DELETE", "/_lifeboat/calls", None)
        .await;
    let status = h.handle(json!({"action": "status"})).await.unwrap();
    assert!(
        matches!(
            status,
            dr_scale_up::Response::Scaling { .. } | dr_scale_up::Response::Steady { .. }
        ),
        "{status:?}"
    );
    assert_eq!(calls_of(&shop, "ecs:DescribeServices").await, 2);
}

/// Issue 23 item 2 (EKS): the token dr-scale-up signs is one STS honours, over real HTTP: sent
/// to the emulated STS as EKS's authenticator sends it (the URL, this cluster's name in
/// `x-k8s-aws-id`), it answers the identity that signed it; for another cluster it is refused.
/// (The emulator's STS checks presigned signatures: tests/emulator/sts_presigned.py.)
#[tokio::test]
async fn an_eks_token_is_one_sts_honours_for_its_cluster_only() {
    use base64::Engine as _;
    use lifeboat_core::ports::EksTokens;

    let emulator = lifeboat_tests::Emulator::start().await;
    let sdk = lifeboat_tests::settings_for(emulator.endpoint())
        .load(WEST)
        .await;
    let token = EksTokenSigner::new(&sdk)
        .token(WEST, "shop-usw2")
        .await
        .expect("a token");
    let b64 = token
        .expose()
        .strip_prefix("k8s-aws-v1.")
        .expect("the prefix");
    let url = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .expect("base64url"),
    )
    .unwrap();
    assert!(url.starts_with(emulator.endpoint()), "{url}");
    let http = reqwest::Client::new();
    let ask = |cluster: &'static str| {
        http.get(&url)
            .header("x-k8s-aws-id", cluster)
            .header("accept", "application/json")
            .send()
    };
    let ok = ask("shop-usw2").await.unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(
        body["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Arn"],
        "arn:aws:sts::123456789012:assumed-role/testing/testing"
    );
    let other = ask("shop-use1").await.unwrap();
    assert_eq!(other.status(), 403);
    let body: Value = other.json().await.unwrap();
    assert_eq!(body["Error"]["Code"], "SignatureDoesNotMatch");

    // a role's credentials (as in Lambda) carry a session token: it is signed in, and honoured
    let mut settings = lifeboat_tests::settings_for(emulator.endpoint());
    settings.credentials = Some(aws_sdk_ssm::config::SharedCredentialsProvider::new(
        aws_sdk_ssm::config::Credentials::new(
            "LBFNDRSCALEUP",
            "testing",
            Some("a-role-session-token".into()),
            None,
            "role",
        ),
    ));
    let token = EksTokenSigner::new(&settings.load(WEST).await)
        .token(WEST, "shop-usw2")
        .await
        .expect("a token");
    let url = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.expose().trim_start_matches("k8s-aws-v1."))
            .expect("base64url"),
    )
    .unwrap();
    assert!(
        url.contains("X-Amz-Security-Token=a-role-session-token"),
        "{url}"
    );
    let ok = http
        .get(&url)
        .header("x-k8s-aws-id", "shop-usw2")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(
        body["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Arn"],
        "arn:aws:sts::123456789012:assumed-role/LBFNDRSCALEUP/LBFNDRSCALEUP"
    );
}
