//! The emulated-AWS harness for integration tests: one moto server with lifeboat's extensions
//! (`tests/emulator/`) per test, on 127.0.0.1 and a free port, plus seeding helpers for the
//! two-region shop of `examples/plan.yaml`.
//!
//! The Python environment comes from `make emulator-venv` (`.venv/`); point
//! `LIFEBOAT_EMULATOR_PYTHON` at another interpreter that has `moto[server]` to override.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_ssm::config::{Credentials, SharedCredentialsProvider};
use lifeboat_aws::AwsSettings;
use serde_json::{Value, json};

pub const EAST: &str = "us-east-1";
pub const WEST: &str = "us-west-2";
pub const ACCOUNT: &str = "123456789012";
pub const GLOBAL: &str = "shop-global";
pub const EAST_CLUSTER: &str = "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1";
pub const WEST_CLUSTER: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";
pub const PLAN_PARAMETER: &str = "/lifeboat/shop/plan";
/// The SecureString parameter holding the key that signs approval links.
pub const LINK_SECRET_PARAMETER: &str = "/lifeboat/shop/approval-link-secret";
pub const ALARM: &str = "lifeboat-shop-primary-unhealthy";
/// infra/template.yaml's FailoverStateMachine name (lifeboat-${AppName}-failover): the roles
/// name it, so the emulated stack must too.
pub const STATE_MACHINE: &str = "lifeboat-shop-failover";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A running emulator; stopped when dropped.
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    endpoint: String,
    http: reqwest::Client,
    _dir: TempDir,
    _slot: Slot,
}

/// At most `LIFEBOAT_EMULATORS` (default 8) emulators run at once in one test process: each is a
/// moto server with a CPU-heavy start (EC2 images, for Auto Scaling), and two dozen of them on a
/// 2-core machine make single requests take longer than any sane timeout.
static SLOTS: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

#[derive(Debug)]
struct Slot;

impl Slot {
    fn acquire() -> Slot {
        let max = std::env::var("LIFEBOAT_EMULATORS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(8);
        let (lock, freed) = &SLOTS;
        let mut running = lock.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= max {
            running = freed.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (lock, freed) = &SLOTS;
        let mut running = lock.lock().unwrap_or_else(|e| e.into_inner());
        *running = running.saturating_sub(1);
        freed.notify_one();
    }
}

#[derive(Debug)]
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    /// Start an emulator and wait until it answers.
    pub async fn start() -> Emulator {
        // Blocks this test's thread (each test has its own) until a slot is free.
        let slot = Slot::acquire();
        let root = repo_root();
        let python = std::env::var_os("LIFEBOAT_EMULATOR_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv/bin/python"));
        assert!(
            python.exists(),
            "no emulator Python at {} (run `make emulator-venv`)",
            python.display()
        );
        let dir = std::env::temp_dir().join(format!(
            "lifeboat-emu-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port_file = dir.join("port");
        let child = Command::new(&python)
            .arg(root.join("tests/emulator/server.py"))
            .arg("--port")
            .arg("0")
            .arg("--port-file")
            .arg(&port_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the emulator");
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p.trim().to_string();
            }
            assert!(
                Instant::now() < deadline,
                "the emulator did not start within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let emulator = Emulator {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            _dir: TempDir(dir),
            _slot: slot,
        };
        let health = emulator.control("GET", "/_lifeboat/health", None).await;
        assert_eq!(health["ok"], true);
        // Step Functions executes state machines (created after this), without Docker.
        emulator
            .control(
                "POST",
                "/moto-api/config",
                Some(json!({"stepfunctions": {"execute_state_machine": true},
                            "lambda": {"use_docker": false}})),
            )
            .await;
        emulator
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A call to the emulator's control API.
    pub async fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.endpoint);
        let req = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self.http.post(&url),
        };
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let resp = req.send().await.expect("control call");
        assert!(
            resp.status().is_success(),
            "{method} {path}: {}",
            resp.status()
        );
        resp.json().await.unwrap_or(Value::Null)
    }

