//! The `lifeboat` binary against the emulated two-region shop: what an operator types, what they
//! read, how the process exits, and that a dry run changes nothing.

// Test helpers fail the test they serve.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use aws_sdk_s3::types::BucketVersioningStatus;
use lifeboat_tests::{BUCKET_WEST, EAST, EAST_CLUSTER, Shop, WEST, repo_root, s3_client};
use serde_json::{Value, json};

/// What one `lifeboat` invocation printed, and its exit code.
#[derive(Debug)]
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

/// Run `lifeboat ARGS` as an operator would, against `endpoint` (none: no AWS at all).
fn lifeboat(endpoint: Option<&str>, args: &[&str]) -> Ran {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
    cmd.args(args)
        .current_dir(repo_root())
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("LIFEBOAT_APP")
        .env_remove("LIFEBOAT_PLAN_PARAMETER")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("LIFEBOAT_AWS_MAX_ATTEMPTS", "1");
    if let Some(url) = endpoint {
        cmd.arg("--endpoint-url").arg(url);
    }
    let out = cmd.output().expect("run lifeboat");
    Ran {
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Critical findings of a readiness report (JSON), as (check, subject).
fn critical(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "critical")
        .map(|f| {
            (
                f["check"].as_str().unwrap_or_default().to_string(),
                f["subject"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn plan_validate_accepts_the_example_and_names_every_problem_of_a_bad_plan() {
    // GIVEN the example plan, WHEN validated, THEN it is valid (exit 0)
    let ok = lifeboat(None, &["plan", "validate", "examples/plan.yaml"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.contains("valid plan for app 'shop'"), "{ok:?}");

    // GIVEN a plan with a bad region name and a negative guard
    let dir = std::env::temp_dir().join(format!("lifeboat-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.yaml");
    let text = std::fs::read_to_string(repo_root().join("examples/plan.yaml"))
        .expect("plan")
        .replace("primary_region: us-east-1", "primary_region: mars-1")
        .replace("rpo_guard_seconds: 30", "rpo_guard_seconds: 0");
    std::fs::write(&bad, text).expect("write");
    // WHEN validated (text and JSON)
    let ran = lifeboat(None, &["plan", "validate", bad.to_str().expect("utf-8")]);
    let as_json = lifeboat(
        None,
        &["--json", "plan", "validate", bad.to_str().expect("utf-8")],
    );
    // THEN exit 2, every problem named with its field
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(ran.stdout.contains("primary_region"), "{ran:?}");
    assert!(ran.stdout.contains("rpo_guard_seconds"), "{ran:?}");
    let v = as_json.json();
    assert_eq!(v["valid"], false);
    let fields: Vec<&str> = v["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    assert!(fields.iter().any(|f| f.contains("primary_region")), "{v}");
    assert!(
        fields.iter().any(|f| f.contains("rpo_guard_seconds")),
        "{v}"
    );

    // AND a file that is not there is "not found" (exit 4)
    let missing = lifeboat(None, &["plan", "validate", "no/such/plan.yaml"]);
    assert_eq!(missing.code, 4, "{missing:?}");
    assert!(missing.stderr.contains("NotFound"), "{missing:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn without_a_region_the_cli_says_so_and_exits_2() {
    let ran = lifeboat(Some("http://127.0.0.1:9"), &["status"]);
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(ran.stderr.contains("--region"), "{ran:?}");
}

#[tokio::test]
async fn readiness_of_the_seeded_shop_is_ready() {
    // GIVEN the shop as seeded: every resource of the plan in place, lag 0.8 s
    let shop = Shop::seed(800.0).await;
    // WHEN an operator asks whether a failover into us-west-2 would work
    let ran = lifeboat(
        Some(shop.emulator.endpoint()),
        &["--region", WEST, "--json", "readiness"],
    );
    // THEN ready: exit 0, no critical finding, and every kind of check was made
    assert_eq!(ran.code, 0, "{ran:?}");
    let report = ran.json();
    assert_eq!(
        critical(&report),
        Vec::<(String, String)>::new(),
        "{report}"
    );
    assert_eq!(report["writer_region"], EAST);
    let checks: std::collections::BTreeSet<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    for check in [
        "global_cluster",
        "target_cluster",
        "replication_lag",
        "ecs_service",
        "autoscaling_group",
        "routing_control",
        "topic",
        "secret",
        "bucket",
    ] {
        assert!(checks.contains(check), "no {check} finding: {report}");
    }
    // AND the human output says so
    let text = lifeboat(
        Some(shop.emulator.endpoint()),
        &["--region", WEST, "readiness"],
    );
    assert_eq!(text.code, 0, "{text:?}");
    assert!(text.stdout.contains("us-west-2"), "{text:?}");
}

#[tokio::test]
async fn readiness_names_a_missing_service_lag_above_the_guard_and_a_bucket_without_replication() {
    // GIVEN the shop, then broken three ways in us-west-2:
    let shop = Shop::seed(800.0).await;
    // a service the plan names is gone,
    let ecs = aws_sdk_ecs::Client::new(&shop.west);
    ecs.update_service()
        .cluster("shop")
        .service("web")
        .desired_count(0)
        .send()
        .await
        .expect("scale to 0");
    ecs.delete_service()
        .cluster("shop")
        .service("web")
        .force(true)
        .send()
        .await
        .expect("delete service");
    // replication lag is 45 s (the guard is 30 s),
    shop.set_lag(45_000.0).await;
    // and the standby's bucket no longer replicates.
    s3_client(&shop.west)
        .delete_bucket_replication()
        .bucket(BUCKET_WEST)
        .send()
        .await
        .expect("delete replication");

    // WHEN readiness is evaluated
    let ran = lifeboat(
        Some(shop.emulator.endpoint()),
        &["--region", WEST, "--json", "readiness"],
    );
    // THEN not ready (exit 3), each problem a critical finding naming its subject
    assert_eq!(ran.code, 3, "{ran:?}");
    let report = ran.json();
    let crit = critical(&report);
    let has =
        |check: &str, subject: &str| crit.iter().any(|(c, s)| c == check && s.contains(subject));
    assert!(has("ecs_service", "web"), "{crit:?}");
    assert!(!has("ecs_service", "checkout"), "{crit:?}");
    assert!(has("replication_lag", WEST), "{crit:?}");
    assert!(has("bucket", BUCKET_WEST), "{crit:?}");
    assert_eq!(crit.len(), 3, "only the three breaks: {crit:?}");
    // AND the human output lists them
    let text = lifeboat(
        Some(shop.emulator.endpoint()),
        &["--region", WEST, "readiness"],
    );
    assert_eq!(text.code, 3, "{text:?}");
    assert!(text.stdout.contains(BUCKET_WEST), "{text:?}");

    // AND versioning suspended is a finding of its own
    s3_client(&shop.east)
        .put_bucket_versioning()
        .bucket(lifeboat_tests::BUCKET_EAST)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("suspend versioning");
    let again = lifeboat(
        Some(shop.emulator.endpoint()),
        &["--region", WEST, "--json", "readiness"],
    );
    let crit = critical(&again.json());
    assert!(
        crit.iter()
            .any(|(c, s)| c == "bucket" && s.contains(lifeboat_tests::BUCKET_EAST)),
        "{crit:?}"
    );
}

/// Everything a failover would change, as it stands now (through us-west-2, and through
/// us-east-1 too unless it is dark).
async fn snapshot(shop: &Shop, east_up: bool) -> Value {
    let mut services = Vec::new();
    let mut groups = Vec::new();
    let regions = if east_up {
        vec![&shop.east, &shop.west]
    } else {
        vec![&shop.west]
    };
    for cfg in regions {
        let out = aws_sdk_ecs::Client::new(cfg)
            .describe_services()
            .cluster("shop")
            .services("web")
            .services("checkout")
            .send()
            .await
            .expect("services");
        for s in out.services() {
            services.push(json!([s.service_name(), s.desired_count()]));
        }
        let out = aws_sdk_autoscaling::Client::new(cfg)
            .describe_auto_scaling_groups()
            .send()
            .await
            .expect("groups");
        for g in out.auto_scaling_groups() {
            groups.push(json!([
                g.auto_scaling_group_name(),
                g.min_size(),
                g.desired_capacity()
            ]));
        }
    }
    let records = aws_sdk_route53::Client::new(&shop.west)
        .list_resource_record_sets()
        .hosted_zone_id(&shop.zone_id)
        .send()
        .await
        .expect("records");
    let records: Vec<Value> = records
        .resource_record_sets()
        .iter()
        .map(|r| {
            json!([
                r.name(),
                r.r#type().as_str(),
                r.resource_records()
                    .iter()
                    .map(|v| v.value().to_string())
                    .collect::<Vec<_>>()
            ])
        })
        .collect();
    json!({
        "writer": shop.writer().await,
        "routing_controls": [
            shop.routing_control_on(&shop.arc.east).await,
            shop.routing_control_on(&shop.arc.west).await,
        ],
        "parameters": shop.parameters().await,
        "executions": shop.executions().await,
        "services": services,
        "groups": groups,
        "records": records,
        "inbox": shop.inbox().await.len(),
    })
}

/// `needles` appear in `text` in this order.
fn assert_in_order(text: &str, needles: &[&str]) {
    let mut at = 0;
    for needle in needles {
        let found = text[at..]
            .find(needle)
            .unwrap_or_else(|| panic!("'{needle}' not after byte {at}:\n{text}"));
        at += found;
    }
}

/// `lifeboat failover --to us-west-2 --dry-run` against the shop.
fn dry_run_failover(shop: &Shop) -> Ran {
    lifeboat(
        Some(shop.emulator.endpoint()),
        &[
            "--region",
            WEST,
            "failover",
            "--to",
            WEST,
            "--dry-run",
            "--state-machine-arn",
            &shop.state_machine_arn,
        ],
    )
}

/// GIVEN auto scaling already took a DR service above the plan's active count, WHEN an
/// operator asks for a dry run, THEN it shows what dr-scale-up would do (scale-up never lowers:
/// the count is kept), not the plan's count. Fails on 36271bd (the dry run said `8 -> 6`, its
/// own copy of the capacity rule).
#[tokio::test]
async fn a_dry_run_shows_the_capacity_the_scale_up_would_set_not_the_plans() {
    let shop = Shop::seed(800.0).await;
    aws_sdk_ecs::Client::new(&shop.west)
        .update_service()
        .cluster("shop")
        .service("web")
        .desired_count(8)
        .send()
        .await
        .expect("scale web to 8");
    let ran = dry_run_failover(&shop);
    assert_eq!(ran.code, 0, "{ran:?}");
    assert_in_order(
        &ran.stdout,
        &[
            "ECS us-west-2/shop/web desired 8 -> 8 (kept: above the plan's 6)",
            "ECS us-west-2/shop/checkout desired 1 -> 4",
        ],
    );
}

#[tokio::test]
async fn a_dry_run_prints_every_action_in_order_and_changes_nothing() {
    // GIVEN the shop (us-east-1 writing, us-west-2 at standby capacity)
    let shop = Shop::seed(800.0).await;
    let before = snapshot(&shop, true).await;
    // WHEN an operator asks for a dry run of a failover into us-west-2
    let ran = dry_run_failover(&shop);
    // THEN it says what it would do, step by step, in the order the machine does it
    assert_eq!(ran.code, 0, "{ran:?}");
    let (west_on, east_off) = (
        format!("{}=On", shop.arc.west),
        format!("{}=Off", shop.arc.east),
    );
    assert!(ran.stdout.starts_with("DRY RUN"), "{ran:?}");
    assert!(ran.stdout.contains("Nothing was changed"), "{ran:?}");
    let order: &[&str] = &[
        "take the run lock",
        "start the state machine",
        "Assess",
        // an operator's failover asks a person as the plan says (issue 17: one person starts,
        // the plan's approver decides)
        "Approval: ask through the topic, wait up to 15 min",
        "Database: switchover of shop-global",
        "ECS us-west-2/shop/web desired 1 -> 6",
        "ECS us-west-2/shop/checkout desired 1 -> 4",
        "Auto Scaling us-west-2/shop-workers-usw2 min 1 desired 1 -> min 4 desired 6",
        // the example plan moves traffic on ARC's data plane (issue 18 item 9)
        "Traffic: one UpdateRoutingControlStates (ARC data plane, through the first of 5 cluster endpoints that answers: us-east-1, us-west-2, eu-west-1, ap-northeast-1, ap-southeast-2)",
        &west_on,
        &east_off,
        "Verify: GET https://usw2.shop.example.com/healthz",
        "Record: /lifeboat/shop/state",
        "Notify",
    ];
    assert_in_order(&ran.stdout, order);
    // AND nothing changed: capacities, records, writer, parameters, executions, notifications
    let after = snapshot(&shop, true).await;
    assert_eq!(before, after);
    assert_eq!(after["writer"], EAST_CLUSTER);

    // AND with the record_upsert plan (a shop without ARC) the traffic step is the UPSERT
    shop.use_record_upsert().await;
    let record_before = snapshot(&shop, true).await;
    let upsert = dry_run_failover(&shop);
    assert_eq!(upsert.code, 0, "{upsert:?}");
    assert_in_order(
        &upsert.stdout,
        &[
            "Auto Scaling us-west-2/shop-workers-usw2",
            "Traffic: UPSERT www.shop.example.com CNAME",
            "usw2.shop.example.com",
            "Verify: GET https://usw2.shop.example.com/healthz",
        ],
    );
    assert!(!upsert.stdout.contains("RoutingControl"), "{upsert:?}");
    assert_eq!(snapshot(&shop, true).await, record_before);

    // AND when us-east-1 is dark and the lag (45 s) is above the guard (30 s), the dry run says
    // lifeboat would refuse, and exits 3, still changing nothing
    shop.set_lag(45_000.0).await;
    shop.emulator.outage(EAST).await;
    let dark_before = snapshot(&shop, false).await;
    let refused = lifeboat(
        Some(shop.emulator.endpoint()),
        &[
            "--region",
            WEST,
            "--json",
            "failover",
            "--to",
            WEST,
            "--dry-run",
            "--state-machine-arn",
            &shop.state_machine_arn,
        ],
    );
    assert_eq!(refused.code, 3, "{refused:?}");
    let v = refused.json();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["would_start"], false);
    assert!(
        v["decision"].to_string().contains("guard"),
        "the refusal names the guard: {v}"
    );
    assert_eq!(snapshot(&shop, false).await, dark_before);
}

#[tokio::test]
async fn status_shows_the_writer_the_lag_and_the_last_run_and_report_writes_html() {
    // GIVEN the shop with a recorded run (as the Record step leaves it)
    let shop = Shop::seed(800.0).await;
    let run = "shop-to-us-west-2-1795309200";
    let report = json!({
        "app": "shop",
        "run_id": run,
        "source_region": EAST,
        "target_region": WEST,
        "outcome": "succeeded",
        "trigger": "alarm lifeboat-shop-primary-unhealthy",
        "execution_arn": format!("arn:aws:states:us-west-2:123456789012:execution:lifeboat-failover:{run}"),
        "timeline": {
            "triggered_at": "2026-11-22T03:00:00Z",
            "steps": [
                {"name": "Assess", "started_at": "2026-11-22T03:00:01Z", "ended_at": "2026-11-22T03:00:02Z", "outcome": "ok"},
                {"name": "Database", "started_at": "2026-11-22T03:00:02Z", "ended_at": "2026-11-22T03:01:10Z", "outcome": "ok"},
                {"name": "Traffic", "started_at": "2026-11-22T03:01:10Z", "ended_at": "2026-11-22T03:02:00Z", "outcome": "ok"}
            ],
            "verified_at": "2026-11-22T03:02:05Z",
            "rpo_estimate_seconds": 0.8
        },
        "rto_seconds": 125.0,
        "rpo_estimate_seconds": 0.8,
        "error": null,
        "open_steps": [],
        "active_region": WEST,
        "epoch": 1,
        "lock_released": true,
        "parameter": format!("/lifeboat/shop/runs/{run}"),
    });
    let ssm = aws_sdk_ssm::Client::new(&shop.west);
    ssm.put_parameter()
        .name(format!("/lifeboat/shop/runs/{run}"))
        .value(report.to_string())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("report");

    // WHEN the operator asks for the status
    let ran = lifeboat(
        Some(shop.emulator.endpoint()),
        &["--region", WEST, "--json", "status"],
    );
    // THEN the writer, its region and the standby's lag
    assert_eq!(ran.code, 0, "{ran:?}");
    let v = ran.json();
    assert_eq!(v["writer_region"], EAST, "{v}");
    assert_eq!(v["standby_region"], WEST, "{v}");
    assert_eq!(v["active_region"], EAST, "{v}");
    assert_eq!(v["replication_lag_seconds"], 0.8, "{v}");
    assert_eq!(v["runs_in_progress"], json!([]), "{v}");
    let text = lifeboat(
        Some(shop.emulator.endpoint()),
        &["--region", WEST, "status"],
    );
    assert!(
        text.stdout.contains("database writer us-east-1"),
        "{text:?}"
    );
    assert!(
        text.stdout.contains("0.8 s (us-west-2; guard 30 s)"),
        "{text:?}"
    );

    // WHEN a lock is left that names no running execution (taken long ago)
    ssm.put_parameter()
        .name("/lifeboat/shop/lock")
        .value(
            json!({"run_id": "shop-to-us-west-2-1", "target_region": WEST,
                   "acquired_at": "2026-11-22T03:00:00Z",
                   "execution_arn": "arn:aws:states:us-west-2:123456789012:execution:lifeboat-failover:shop-to-us-west-2-1"})
            .to_string(),
        )
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("lock");
    // THEN status shows it as a stale lock, not as a run in progress
    let v = lifeboat(
        Some(shop.emulator.endpoint()),
        &["--region", WEST, "--json", "status"],
    )
    .json();
    assert_eq!(v["runs_in_progress"], json!([]), "{v}");
    let text = lifeboat(
        Some(shop.emulator.endpoint()),
        &["--region", WEST, "status"],
    );
    assert!(
        text.stdout
            .contains("STALE LOCK      in us-west-2: run shop-to-us-west-2-1"),
        "{text:?}"
    );
    ssm.delete_parameter()
        .name("/lifeboat/shop/lock")
        .send()
        .await
        .expect("unlock");

    // WHEN the run's report is asked for, with HTML
    let dir = std::env::temp_dir().join(format!("lifeboat-cli-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let html = dir.join("report.html");
    let ran = lifeboat(
        Some(shop.emulator.endpoint()),
        &["report", run, "--html", html.to_str().expect("utf-8")],
    );
    // THEN the timeline with RTO and RPO, and an HTML page with the chart
    assert_eq!(ran.code, 0, "{ran:?}");
    assert!(ran.stdout.contains("Database"), "{ran:?}");
    assert!(ran.stdout.contains("125"), "{ran:?}");
    let page = std::fs::read_to_string(&html).expect("html written");
    assert!(page.contains("<svg"), "no chart");
    assert!(page.contains(run));

    // AND a run that does not exist is "not found" (exit 4)
    let missing = lifeboat(
        Some(shop.emulator.endpoint()),
        &["report", "shop-to-us-west-2-1700000000"],
    );
    assert_eq!(missing.code, 4, "{missing:?}");
    // AND so is a plan parameter that is not there
    let no_plan = lifeboat(
        Some(shop.emulator.endpoint()),
        &[
            "--region",
            WEST,
            "--plan-parameter",
            "/lifeboat/nope/plan",
            "status",
        ],
    );
    assert_eq!(no_plan.code, 4, "{no_plan:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `lifeboat --region REGION --json failback --state-machine-arn SM EXTRA...` against `endpoint`.
fn failback_json(endpoint: &str, region: &str, sm: &str, extra: &[&str]) -> Ran {
    let mut args = vec![
        "--region",
        region,
        "--json",
        "failback",
        "--state-machine-arn",
        sm,
    ];
    args.extend_from_slice(extra);
    lifeboat(Some(endpoint), &args)
}

/// The reasons (`reason` tags) of a refused failback (`--json`).
fn failback_refusals(ran: &Ran) -> Vec<String> {
    let v = ran.json();
    let list = if v["refusals"].is_array() {
        &v["refusals"]
    } else {
        &v["reasons"]
    };
    list.as_array()
        .unwrap_or_else(|| panic!("no refusals: {v}"))
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 30 s");
}

#[tokio::test]
async fn failback_names_every_unmet_condition_until_home_is_ready_then_starts_the_run() {
    use std::time::Duration;
    let shop = Shop::seed(800.0).await;
    let endpoint = shop.emulator.endpoint();
    let sm = shop.state_machine_arn.clone();
    let failback = |extra: &[&str]| failback_json(endpoint, WEST, &sm, extra);

    // GIVEN the shop at home: there is nothing to fail back (every other gap named too)
    let ran = failback(&["--dry-run"]);
    assert_eq!(ran.code, 3, "{ran:?}");
    let why = failback_refusals(&ran);
    assert!(why.contains(&"already_home".to_string()), "{why:?}");

    // GIVEN us-east-1 dark and an unplanned failover into us-west-2 (data loss allowed)
    shop.emulator.outage(EAST).await;
    shop.fail_over_into_west().await;
    wait_until("us-west-2 writes", || async {
        shop.writer().await.as_deref() == Some(lifeboat_tests::WEST_CLUSTER)
    })
    .await;
    // THEN a failback is refused for every reason at once, and the dry run changes nothing
    let before = snapshot(&shop, false).await;
    let ran = failback(&["--dry-run"]);
    assert_eq!(ran.code, 3, "{ran:?}");
    assert_eq!(
        failback_refusals(&ran),
        [
            "home_not_synchronized",
            "home_cluster_unavailable",
            "lag_unknown",
            "home_unhealthy"
        ],
        "{}",
        ran.stdout
    );
    assert_eq!(snapshot(&shop, false).await, before);

    // WHEN us-east-1 is back and rebuilt as a secondary, but 5 s behind and seen healthy for
    // only 10 of the plan's 30 minutes
    shop.emulator
        .control("DELETE", "/_lifeboat/outage", None)
        .await;
    wait_until("us-east-1 connected again", || async {
        shop.home_member().await.1.as_deref() == Some("connected")
    })
    .await;
    shop.set_home_lag(5_000.0, Duration::from_secs(120)).await;
    shop.canary_saw_home_healthy(10, 0).await;
    let ran = failback(&["--dry-run"]);
    assert_eq!(
        failback_refusals(&ran),
        ["lag_above_threshold", "home_not_healthy_long_enough"],
        "{}",
        ran.stdout
    );
    let text = lifeboat(
        Some(endpoint),
        &[
            "--region",
            WEST,
            "failback",
            "--dry-run",
            "--state-machine-arn",
            &sm,
        ],
    );
    assert!(
        text.stdout.contains("above the failback threshold of 1s")
            && text.stdout.contains("fewer than the plan's 30 min"),
        "{text:?}"
    );

    // WHEN the lag is 0.2 s and home has been healthy for 40 minutes, but a run holds the lock
    shop.set_home_lag(200.0, Duration::ZERO).await;
    shop.canary_saw_home_healthy(40, 11).await;
    // (taken just now, its execution being started: a live lease)
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now");
    let lock = json!({"run_id": "shop-to-us-west-2-1", "target_region": WEST, "acquired_at": now});
    let ssm = aws_sdk_ssm::Client::new(&shop.west);
    ssm.put_parameter()
        .name("/lifeboat/shop/lock")
        .value(lock.to_string())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("lock");
    let why = failback_refusals(&failback(&["--dry-run"]));
    assert!(why.contains(&"run_in_progress".to_string()), "{why:?}");
    assert!(
        !why.contains(&"home_not_healthy_long_enough".to_string()),
        "{why:?}"
    );

    // WHEN the lock is free: the dry run lists every action in the machine's order, changes
    // nothing
    ssm.delete_parameter()
        .name("/lifeboat/shop/lock")
        .send()
        .await
        .expect("unlock");
    let before = snapshot(&shop, true).await;
    let dry = lifeboat(
        Some(endpoint),
        &[
            "--region",
            WEST,
            "failback",
            "--dry-run",
            "--state-machine-arn",
            &sm,
        ],
    );
    assert_eq!(dry.code, 0, "{dry:?}");
    let order = [
        "DRY RUN: failback of 'shop' from us-west-2 home to us-east-1",
        "take the run lock",
        "start the state machine",
        "Assess: take the failback snapshot again",
        "Approval: none (an operator asked",
        "Database: switchover of shop-global to arn:aws:rds:us-east-1:123456789012:cluster:shop-use1 (planned, RPO 0",
        "ECS us-east-1/shop/web desired 6 -> 6",
        "Traffic: one UpdateRoutingControlStates",
        &format!("{}=On", shop.arc.east),
        &format!("{}=Off", shop.arc.west),
        "Verify: GET https://use1.shop.example.com/healthz",
        "Standby (after verify): ECS us-west-2/shop/web desired 1 -> 1",
        "Standby (after verify): Auto Scaling us-west-2/shop-workers-usw2",
        "Record: /lifeboat/shop/state -> active region us-east-1",
        "Notify",
    ];
    assert_in_order(&dry.stdout, &order);
    assert_eq!(snapshot(&shop, true).await, before);

    // WHEN the operator runs it: the failback run starts, holding the lock
    let ran = failback(&[]);
    assert_eq!(ran.code, 0, "{ran:?}");
    let v = ran.json();
    assert_eq!(v["outcome"], "started", "{v}");
    let run_id = v["run_id"].as_str().expect("run id").to_string();
    assert!(run_id.starts_with("shop-back-to-us-east-1-"), "{run_id}");
    assert_eq!(v["request"]["kind"], "failback");
    assert_eq!(v["request"]["promotion"]["mode"], "switchover", "{v}");
    assert!(shop.executions().await.contains(&run_id));
    let held = shop
        .parameters()
        .await
        .into_iter()
        .find(|(n, _)| n == "/lifeboat/shop/lock")
        .expect("the lock is held");
    assert!(held.1.contains(&run_id), "{held:?}");
}

#[tokio::test]
async fn failback_names_a_stray_copy_an_operation_under_way_and_a_home_that_left() {
    let shop = Shop::seed(800.0).await;
    let endpoint = shop.emulator.endpoint();
    let sm = shop.state_machine_arn.clone();
    // GIVEN home's cluster taken out of the global database (it was the writer): nobody writes
    // and home is no member
    shop.remove_home_from_global().await;
    let ran = failback_json(endpoint, WEST, &sm, &["--dry-run"]);
    assert_eq!(ran.code, 3, "{ran:?}");
    let why = failback_refusals(&ran);
    assert!(
        why.contains(&"writer_unknown".to_string())
            && why.contains(&"home_not_a_member".to_string()),
        "{why:?}"
    );

    // GIVEN another shop, failed over into us-west-2, us-east-1 rebuilt and connected
    let shop = Shop::seed(800.0).await;
    let endpoint = shop.emulator.endpoint();
    shop.fail_over_into_west().await;
    wait_until("us-east-1 connected as a secondary", || async {
        shop.writer().await.as_deref() == Some(lifeboat_tests::WEST_CLUSTER)
            && shop.home_member().await.1.as_deref() == Some("connected")
    })
    .await;
    // WHEN the copy in us-east-1 (home, not serving the shop) is asked
    let plan = lifeboat_tests::plan_text();
    aws_sdk_ssm::Client::new(&shop.east)
        .put_parameter()
        .name(lifeboat_tests::PLAN_PARAMETER)
        .value(plan)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("plan in us-east-1");
    let east = failback_json(endpoint, EAST, &sm, &["--dry-run"]);
    // THEN it refuses: the copy in us-west-2 brings the shop home
    assert_eq!(east.code, 3, "{east:?}");
    assert!(
        failback_refusals(&east).contains(&"not_serving_here".to_string()),
        "{east:?}"
    );
    // WHEN a (slow) switchover home is already under way
    shop.emulator
        .configure(json!({"rds": {"switchover_seconds": 100_000}}))
        .await;
    shop.switch_over_home().await;
    let west = failback_json(endpoint, WEST, &sm, &["--dry-run"]);
    // THEN lifeboat waits for it to end
    assert_eq!(west.code, 3, "{west:?}");
    assert!(
        failback_refusals(&west).contains(&"operation_in_progress".to_string()),
        "{west:?}"
    );
}