    /// Time-scale the emulated AWS (see tests/emulator/lifeboat_ext.py).
    pub async fn configure(&self, config: Value) {
        self.control("POST", "/_lifeboat/config", Some(config))
            .await;
    }

    /// Make `region` dark (every service answers 503).
    pub async fn outage(&self, region: &str) {
        self.control(
            "POST",
            "/_lifeboat/outage",
            Some(json!({ "region": region })),
        )
        .await;
    }

    /// Settings for lifeboat's adapters: this endpoint, one attempt, short timeouts.
    pub fn settings(&self) -> AwsSettings {
        settings_for(&self.endpoint)
    }

    pub async fn sdk(&self, region: &str) -> SdkConfig {
        self.settings().load(region).await
    }
}

/// Settings for an emulator at `endpoint`: one attempt, short timeouts, test credentials.
pub fn settings_for(endpoint: &str) -> AwsSettings {
    AwsSettings {
        endpoint_url: Some(endpoint.to_string()),
        max_attempts: 1,
        connect_timeout: Duration::from_secs(2),
        // Generous: a loaded 2-core CI machine; the tests never wait on these.
        attempt_timeout: Duration::from_secs(30),
        operation_timeout: Duration::from_secs(60),
        credentials: Some(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "emulator",
        ))),
        profile: None,
        probe_timeout: lifeboat_aws::DEFAULT_PROBE_TIMEOUT,
    }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The two-region shop of `examples/plan.yaml`, seeded into an emulator.
#[derive(Debug)]
pub struct Shop {
    pub emulator: Emulator,
    pub east: SdkConfig,
    pub west: SdkConfig,
    pub state_machine_arn: String,
    /// The hosted zone of the plan's records (moto chooses the id; the stored plan names it).
    pub zone_id: String,
    /// SQS queue subscribed to the us-west-2 topic: what a person would receive.
    pub inbox_url: String,
    /// SQS queue subscribed to the us-east-1 topic (the home copy's announcements).
    pub home_inbox_url: String,
    /// The shop's ARC cluster: the example plan moves traffic with its routing controls.
    pub arc: ArcSeed,
    /// `examples/plan-record-upsert.yaml` with the emulator's names.
    pub record_upsert_plan: String,
}

/// The example plan's database endpoints, replaced by the emulator's per-region listeners.
pub const PLAN_EAST_DB_ENDPOINT: &str = "shop-use1.cluster-c0shop.us-east-1.rds.amazonaws.com:5432";
pub const PLAN_WEST_DB_ENDPOINT: &str = "shop-usw2.cluster-c0shop.us-west-2.rds.amazonaws.com:5432";

/// Each region's database endpoint in the emulator (its data plane): (us-east-1, us-west-2).
async fn db_endpoints(endpoint: &str) -> (String, String) {
    let map: Value = reqwest::Client::new()
        .post(format!("{endpoint}/_lifeboat/db-endpoints"))
        .json(&json!({"regions": [EAST, WEST]}))
        .send()
        .await
        .expect("db endpoints")
        .json()
        .await
        .expect("db endpoints json");
    let get = |r: &str| map[r].as_str().expect("endpoint").to_string();
    (get(EAST), get(WEST))
}

pub fn plan_text() -> String {
    std::fs::read_to_string(repo_root().join("examples/plan.yaml")).expect("example plan")
}

/// The same shop moving traffic by record UPSERT (`examples/plan-record-upsert.yaml`).
pub fn record_upsert_plan_text() -> String {
    std::fs::read_to_string(repo_root().join("examples/plan-record-upsert.yaml"))
        .expect("record_upsert example plan")
}

/// The example plan's routing controls, replaced by the emulator's.
pub const PLAN_EAST_ROUTING_CONTROL: &str = "arn:aws:route53-recovery-control::123456789012:controlpanel/c0shoppanel/routingcontrol/c0shopuse1";
pub const PLAN_WEST_ROUTING_CONTROL: &str = "arn:aws:route53-recovery-control::123456789012:controlpanel/c0shoppanel/routingcontrol/c0shopusw2";
/// The regions of the example's ARC cluster endpoints, in the plan's order.
pub const ARC_ENDPOINT_REGIONS: [&str; 5] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "ap-northeast-1",
    "ap-southeast-2",
];

/// The example plan's ARC cluster endpoint in `region`.
pub fn plan_arc_endpoint(region: &str) -> String {
    format!("https://host-c0shop.route53-recovery-cluster.{region}.amazonaws.com/v1")
}

/// The shop's ARC cluster in the emulator.
#[derive(Debug, Clone)]
pub struct ArcSeed {
    /// (region, endpoint URL), in the plan's order.
    pub endpoints: Vec<(String, String)>,
    /// The routing controls of us-east-1 and us-west-2.
    pub east: String,
    pub west: String,
    /// The assertion rule "at least one region On".
    pub safety_rule: String,
}

/// GIVEN the shop's ARC cluster: an endpoint in each of the plan's five regions, a control panel
/// with one routing control per region (us-east-1 On), and the assertion rule AWS recommends for
/// active/passive failover: at least one of them On.
async fn seed_arc(endpoint: &str) -> ArcSeed {
    let out: Value = reqwest::Client::new()
        .post(format!("{endpoint}/_lifeboat/arc"))
        .json(&json!({
            "endpoint_regions": ARC_ENDPOINT_REGIONS,
            "control_panel": "shop",
            "routing_controls": [
                {"name": "shop-use1", "state": "On"},
                {"name": "shop-usw2", "state": "Off"},
            ],
            "assertion_rules": [
                {"name": "one-region-on", "at_least": 1, "controls": ["shop-use1", "shop-usw2"]},
            ],
        }))
        .send()
        .await
        .expect("arc")
        .error_for_status()
        .expect("arc seeded")
        .json()
        .await
        .expect("arc json");
    let s = |v: &Value| v.as_str().expect("string").to_string();
    ArcSeed {
        endpoints: out["cluster_endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .map(|e| (s(&e["region"]), s(&e["endpoint"])))
            .collect(),
        east: s(&out["routing_controls"]["shop-use1"]["arn"]),
        west: s(&out["routing_controls"]["shop-usw2"]["arn"]),
        safety_rule: s(&out["safety_rules"]["one-region-on"]),
    }
}

/// A plan text with the example's names replaced by the emulator's resources.
fn localized(text: &str, zone_id: &str, db: &(String, String), arc: &ArcSeed) -> String {
    let mut text = text
        .replace(PLAN_ZONE_ID, zone_id)
        .replace(PLAN_EAST_DB_ENDPOINT, &db.0)
        .replace(PLAN_WEST_DB_ENDPOINT, &db.1)
        .replace(PLAN_EAST_ROUTING_CONTROL, &arc.east)
        .replace(PLAN_WEST_ROUTING_CONTROL, &arc.west);
    for (region, url) in &arc.endpoints {
        text = text.replace(&plan_arc_endpoint(region), url);
    }
    text
}

impl Shop {
    /// GIVEN: a global database written in us-east-1 with a secondary in us-west-2, the plan in
    /// SSM (us-west-2), the failover state machine, the topic (with a subscribed queue), the
    /// canary alarm in ALARM and a replication lag of `lag_ms` (negative: no datapoint, the lag
    /// is unknown).
    pub async fn seed(lag_ms: f64) -> Shop {
        let emulator = Emulator::start().await;
        let seeded = Seeded::into_endpoint(emulator.endpoint(), lag_ms).await;
        Shop {
            emulator,
            east: seeded.east,
            west: seeded.west,
            state_machine_arn: seeded.state_machine_arn,
            zone_id: seeded.zone_id,
            inbox_url: seeded.inbox_url,
            home_inbox_url: seeded.home_inbox_url,
            arc: seeded.arc,
            record_upsert_plan: seeded.record_upsert_plan,
        }
    }
}

/// The shop's resources, seeded into an emulator at some endpoint (also `lifeboat-seed`).
#[derive(Debug)]
pub struct Seeded {
    pub east: SdkConfig,
    pub west: SdkConfig,
    pub state_machine_arn: String,
    pub zone_id: String,
    pub inbox_url: String,
    pub home_inbox_url: String,
    /// The shop's ARC cluster (the example plan's traffic mode).
    pub arc: ArcSeed,
    /// `examples/plan-record-upsert.yaml` with the emulator's names.
    pub record_upsert_plan: String,
}

/// An Aurora Serverless v2 capacity range.
fn acu(min: f64, max: f64) -> aws_sdk_rds::types::ServerlessV2ScalingConfiguration {
    aws_sdk_rds::types::ServerlessV2ScalingConfiguration::builder()
        .min_capacity(min)
        .max_capacity(max)
        .build()
}

impl Seeded {
    pub async fn into_endpoint(endpoint: &str, lag_ms: f64) -> Seeded {
        let settings = settings_for(endpoint);
        let east = settings.load(EAST).await;
        let west = settings.load(WEST).await;

        let rds_east = aws_sdk_rds::Client::new(&east);
        let rds_west = aws_sdk_rds::Client::new(&west);
        let primary = rds_east
            .create_db_cluster()
            .db_cluster_identifier("shop-use1")
            .engine("aurora-postgresql")
            .serverless_v2_scaling_configuration(acu(8.0, 64.0))
            .master_username("shop")
            .master_user_password("emulated-only-0")
            .send()
            .await
            .expect("primary cluster");
        let primary_arn = primary
            .db_cluster()
            .and_then(|c| c.db_cluster_arn())
            .expect("arn");
        assert_eq!(primary_arn, EAST_CLUSTER);
        rds_east
            .create_global_cluster()
            .global_cluster_identifier(GLOBAL)
            .source_db_cluster_identifier(primary_arn)
            .send()
            .await
            .expect("global cluster");
        rds_west
            .create_db_cluster()
            .db_cluster_identifier("shop-usw2")
            .engine("aurora-postgresql")
            .global_cluster_identifier(GLOBAL)
            // the plan's standby range (its database_capacity)
            .serverless_v2_scaling_configuration(acu(0.5, 16.0))
            .send()
            .await
            .expect("secondary cluster");

        let zone_id = seed_zone(&east).await;
        let db_endpoints = db_endpoints(endpoint).await;
        let arc = seed_arc(endpoint).await;
        for (cfg, active) in [(&east, true), (&west, false)] {
            seed_compute(cfg, active).await;
        }
        seed_buckets(&east, &west).await;

        let ssm = aws_sdk_ssm::Client::new(&west);
        ssm.put_parameter()
            .name(PLAN_PARAMETER)
            .value(localized(&plan_text(), &zone_id, &db_endpoints, &arc))
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .expect("plan");

        // The key that signs approval links (SecureString; the emulator's is not secret).
        ssm.put_parameter()
            .name(LINK_SECRET_PARAMETER)
            .value(format!("emulated-link-secret-{}", std::process::id()))
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .expect("link secret");

        let sfn = aws_sdk_sfn::Client::new(&west);
        let sm = sfn
            .create_state_machine()
            .name(STATE_MACHINE)
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/lifeboat-failover"))
            .definition(r#"{"StartAt":"Hold","States":{"Hold":{"Type":"Pass","End":true}}}"#)
            .send()
            .await
            .expect("state machine");

        let mut inbox_url = String::new();
        let mut home_inbox_url = String::new();
        for cfg in [&east, &west] {
            let sns = aws_sdk_sns::Client::new(cfg);
            let topic = sns
                .create_topic()
                .name("lifeboat-shop")
                .send()
                .await
                .expect("topic");
            let sqs_queue = create_inbox(cfg).await;
            sns.subscribe()
                .topic_arn(topic.topic_arn().expect("topic arn"))
                .protocol("sqs")
                .endpoint(&sqs_queue.1)
                .send()
                .await
                .expect("subscribe");
            if cfg.region().map(|r| r.as_ref()) == Some(WEST) {
                inbox_url = sqs_queue.0;
            } else {
                home_inbox_url = sqs_queue.0;
            }
        }

        let cw = aws_sdk_cloudwatch::Client::new(&west);
        cw.put_metric_alarm()
            .alarm_name(ALARM)
            .namespace("Lifeboat")
            .metric_name("PrimaryProbeFailures")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(3.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
            )
            .send()
            .await
            .expect("alarm");
        cw.set_alarm_state()
            .alarm_name(ALARM)
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("3 of 5 probes of us-east-1 failed")
            .send()
            .await
            .expect("alarm state");

        let record_upsert_plan =
            localized(&record_upsert_plan_text(), &zone_id, &db_endpoints, &arc);
        let seeded = Seeded {
            east,
            west,
            state_machine_arn: sm.state_machine_arn().to_string(),
            zone_id,
            inbox_url,
            home_inbox_url,
            record_upsert_plan,
            arc,
        };
        // A negative lag: no datapoint at all (the lag is unknown).
        if lag_ms >= 0.0 {
            set_lag(&seeded.west, lag_ms).await;
        }
        seeded
    }
}

/// The plan's buckets: versioned, each replicating into the other region's.
async fn seed_buckets(east: &SdkConfig, west: &SdkConfig) {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
        DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination,
        ReplicationConfiguration, ReplicationRule, ReplicationRuleFilter, ReplicationRuleStatus,
        VersioningConfiguration,
    };
    for (cfg, bucket) in [(east, BUCKET_EAST), (west, BUCKET_WEST)] {
        let s3 = s3_client(cfg);
        let region = cfg.region().map(|r| r.to_string()).unwrap_or_default();
        let mut create = s3.create_bucket().bucket(bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        create.send().await.expect("bucket");
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("versioning");
    }
    for (cfg, bucket, other) in [
        (east, BUCKET_EAST, BUCKET_WEST),
        (west, BUCKET_WEST, BUCKET_EAST),
    ] {
        s3_client(cfg)
            .put_bucket_replication()
            .bucket(bucket)
            .replication_configuration(
                ReplicationConfiguration::builder()
                    .role(format!("arn:aws:iam::{ACCOUNT}:role/s3-replication"))
                    .rules(
                        ReplicationRule::builder()
                            .id("to-the-other-region")
                            .priority(1)
                            .status(ReplicationRuleStatus::Enabled)
                            .filter(ReplicationRuleFilter::builder().prefix("").build())
                            .delete_marker_replication(
                                DeleteMarkerReplication::builder()
                                    .status(DeleteMarkerReplicationStatus::Enabled)
                                    .build(),
                            )
                            .destination(
                                Destination::builder()
                                    .bucket(format!("arn:aws:s3:::{other}"))
                                    .build()
                                    .expect("destination"),
                            )
                            .build()
                            .expect("rule"),
                    )
                    .build()
                    .expect("replication"),
            )
            .send()
            .await
            .expect("bucket replication");
    }
}

/// An S3 client for the emulator (path-style addressing).
pub fn s3_client(cfg: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(cfg)
            .force_path_style(true)
            .build(),
    )
}

/// The buckets `examples/plan.yaml` names.
pub const BUCKET_EAST: &str = "shop-media-use1";
pub const BUCKET_WEST: &str = "shop-media-usw2";

/// The zone id `examples/plan.yaml` names; the seed replaces it with the emulator's.
pub const PLAN_ZONE_ID: &str = "Z0SHOPEXAMPLE";

/// `shop.example.com` with the records of the plan pointing at us-east-1 (the primary).
async fn seed_zone(cfg: &SdkConfig) -> String {
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let r53 = aws_sdk_route53::Client::new(cfg);
    let zone = r53
        .create_hosted_zone()
        .name("shop.example.com")
        .caller_reference(format!("lifeboat-seed-{}", std::process::id()))
        .send()
        .await
        .expect("hosted zone");
    let zone_id = zone
        .hosted_zone()
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .expect("zone id");
    let record = |name: &str, value: &str| {
        Change::builder()
            .action(ChangeAction::Upsert)
            .resource_record_set(
                ResourceRecordSet::builder()
                    .name(name)
                    .r#type(RrType::Cname)
                    .ttl(60)
                    .resource_records(ResourceRecord::builder().value(value).build().expect("rr"))
                    .build()
                    .expect("rrset"),
            )
            .build()
            .expect("change")
    };
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(record("www.shop.example.com", "use1.shop.example.com"))
                .changes(record("api.shop.example.com", "api-use1.shop.example.com"))
                .build()
                .expect("batch"),
        )
        .send()
        .await
        .expect("records");
    zone_id
}

/// ECS services `web` and `checkout` in cluster `shop`, and the region's workers group:
/// at active capacity in the primary, standby capacity in the other region.
async fn seed_compute(cfg: &SdkConfig, active: bool) {
    let region = cfg.region().map(|r| r.to_string()).expect("region");
    let ecs = aws_sdk_ecs::Client::new(cfg);
    ecs.create_cluster()
        .cluster_name("shop")
        .send()
        .await
        .expect("cluster");
    for (service, active_count) in [("web", 6), ("checkout", 4)] {
        ecs.register_task_definition()
            .family(service)
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name(service)
                    .image("public.ecr.aws/nginx/nginx:stable")
                    .memory(256)
                    .build(),
            )
            .send()
            .await
            .expect("task definition");
        ecs.create_service()
            .cluster("shop")
            .service_name(service)
            .task_definition(service)
            .desired_count(if active { active_count } else { 1 })
            .send()
            .await
            .expect("service");
    }
    let asg = aws_sdk_autoscaling::Client::new(cfg);
    let short = if region == EAST { "use1" } else { "usw2" };
    asg.create_launch_configuration()
        .launch_configuration_name(format!("shop-workers-{short}"))
        .image_id("ami-12c6146b")
        .instance_type("t3.micro")
        .send()
        .await
        .expect("launch configuration");
    let (min, desired) = if active { (4, 6) } else { (1, 1) };
    asg.create_auto_scaling_group()
        .auto_scaling_group_name(format!("shop-workers-{short}"))
        .launch_configuration_name(format!("shop-workers-{short}"))
        .min_size(min)
        .max_size(10)
        .desired_capacity(desired)
        .availability_zones(format!("{region}a"))
        .send()
        .await
        .expect("auto scaling group");
}

impl Shop {
    /// Store a changed plan (as an operator would with `aws ssm put-parameter`).
    pub async fn change_plan(&self, change: impl FnOnce(&mut lifeboat_core::plan::Plan)) {
        let ssm = aws_sdk_ssm::Client::new(&self.west);
        let text = ssm
            .get_parameter()
            .name(PLAN_PARAMETER)
            .send()
            .await
            .expect("plan")
            .parameter()
            .and_then(|p| p.value())
            .expect("plan value")
            .to_string();
        let mut plan = lifeboat_core::plan::ValidPlan::parse(&text)
            .expect("a valid plan")
            .plan()
            .clone();
        change(&mut plan);
        ssm.put_parameter()
            .name(PLAN_PARAMETER)
            .value(serde_json::to_string(&plan).expect("json"))
            .overwrite(true)
            .send()
            .await
            .expect("store the plan");
    }

    /// Move traffic by record UPSERT, as `examples/plan-record-upsert.yaml` does (the stored
    /// plan keeps everything else).
    pub async fn use_record_upsert(&self) {
        let record = lifeboat_core::plan::Plan::parse(&self.record_upsert_plan)
            .expect("the record_upsert plan parses");
        self.change_plan(|p| {
            p.traffic = record.traffic.clone();
            for (name, region) in &record.regions {
                if let Some(r) = p.regions.get_mut(name) {
                    r.traffic = region.traffic.clone();
                }
            }
        })
        .await;
    }

    /// The state of a routing control, as Route 53's health checkers see it.
    pub async fn routing_control_on(&self, arn: &str) -> bool {
        let out = self.emulator.control("GET", "/_lifeboat/arc", None).await;
        out["routing_controls"]
            .as_object()
            .expect("controls")
            .values()
            .find(|c| c["arn"] == arn)
            .map(|c| c["state"] == "On")
            .expect("a routing control of the shop")
    }

    /// Publish a replication-lag datapoint for the us-west-2 secondary (as Aurora does).
    pub async fn set_lag(&self, lag_ms: f64) {
        set_lag(&self.west, lag_ms).await;
    }

    /// The global database's writer, as described from us-west-2.
    pub async fn writer(&self) -> Option<String> {
        let out = aws_sdk_rds::Client::new(&self.west)
            .describe_global_clusters()
            .global_cluster_identifier(GLOBAL)
            .send()
            .await
            .expect("describe");
        out.global_clusters()
            .first()?
            .global_cluster_members()
            .iter()
            .find(|m| m.is_writer() == Some(true))
            .and_then(|m| m.db_cluster_arn())
            .map(str::to_string)
    }

    /// Names of the executions of the failover state machine.
    pub async fn executions(&self) -> Vec<String> {
        let out = aws_sdk_sfn::Client::new(&self.west)
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .send()
            .await
            .expect("list executions");
        out.executions()
            .iter()
            .map(|e| e.name().to_string())
            .collect()
    }

    /// Every parameter under /lifeboat (name, value).
    pub async fn parameters(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = Vec::new();
        let mut pages = aws_sdk_ssm::Client::new(&self.west)
            .get_parameters_by_path()
            .path("/lifeboat")
            .recursive(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for p in page.expect("parameters").parameters() {
                all.push((
                    p.name().unwrap_or_default().to_string(),
                    p.value().unwrap_or_default().to_string(),
                ));
            }
        }
        all.sort();
        all
    }

    /// Notifications delivered to the topic's subscriber so far: (subject, message).
    pub async fn inbox(&self) -> Vec<(String, String)> {
        let out = aws_sdk_sqs::Client::new(&self.west)
            .receive_message()
            .queue_url(&self.inbox_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive");
        out.messages()
            .iter()
            .filter_map(|m| serde_json::from_str::<Value>(m.body()?).ok())
            .map(|v| {
                (
                    v["Subject"].as_str().unwrap_or_default().to_string(),
                    v["Message"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

/// Publish one datapoint, `ago` before now.
pub async fn put_metric(
    cfg: &SdkConfig,
    namespace: &str,
    name: &str,
    dimensions: &[(&str, &str)],
    value: f64,
    ago: std::time::Duration,
) {
    let mut datum = aws_sdk_cloudwatch::types::MetricDatum::builder()
        .metric_name(name)
        .value(value)
        .timestamp(aws_smithy_types::DateTime::from(
            std::time::SystemTime::now() - ago,
        ));
    for (k, v) in dimensions {
        datum = datum.dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name(*k)
                .value(*v)
                .build(),
        );
    }
    aws_sdk_cloudwatch::Client::new(cfg)
        .put_metric_data()
        .namespace(namespace)
        .metric_data(datum.build())
        .send()
        .await
        .expect("put metric data");
}

impl Shop {
    /// Publish us-east-1's replication lag (as Aurora does for a secondary), `ago` before now.
    pub async fn set_home_lag(&self, lag_ms: f64, ago: std::time::Duration) {
        let dims = [("DBClusterIdentifier", "shop-use1")];
        put_metric(
            &self.east,
            "AWS/RDS",
            "AuroraGlobalDBReplicationLag",
            &dims,
            lag_ms,
            ago,
        )
        .await;
    }

    /// What CloudWatch Logs makes of the us-west-2 canary's EMF lines: us-east-1 probed healthy
    /// once a minute, from `from_minutes` ago up to `to_minutes` ago.
    pub async fn canary_saw_home_healthy(&self, from_minutes: u64, to_minutes: u64) {
        let dims = [("App", "shop"), ("ProbedRegion", EAST)];
        for m in to_minutes..=from_minutes {
            let ago = std::time::Duration::from_secs(m * 60);
            put_metric(&self.west, "Lifeboat", "PrimaryHealthy", &dims, 1.0, ago).await;
        }
    }

    /// An unplanned failover of the global database into us-west-2 (data loss allowed), as an
    /// operator would start it with the AWS CLI.
    pub async fn fail_over_into_west(&self) {
        aws_sdk_rds::Client::new(&self.west)
            .failover_global_cluster()
            .global_cluster_identifier(GLOBAL)
            .target_db_cluster_identifier(WEST_CLUSTER)
            .allow_data_loss(true)
            .send()
            .await
            .expect("failover");
    }

    /// A planned switchover of the global database back to us-east-1 (as the AWS CLI starts it).
    pub async fn switch_over_home(&self) {
        aws_sdk_rds::Client::new(&self.west)
            .switchover_global_cluster()
            .global_cluster_identifier(GLOBAL)
            .target_db_cluster_identifier(EAST_CLUSTER)
            .send()
            .await
            .expect("switchover");
    }

    /// Take us-east-1's cluster out of the global database (through us-east-1).
    pub async fn remove_home_from_global(&self) {
        aws_sdk_rds::Client::new(&self.east)
            .remove_from_global_cluster()
            .global_cluster_identifier(GLOBAL)
            .db_cluster_identifier(EAST_CLUSTER)
            .send()
            .await
            .expect("remove from global cluster");
    }

    /// us-east-1's member of the global database: (is writer, synchronization status).
    pub async fn home_member(&self) -> (bool, Option<String>) {
        let out = aws_sdk_rds::Client::new(&self.west)
            .describe_global_clusters()
            .global_cluster_identifier(GLOBAL)
            .send()
            .await
            .expect("describe");
        let m = out
            .global_clusters()
            .first()
            .and_then(|g| {
                g.global_cluster_members()
                    .iter()
                    .find(|m| m.db_cluster_arn() == Some(EAST_CLUSTER))
            })
            .expect("us-east-1 is a member");
        (
            m.is_writer() == Some(true),
            m.synchronization_status().map(|s| s.as_str().to_string()),
        )
    }
}

/// Publish a replication-lag datapoint for the us-west-2 secondary (as Aurora does).
pub async fn set_lag(west: &SdkConfig, lag_ms: f64) {
    aws_sdk_cloudwatch::Client::new(west)
        .put_metric_data()
        .namespace("AWS/RDS")
        .metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name("AuroraGlobalDBReplicationLag")
                .dimensions(
                    aws_sdk_cloudwatch::types::Dimension::builder()
                        .name("DBClusterIdentifier")
                        .value("shop-usw2")
                        .build(),
                )
                .value(lag_ms)
                .unit(aws_sdk_cloudwatch::types::StandardUnit::Milliseconds)
                .timestamp(aws_smithy_types::DateTime::from(
                    std::time::SystemTime::now(),
                ))
                .build(),
        )
        .send()
        .await
        .expect("lag metric");
}

async fn create_inbox(cfg: &SdkConfig) -> (String, String) {
    create_queue(cfg, "inbox").await
}

/// A queue: (url, arn).
pub async fn create_queue(cfg: &SdkConfig, name: &str) -> (String, String) {
    let sqs = aws_sdk_sqs::Client::new(cfg);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("queue")
        .queue_url()
        .expect("queue url")
        .to_string();
    let region = cfg.region().map(|r| r.to_string()).unwrap_or_default();
    (url, format!("arn:aws:sqs:{region}:{ACCOUNT}:{name}"))
}

/// The bodies of the messages in a queue (waiting up to 5 s for the first).
pub async fn receive(cfg: &SdkConfig, queue_url: &str) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(cfg);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        let bodies: Vec<String> = out
            .messages()
            .iter()
            .filter_map(|m| m.body().map(str::to_string))
            .collect();
        if !bodies.is_empty() || Instant::now() > deadline {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
