use super::*;
use crate::error::ErrorKind;

const EXAMPLE: &str = include_str!("../../../../examples/plan.yaml");

const RECORD_UPSERT_EXAMPLE: &str = include_str!("../../../../examples/plan-record-upsert.yaml");

fn example() -> Plan {
    Plan::parse(EXAMPLE).expect("the example plan parses")
}

/// The same shop moving traffic by record UPSERT (no ARC cluster).
fn record_example() -> Plan {
    Plan::parse(RECORD_UPSERT_EXAMPLE).expect("the record_upsert example parses")
}

fn problems(plan: Plan) -> Vec<Problem> {
    match plan.validate() {
        Ok(_) => Vec::new(),
        Err(e) => e.problems().to_vec(),
    }
}

fn fields(plan: Plan) -> Vec<String> {
    problems(plan).into_iter().map(|p| p.field).collect()
}

#[test]
fn the_example_plan_is_valid() {
    let plan = example().validate().expect("valid");
    assert_eq!(plan.app(), "shop");
    assert_eq!(plan.primary_region(), "us-east-1");
    assert_eq!(plan.other_region("us-east-1").ok(), Some("us-west-2"));
    assert_eq!(plan.rpo_guard(), Duration::from_secs(30));
    assert_eq!(
        plan.region_of_cluster("arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2"),
        Some("us-west-2")
    );
    assert_eq!(plan.parameter_prefix(), "/lifeboat/shop");
}

/// Issue 18 item 9: the example a user starts from is statically stable (a data-plane traffic
/// mode: a flip away from us-east-1 does not need us-east-1); the record_upsert one is the same
/// shop apart from traffic.
#[test]
fn the_example_moves_traffic_on_a_data_plane_and_the_record_example_is_the_same_shop() {
    let plan = example();
    assert_ne!(plan.traffic.mode, TrafficMode::RecordUpsert);
    assert_eq!(plan.traffic.mode, TrafficMode::RoutingControl);
    assert!(
        plan.traffic
            .arc_cluster_endpoints
            .iter()
            .any(|e| e.region != plan.primary_region),
        "an endpoint outside the primary's region"
    );
    let record = record_example();
    record.clone().validate().expect("valid");
    assert_eq!(record.traffic.mode, TrafficMode::RecordUpsert);
    let strip = |mut p: Plan| {
        p.traffic = example().traffic;
        for r in p.regions.values_mut() {
            r.traffic = RegionTraffic::default();
        }
        p
    };
    assert_eq!(strip(plan), strip(record));
}

#[test]
fn json_and_yaml_read_the_same_plan() {
    let yaml = example();
    let json = serde_json::to_string(&yaml).expect("serialises");
    assert_eq!(Plan::parse(&json).expect("json parses"), yaml);
}

#[test]
fn unknown_fields_are_syntax_errors_naming_the_field() {
    let text = EXAMPLE.replace("rpo_guard_seconds: 30", "rpo_guard_secs: 30");
    let err = Plan::parse(&text).expect_err("unknown field");
    assert!(matches!(err, PlanError::Syntax(_)));
    assert!(err.to_string().contains("rpo_guard_secs"), "{err}");
}

#[test]
fn garbage_is_a_syntax_error_not_a_panic() {
    for text in [
        "",
        "{",
        "[1,2]",
        "version: [",
        "\u{0}\u{1}",
        "app: 3\nversion: x",
    ] {
        assert!(Plan::parse(text).is_err(), "{text:?}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut plan = example();
    plan.version = 2;
    plan.app = "Shop!".into();
    plan.primary_region = "eu-west-1".into();
    plan.database.rpo_guard_seconds = 0;
    plan.triggers.alarms.clear();
    let west = plan.regions.get_mut("us-west-2").expect("region");
    west.db_cluster_arn = Some("arn:aws:rds:us-east-1:123456789012:cluster:shop-usw2".into());
    west.compute.ecs_services[0].active_count = 0;
    let got = fields(plan);
    for want in [
        "version",
        "app",
        "primary_region",
        "database.rpo_guard_seconds",
        "triggers.alarms",
        "regions.us-west-2.db_cluster_arn",
        "regions.us-west-2.compute.ecs_services[0].active_count",
    ] {
        assert!(got.iter().any(|f| f == want), "missing {want} in {got:?}");
    }
}

#[test]
fn exactly_two_regions() {
    let mut plan = example();
    plan.regions.remove("us-west-2");
    assert!(fields(plan).contains(&"regions".to_string()));
}

#[test]
fn approval_timeout_policy_must_be_complete() {
    let mut plan = example();
    plan.approval.on_timeout = OnTimeout::Proceed;
    assert_eq!(
        fields(plan.clone()),
        ["approval.proceed_after_outage_minutes"]
    );
    plan.approval.proceed_after_outage_minutes = Some(10);
    assert!(fields(plan.clone()).is_empty());
    plan.approval.on_timeout = OnTimeout::Abort;
    assert_eq!(fields(plan), ["approval.proceed_after_outage_minutes"]);
}

#[test]
fn contradictory_windows_are_named() {
    let mut plan = example();
    plan.triggers.incident_window_seconds = 900;
    plan.triggers.min_seconds_between_runs = 300;
    let found = problems(plan.clone());
    assert_eq!(
        found.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(),
        ["triggers.min_seconds_between_runs"]
    );
    assert!(
        found[0]
            .message
            .contains("triggers.incident_window_seconds (900 s)"),
        "{}",
        found[0].message
    );
    // 0: no pause at all (a closed run's next trigger starts a new attempt); >= the window: fine
    for ok in [0, 900, 3600] {
        plan.triggers.min_seconds_between_runs = ok;
        assert!(fields(plan.clone()).is_empty(), "{ok}");
    }
}

#[test]
fn the_approval_wait_and_the_step_deadlines_fit_the_execution_timeout() {
    let mut plan = example();
    // 180 min approval + 2 x 1800 s steps + 120 s verify = 14,520 s > 14,400 s
    plan.approval.timeout_minutes = 180;
    let found = problems(plan.clone());
    assert_eq!(
        found.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(),
        ["approval.timeout_minutes"]
    );
    assert!(found[0].message.contains("14520 s"), "{}", found[0].message);
    plan.approval.timeout_minutes = 178;
    assert!(fields(plan.clone()).is_empty());
    // proceeding after a timeout waits for the outage's minutes too
    plan.approval.on_timeout = OnTimeout::Proceed;
    plan.approval.proceed_after_outage_minutes = Some(30);
    assert_eq!(fields(plan), ["approval.timeout_minutes"]);
}

#[test]
fn a_record_ttl_longer_than_the_verify_deadline_is_named() {
    let mut plan = record_example();
    plan.traffic.verify_deadline_seconds = 45;
    let found = problems(plan.clone());
    let named: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
    // the example's four records (two per region) have a TTL of 60 s
    assert_eq!(named.len(), 4, "{named:?}");
    assert!(
        named
            .iter()
            .all(|f| f.starts_with("regions.") && f.ends_with(".ttl")),
        "{named:?}"
    );
    assert!(
        found[0]
            .message
            .contains("60 s is longer than traffic.verify_deadline_seconds (45 s)")
            && found[0].message.contains("at least 60"),
        "{}",
        found[0].message
    );
    plan.traffic.verify_deadline_seconds = 60;
    assert!(fields(plan).is_empty());
}

#[test]
fn traffic_mode_needs_its_resources_in_each_region() {
    let mut plan = record_example();
    plan.traffic.mode = TrafficMode::RoutingControl;
    let got = fields(plan);
    assert!(
        got.contains(&"traffic.arc_cluster_endpoints".to_string()),
        "{got:?}"
    );
    assert!(got.contains(&"regions.us-east-1.traffic.routing_control_arns".to_string()));
    assert!(got.contains(&"regions.us-west-2.traffic.routing_control_arns".to_string()));

    let mut plan = record_example();
    plan.traffic.mode = TrafficMode::HealthCheck;
    let got = fields(plan);
    assert!(got.contains(&"regions.us-east-1.traffic.health_check_ids".to_string()));

    let mut plan = example();
    plan.traffic.mode = TrafficMode::RecordUpsert;
    let got = fields(plan);
    assert!(got.contains(&"regions.us-east-1.traffic.hosted_zones".to_string()));
}

#[test]
fn arc_endpoints_are_https_or_an_emulator_on_this_machine() {
    for (url, ok) in [
        (
            "https://host-1.route53-recovery-cluster.us-west-2.amazonaws.com/v1",
            true,
        ),
        ("http://127.0.0.1:4566/_arc/us-west-2/v1", true),
        ("http://localhost:4566/_arc/us-west-2/v1", true),
        ("http://localhost/v1", true),
        (
            "http://host-1.route53-recovery-cluster.us-west-2.amazonaws.com/v1",
            false,
        ),
        ("http://127.0.0.1.example.com/v1", false),
        ("http://localhost:80x/v1", false),
        ("https://", false),
        ("ftp://127.0.0.1/v1", false),
    ] {
        let mut plan = example();
        plan.traffic.arc_cluster_endpoints[0].endpoint = url.into();
        let got = fields(plan);
        assert_eq!(got.is_empty(), ok, "{url}: {got:?}");
    }
}

#[test]
fn canary_rule_and_capacities_are_checked() {
    let mut plan = example();
    plan.triggers.canary = CanaryPlan {
        failures_required: 6,
        of_probes: 5,
    };
    let east = plan.regions.get_mut("us-east-1").expect("region");
    east.compute.autoscaling_groups[0].active = Capacity { min: 7, desired: 6 };
    east.health_endpoints[0].url = "ftp://x".into();
    let got = fields(plan);
    assert!(got.contains(&"triggers.canary.failures_required".to_string()));
    assert!(
        got.contains(&"regions.us-east-1.compute.autoscaling_groups[0].active.min".to_string())
    );
    assert!(got.contains(&"regions.us-east-1.health_endpoints[0].url".to_string()));
}

#[test]
fn region_lookup_errors_are_invalid_input() {
    let plan = example().validate().expect("valid");
    let err = plan.region("eu-west-1").expect_err("not in plan");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn region_names_and_arns() {
    for ok in [
        "us-east-1",
        "eu-central-2",
        "us-gov-west-1",
        "ap-southeast-4",
    ] {
        assert!(is_region_name(ok), "{ok}");
    }
    for bad in [
        "",
        "us",
        "us-east",
        "US-EAST-1",
        "us-east-x",
        "useast1",
        "us--1",
    ] {
        assert!(!is_region_name(bad), "{bad}");
    }
    assert_eq!(
        cluster_id_from_arn("arn:aws:rds:us-east-1:123456789012:cluster:shop-use1"),
        Some("shop-use1")
    );
    assert_eq!(cluster_id_from_arn("arn:aws:rds:us-east-1:1:db:x"), None);
    assert_eq!(cluster_id_from_arn("nonsense"), None);
}

#[test]
fn the_committed_json_schema_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/plan.schema.json");
    let generated = serde_json::to_string_pretty(&Plan::json_schema()).expect("json") + "\n";
    if std::env::var_os("LIFEBOAT_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &generated).expect("write schema");
    }
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
            .unwrap_or_default();
    assert!(
        committed == Plan::json_schema(),
        "schema/plan.schema.json is stale: run `make schema`"
    );
}

#[test]
fn the_canarys_probes_fit_its_timeout() {
    let mut plan = example();
    // rounds start every 9 s for 72 s (9 rounds); the last one may take 20 s: 92 s > 85 s
    for region in plan.regions.values_mut() {
        for ep in &mut region.health_endpoints {
            ep.timeout_ms = 20_000;
        }
    }
    let found = problems(plan.clone());
    assert_eq!(
        found.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(),
        ["triggers.canary.of_probes", "triggers.canary.of_probes"]
    );
    assert!(
        found[0].message.contains("92000 ms"),
        "{}",
        found[0].message
    );
    for region in plan.regions.values_mut() {
        for ep in &mut region.health_endpoints {
            ep.timeout_ms = 10_000; // 72 s + 10 s = 82 s
        }
    }
    assert!(fields(plan.clone()).is_empty());
    // more rounds than the watch holds: 10 rounds, 81 s + 10 s
    plan.triggers.canary.of_probes = 10;
    assert_eq!(fields(plan.clone()), ["triggers.canary.of_probes"; 2]);
    plan.triggers.canary.of_probes = 9;
    assert!(fields(plan).is_empty());
}

#[test]
fn fencing_defaults_to_zero_and_never_scales_up() {
    let plan = example().validate().expect("valid");
    assert_eq!(plan.fencing().compute_count, 0);
    let mut p = example();
    p.fencing.compute_count = 2; // the home region's standby counts are 1
    let f = fields(p);
    assert!(
        f.iter().filter(|f| *f == "fencing.compute_count").count() >= 3,
        "every standby level above the fenced count is named: {f:?}"
    );
    let mut p = example();
    p.fencing.compute_count = 1;
    assert!(p.validate().is_ok());
}

#[test]
fn a_db_endpoint_is_host_and_port() {
    let plan = example().validate().expect("valid");
    assert!(plan.region("us-east-1").unwrap().db_endpoint.is_some());
    for bad in [
        "shop-use1",
        "shop:0",
        "shop:99999",
        ":5432",
        "a b:5432",
        "\u{202e}x:1",
    ] {
        let mut p = example();
        p.regions.get_mut("us-east-1").unwrap().db_endpoint = Some(bad.into());
        assert_eq!(
            fields(p),
            ["regions.us-east-1.db_endpoint"],
            "{bad:?} must be refused"
        );
    }
}

#[test]
fn named_approvers_decide_alone_each_through_their_channel() {
    use crate::plan::{Approver, Approvers};
    let anyone = Approvers::default();
    assert!(anyone.may_decide(Approver::Email { address: "x@y.z" }));
    let named = Approvers {
        slack_user_ids: vec!["U0123ABCD".into()],
        emails: vec!["oncall@shop.example".into()],
    };
    assert!(named.may_decide(Approver::SlackUser { id: "U0123ABCD" }));
    assert!(!named.may_decide(Approver::SlackUser { id: "U9999" }));
    assert!(named.may_decide(Approver::Email {
        address: " OnCall@Shop.Example "
    }));
    assert!(!named.may_decide(Approver::Email {
        address: "U0123ABCD"
    }));
    let mut p = example();
    p.approval.approvers = Approvers {
        slack_user_ids: vec!["alice".into()],
        emails: vec!["not an address".into()],
    };
    assert_eq!(
        fields(p),
        [
            "approval.approvers.slack_user_ids[0]",
            "approval.approvers.emails[0]"
        ]
    );
}

#[test]
fn alertmanager_triggers_name_a_token_parameter_plan_regions_and_prometheus_labels() {
    let rule = |alertname: &str, labels: &[(&str, &str)], region: &str| AlertRule {
        alertname: alertname.into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        region: region.into(),
    };
    // GIVEN a plan acting on PrimaryRegionDown{severity="critical"} about us-east-1
    let mut plan = example();
    plan.triggers.alertmanager = Some(AlertmanagerPlan {
        token_parameter: "/lifeboat/shop/alertmanager-token".into(),
        alerts: vec![rule(
            "PrimaryRegionDown",
            &[("severity", "critical")],
            "us-east-1",
        )],
    });
    assert!(problems(plan.clone()).is_empty(), "{:?}", problems(plan));
    // WHEN the token is a value rather than a name, an alert names no plan region or a label
    // Prometheus could not carry, one is listed twice, or none is listed
    let mut bad = plan.clone();
    bad.triggers.alertmanager = Some(AlertmanagerPlan {
        token_parameter: "s3cr3t token".into(),
        alerts: vec![
            rule("PrimaryRegionDown", &[], "nyc3"),
            rule("PrimaryRegionDown", &[("bad-label", "x")], "us-east-1"),
            rule("PrimaryRegionDown", &[("alertname", "x")], "us-east-1"),
            rule(" ", &[], "us-east-1"),
            rule("PrimaryRegionDown", &[], "us-west-2"),
        ],
    });
    // THEN each problem names its field, and the token's value is never repeated
    let found = problems(bad);
    let named: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        named,
        [
            "triggers.alertmanager.token_parameter",
            "triggers.alertmanager.alerts[0].region",
            "triggers.alertmanager.alerts[1].labels",
            "triggers.alertmanager.alerts[2].labels",
            "triggers.alertmanager.alerts[3].alertname",
            "triggers.alertmanager.alerts[4]",
        ],
        "{found:?}"
    );
    assert!(found.iter().all(|p| !p.message.contains("s3cr3t")));
    let mut none = plan;
    if let Some(am) = none.triggers.alertmanager.as_mut() {
        am.alerts.clear();
    }
    assert_eq!(fields(none), ["triggers.alertmanager.alerts"]);
}

#[test]
fn what_the_plan_said_reaches_a_person_inert_and_bounded_in_every_problem() {
    // GIVEN a plan whose region name, ARNs, record type and endpoint region carry line breaks,
    // a bidi override and a flood
    let mut plan = example();
    let hostile = format!("us-east-1\n\u{202e}APPROVED{}", "x".repeat(5_000));
    plan.primary_region = hostile.clone();
    let region = plan.regions.get_mut("us-west-2").expect("region");
    region.db_cluster_arn = Some(format!("arn:aws:rds:{hostile}:123456789012:cluster:x"));
    region.notification_topic_arn = hostile.clone();
    let west = plan.regions.remove("us-west-2").expect("region");
    plan.regions.insert(hostile.clone(), west);
    plan.traffic.arc_cluster_endpoints[0].region = hostile.clone();
    // WHEN validated
    let found = problems(plan);
    // THEN every problem names its field and says why on one line, escaped, bounded
    assert!(found.len() >= 3, "{found:?}");
    for p in &found {
        for text in [&p.field, &p.message] {
            assert!(!text.contains('\n') && !text.contains('\u{202e}'), "{text}");
            assert!(text.chars().count() <= 1_000, "{}", text.chars().count());
        }
    }
    assert!(
        found
            .iter()
            .any(|p| p.message.contains("us-east-1\\u{a}\\u{202e}APPROVED")),
        "{found:?}"
    );
}

const DIGITALOCEAN_EXAMPLE: &str = include_str!("../../../../examples/plan-digitalocean.yaml");

/// Issue 22 item 1: traffic through DigitalOcean's DNS is a mode of the plan, with the API
/// token's SecureString named (never the token) and each region's records by domain.
#[test]
fn the_digitalocean_example_names_its_token_parameter_and_domains() {
    let plan = Plan::parse(DIGITALOCEAN_EXAMPLE).expect("parses");
    assert_eq!(plan.traffic.mode, TrafficMode::Digitalocean);
    assert_eq!(
        plan.traffic
            .digitalocean
            .as_ref()
            .map(|d| d.token_parameter.as_str()),
        Some("/lifeboat/shop/digitalocean-token")
    );
    for region in plan.regions.values() {
        assert_eq!(region.traffic.domains[0].domain, "shop.example.com");
        assert!(region.traffic.hosted_zones.is_empty());
    }
    plan.validate().expect("valid");
}

const DIGITALOCEAN_STACK_EXAMPLE: &str =
    include_str!("../../../../examples/plan-digitalocean-stack.yaml");

/// Issue 22 item 7: the README's plan of the whole DigitalOcean stack is a valid plan with every
/// provider of that stack, and only names its secrets.
#[test]
fn the_digitalocean_stack_example_is_valid_with_each_of_its_providers() {
    let plan = Plan::parse(DIGITALOCEAN_STACK_EXAMPLE).expect("parses");
    assert_eq!(plan.database.provider, DatabaseProvider::Patroni);
    assert_eq!(plan.traffic.mode, TrafficMode::Digitalocean);
    assert!(plan.cache.is_some());
    let alertmanager = plan
        .triggers
        .alertmanager
        .as_ref()
        .expect("an Alertmanager trigger");
    assert!(alertmanager.token_parameter.starts_with("/lifeboat/"));
    for (name, region) in &plan.regions {
        assert!(region.patroni.is_some(), "{name}");
        assert!(region.cache.is_some(), "{name}");
        assert!(region.db_cluster_arn.is_none(), "{name}");
        assert!(
            region.compute.ecs_services.is_empty() && region.compute.autoscaling_groups.is_empty(),
            "{name}: a DigitalOcean shop's droplets are not lifeboat's to scale"
        );
    }
    plan.validate().expect("valid");
}

#[test]
fn a_digitalocean_plan_without_its_token_or_domains_names_each_field() {
    let mut plan = Plan::parse(DIGITALOCEAN_EXAMPLE).expect("parses");
    plan.traffic.digitalocean = None;
    for region in plan.regions.values_mut() {
        region.traffic.domains.clear();
    }
    let f = fields(plan);
    assert!(f.contains(&"traffic.digitalocean".to_string()), "{f:?}");
    assert!(
        f.contains(&"regions.us-east-1.traffic.domains".to_string()),
        "{f:?}"
    );
    assert!(
        f.contains(&"regions.us-west-2.traffic.domains".to_string()),
        "{f:?}"
    );

    let mut plan = Plan::parse(DIGITALOCEAN_EXAMPLE).expect("parses");
    if let Some(api) = plan.traffic.digitalocean.as_mut() {
        api.token_parameter = "dop_v1_0123456789abcdef".into();
    }
    assert_eq!(
        fields(plan),
        vec!["traffic.digitalocean.token_parameter".to_string()],
        "a token written where its parameter's name belongs is refused"
    );

    // The token's settings outside the mode are a mistake, not ignored.
    let mut plan = record_example();
    plan.traffic.digitalocean = Some(DnsProviderPlan {
        token_parameter: "/lifeboat/shop/digitalocean-token".into(),
    });
    assert_eq!(fields(plan), vec!["traffic.digitalocean".to_string()]);
}

#[test]
fn digitalocean_records_must_be_in_their_domain_and_within_its_rules() {
    let mut plan = Plan::parse(DIGITALOCEAN_EXAMPLE).expect("parses");
    let east = plan.regions.get_mut("us-east-1").expect("east");
    let d = &mut east.traffic.domains[0];
    d.records[0].name = "www.other.example.org".into();
    d.records[1].ttl = 10;
    d.records[1]
        .values
        .push("api-spare.shop.example.com".into());
    let extra = d.clone();
    east.traffic.domains.push(extra);
    east.traffic.domains.push(DomainRecordsPlan {
        domain: "not a domain".into(),
        records: Vec::new(),
    });
    let f = problems(plan);
    let at = |field: &str| f.iter().filter(|p| p.field == field).count();
    let base = "regions.us-east-1.traffic.domains[0]";
    assert_eq!(at(&format!("{base}.records[0].name")), 1, "{f:?}");
    assert_eq!(at(&format!("{base}.records[1].ttl")), 1, "{f:?}");
    assert_eq!(at(&format!("{base}.records[1].values")), 1, "{f:?}");
    assert_eq!(
        at("regions.us-east-1.traffic.domains[1].domain"),
        1,
        "{f:?}"
    );
    assert_eq!(
        at("regions.us-east-1.traffic.domains[2].domain"),
        1,
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|p| p.message.contains("DigitalOcean's smallest TTL is 30 s")),
        "{f:?}"
    );
}

#[test]
fn the_cache_names_its_nodes_sentinels_and_password_parameter_in_each_region() {
    let plan = Plan::parse(DIGITALOCEAN_EXAMPLE).expect("parses");
    let valid = plan.clone().validate().expect("valid");
    let cache = valid.cache().expect("a cache");
    assert_eq!(cache.provider, CacheProvider::RedisSentinel);
    assert_eq!(cache.on_failover, CacheFailover::Promote);
    assert_eq!(
        cache.password_parameter.as_deref(),
        Some("/lifeboat/shop/cache-password")
    );
    let west = valid.region("us-west-2").expect("west");
    assert_eq!(west.cache.as_ref().map(|c| c.sentinels.len()), Some(3));
}

#[test]
fn a_cache_plan_names_each_wrong_field() {
    // GIVEN a region without its cache, a password written where its parameter's name belongs,
    // a master name with a space, a quorum more than the Sentinels, an address twice
    let mut plan = Plan::parse(DIGITALOCEAN_EXAMPLE).expect("parses");
    plan.regions.get_mut("us-east-1").expect("east").cache = None;
    if let Some(c) = plan.cache.as_mut() {
        c.password_parameter = Some("hunter2".into());
        c.master_name = "shop cache".into();
        c.quorum = 5;
    }
    if let Some(c) = plan
        .regions
        .get_mut("us-west-2")
        .and_then(|r| r.cache.as_mut())
    {
        c.nodes.push(c.nodes[0].clone());
        c.sentinels.push("not an address".into());
    }
    let f = fields(plan);
    for want in [
        "regions.us-east-1.cache",
        "cache.password_parameter",
        "cache.master_name",
        "cache.quorum",
        "regions.us-west-2.cache.nodes[2]",
        "regions.us-west-2.cache.sentinels[3]",
    ] {
        assert!(f.contains(&want.to_string()), "{want} in {f:?}");
    }

    // AND a region's cache without the plan's is a mistake, not ignored
    let mut plan = Plan::parse(DIGITALOCEAN_EXAMPLE).expect("parses");
    plan.cache = None;
    let f = fields(plan);
    assert_eq!(
        f,
        vec![
            "regions.us-east-1.cache".to_string(),
            "regions.us-west-2.cache".to_string()
        ]
    );

    // AND a region with no nodes or no Sentinels is named
    let mut plan = Plan::parse(DIGITALOCEAN_EXAMPLE).expect("parses");
    if let Some(c) = plan
        .regions
        .get_mut("us-west-2")
        .and_then(|r| r.cache.as_mut())
    {
        c.nodes.clear();
        c.sentinels.clear();
    }
    let f = fields(plan);
    assert!(
        f.contains(&"regions.us-west-2.cache.nodes".to_string()),
        "{f:?}"
    );
    assert!(
        f.contains(&"regions.us-west-2.cache.sentinels".to_string()),
        "{f:?}"
    );
}

/// The example shop under Patroni (the fakes' rewrite: members instead of cluster ARNs).
fn patroni_example() -> Plan {
    Plan::parse(&crate::fakes::plan_with_patroni(EXAMPLE)).expect("the Patroni example parses")
}

#[test]
fn a_patroni_plan_is_valid_and_names_its_members_and_secret_by_name() {
    let plan = patroni_example().validate().expect("valid");
    assert_eq!(plan.database_provider(), DatabaseProvider::Patroni);
    assert_eq!(
        plan.patroni_members("us-west-2").expect("members"),
        ["http://pg1.us-west-2.test:8008"]
    );
    assert_eq!(
        plan.database()
            .patroni
            .as_ref()
            .map(|p| p.password_parameter.as_str()),
        Some("/lifeboat/shop/patroni-password")
    );
}

#[test]
fn each_database_providers_fields_are_required_with_it_and_refused_under_the_other() {
    // Aurora's fields on a Patroni plan, and Patroni's missing
    let mut plan = patroni_example();
    plan.database.global_cluster_id = Some("shop-global".into());
    plan.database.patroni = None;
    let west = plan.regions.get_mut("us-west-2").expect("region");
    west.db_cluster_arn = Some("arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2".into());
    west.patroni = None;
    let got = fields(plan);
    for want in [
        "database.global_cluster_id",
        "database.patroni",
        "regions.us-west-2.db_cluster_arn",
        "regions.us-west-2.patroni",
    ] {
        assert!(got.iter().any(|f| f == want), "{want} not in {got:?}");
    }
    // Patroni's fields on an Aurora plan
    let mut plan = example();
    plan.database.patroni = patroni_example().database.patroni;
    plan.regions.get_mut("us-east-1").expect("region").patroni =
        patroni_example().regions["us-east-1"].patroni.clone();
    let found = problems(plan);
    for want in ["database.patroni", "regions.us-east-1.patroni"] {
        let p = found
            .iter()
            .find(|p| p.field == want)
            .unwrap_or_else(|| panic!("{want} not in {found:?}"));
        assert!(p.message.contains("aurora_global"), "{p:?}");
    }
}

#[test]
fn patroni_members_must_be_plain_rest_urls_each_in_one_region() {
    let mut plan = patroni_example();
    let east = plan.regions["us-east-1"].patroni.clone().expect("east");
    let west = plan.regions.get_mut("us-west-2").expect("region");
    west.patroni = Some(RegionPatroniPlan {
        members: vec![
            "http://lifeboat:secret@10.0.0.5:8008".into(),
            "ftp://10.0.0.6:8008".into(),
            east.members[0].clone(),
        ],
    });
    plan.database.patroni = Some(PatroniPlan {
        username: "life boat".into(),
        password_parameter: "not a parameter".into(),
    });
    let found = problems(plan);
    let text = format!("{found:?}");
    for want in [
        "regions.us-west-2.patroni.members[0]",
        "regions.us-west-2.patroni.members[1]",
        "database.patroni.username",
        "database.patroni.password_parameter",
    ] {
        assert!(
            found.iter().any(|p| p.field == want),
            "{want} not in {text}"
        );
    }
    assert!(text.contains("listed twice"), "{text}");
    assert!(
        !text.contains("secret"),
        "a credential in a URL is never repeated: {text}"
    );
    // database capacity is Aurora's
    let capacity = example().regions["us-west-2"].database_capacity.clone();
    assert!(capacity.is_some(), "the example sizes us-west-2's database");
    let mut plan = patroni_example();
    plan.regions
        .get_mut("us-west-2")
        .expect("region")
        .database_capacity = capacity;
    let got = fields(plan);
    assert!(
        got.iter()
            .any(|f| f == "regions.us-west-2.database_capacity"),
        "{got:?}"
    );
}

const LINODE_EXAMPLE: &str = include_str!("../../../../examples/plan-linode.yaml");

/// Issue 23 item 3: traffic through Linode's DNS Manager is a mode of the plan, with the API
/// token's SecureString named and each region's records by domain.
#[test]
fn the_linode_example_names_its_token_parameter_and_domains() {
    let plan = Plan::parse(LINODE_EXAMPLE).expect("parses");
    assert_eq!(plan.traffic.mode, TrafficMode::Linode);
    assert_eq!(plan.traffic.mode.dns_provider(), Some(DnsProvider::Linode));
    assert_eq!(
        plan.traffic
            .linode
            .as_ref()
            .map(|d| d.token_parameter.as_str()),
        Some("/lifeboat/shop/linode-token")
    );
    assert!(plan.traffic.digitalocean.is_none());
    plan.validate().expect("valid");
}

#[test]
fn a_linode_plan_without_its_token_or_with_digitaloceans_names_each_field() {
    let mut plan = Plan::parse(LINODE_EXAMPLE).expect("parses");
    plan.traffic.linode = None;
    plan.traffic.digitalocean = Some(DnsProviderPlan {
        token_parameter: "/lifeboat/shop/digitalocean-token".into(),
    });
    let f = fields(plan);
    assert!(f.contains(&"traffic.linode".to_string()), "{f:?}");
    assert!(f.contains(&"traffic.digitalocean".to_string()), "{f:?}");

    // Linode's token outside its mode is a mistake, not ignored.
    let mut plan = Plan::parse(DIGITALOCEAN_EXAMPLE).expect("parses");
    plan.traffic.linode = Some(DnsProviderPlan {
        token_parameter: "/lifeboat/shop/linode-token".into(),
    });
    assert_eq!(fields(plan), vec!["traffic.linode".to_string()]);
}

/// Linode rounds a TTL it does not keep to the nearest one it does: a record of 60 s would
/// read back as 300 s and never as planned, so every flip would fail its read-back. And Linode
/// names the apex only for A and AAAA.
#[test]
fn linode_records_need_a_ttl_linode_keeps_and_an_apex_it_can_name() {
    let mut plan = Plan::parse(LINODE_EXAMPLE).expect("parses");
    let east = plan.regions.get_mut("us-east-1").expect("east");
    let d = &mut east.traffic.domains[0];
    d.records[0].ttl = 60;
    d.records.push(RecordPlan {
        name: "shop.example.com".into(),
        record_type: "TXT".into(),
        ttl: 300,
        values: vec!["v=spf1 -all".into()],
    });
    d.records.push(RecordPlan {
        name: "shop.example.com".into(),
        record_type: "A".into(),
        ttl: 3600,
        values: vec!["203.0.113.10".into()],
    });
    let f = problems(plan);
    let base = "regions.us-east-1.traffic.domains[0]";
    let ttl = f
        .iter()
        .find(|p| p.field == format!("{base}.records[0].ttl"))
        .expect("the TTL of 60 s");
    assert!(ttl.message.contains("300, 3600"), "{ttl:?}");
    assert!(
        f.iter()
            .any(|p| p.field == format!("{base}.records[2].name") && p.message.contains("TXT")),
        "{f:?}"
    );
    // the apex A record of 3600 s is fine by Linode, but longer than verify's deadline
    assert!(
        f.iter()
            .all(|p| p.field != format!("{base}.records[3].name")),
        "{f:?}"
    );

    // DigitalOcean's rules are its own: 60 s is fine there, and a TXT at the apex too
    let plan = Plan::parse(DIGITALOCEAN_EXAMPLE).expect("parses");
    plan.validate().expect("valid");
}

/// Issue 23 item 2: a region's Kubernetes cluster in the plan: its API, its token's and CA's
/// parameters, and workloads with standby and active replicas, each rule named by its field.
#[test]
fn a_kubernetes_cluster_in_the_plan_is_checked_field_by_field() {
    let mut plan = record_example();
    let west = plan.regions.get_mut("us-west-2").expect("west");
    west.compute.kubernetes = Some(KubernetesPlan {
        api_url: "https://lke123.us-west.linodelke.net:443".into(),
        token_parameter: Some("/lifeboat/shop/kubernetes/usw2-token".into()),
        eks: None,
        ca_parameter: Some("/lifeboat/shop/kubernetes/usw2-ca".into()),
        deployments: vec![WorkloadPlan {
            namespace: "shop".into(),
            name: "web".into(),
            standby_replicas: 1,
            active_replicas: 6,
        }],
        statefulsets: Vec::new(),
    });
    plan.clone().validate().expect("valid");
    let targets = crate::capacity::targets(
        &ValidPlan::parse(&serde_json::to_string(&plan).expect("json")).expect("valid"),
        "us-west-2",
        crate::capacity::Level::Active,
    )
    .expect("targets");
    assert_eq!(
        targets
            .last()
            .map(|t| (t.resource.id(), t.capacity.desired)),
        Some(("k8s:deployments/shop/web".to_string(), 6))
    );

    let mut bad = plan.clone();
    let k = bad
        .regions
        .get_mut("us-west-2")
        .and_then(|r| r.compute.kubernetes.as_mut())
        .expect("cluster");
    k.api_url = "http://lke123.example.com".into();
    k.token_parameter = Some("a-token-written-here".into());
    k.deployments[0].name = "Web/../secrets".into();
    k.deployments[0].standby_replicas = 9;
    k.deployments.push(k.deployments[0].clone());
    let f = fields(bad);
    let base = "regions.us-west-2.compute.kubernetes";
    for field in [
        format!("{base}.api_url"),
        format!("{base}.token_parameter"),
        format!("{base}.deployments[0].name"),
        format!("{base}.deployments[0].active_replicas"),
        format!("{base}.deployments[1]"),
    ] {
        assert!(f.contains(&field), "{field}: {f:?}");
    }

    // fencing never scales a workload up
    let mut bad = plan;
    bad.fencing.compute_count = 2;
    if let Some(k) = bad.regions.get_mut("us-east-1").map(|r| &mut r.compute) {
        k.kubernetes = Some(KubernetesPlan {
            api_url: "https://lke1.example.com".into(),
            token_parameter: Some("/lifeboat/shop/kubernetes/use1-token".into()),
            eks: None,
            ca_parameter: None,
            deployments: Vec::new(),
            statefulsets: vec![WorkloadPlan {
                namespace: "shop".into(),
                name: "queue".into(),
                standby_replicas: 0,
                active_replicas: 2,
            }],
        });
    }
    assert!(fields(bad).contains(&"fencing.compute_count".to_string()));
}

/// Issue 23 item 2 (EKS): a cluster is reached either with a token from a SecureString or, on
/// EKS, with the IAM-authenticated token signed for the named cluster; exactly one way, and an
/// EKS cluster's CA is always named (its API's certificate is the cluster's own CA's).
#[test]
fn an_eks_cluster_is_named_instead_of_a_token_and_needs_its_ca() {
    let eks = |name: &str, ca: Option<&str>| KubernetesPlan {
        api_url: "https://0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com".into(),
        token_parameter: None,
        eks: Some(EksClusterPlan {
            cluster_name: name.into(),
        }),
        ca_parameter: ca.map(Into::into),
        deployments: vec![WorkloadPlan {
            namespace: "shop".into(),
            name: "web".into(),
            standby_replicas: 1,
            active_replicas: 4,
        }],
        statefulsets: Vec::new(),
    };
    let with = |k: KubernetesPlan| {
        let mut plan = record_example();
        plan.regions
            .get_mut("us-west-2")
            .expect("west")
            .compute
            .kubernetes = Some(k);
        plan
    };
    let valid = with(eks("shop-usw2", Some("/lifeboat/shop/kubernetes/usw2-ca")))
        .validate()
        .expect("valid");
    let k = valid
        .region("us-west-2")
        .expect("west")
        .compute
        .kubernetes
        .as_ref()
        .expect("cluster");
    assert_eq!(
        k.auth(),
        Some(ClusterAuth::Eks {
            cluster_name: "shop-usw2"
        })
    );

    let base = "regions.us-west-2.compute.kubernetes";
    // no CA: refused, named
    assert!(fields(with(eks("shop-usw2", None))).contains(&format!("{base}.ca_parameter")));
    // not a name EKS accepts (and never echoed raw)
    for name in ["", "-shop", "shop/usw2", &"x".repeat(101)] {
        assert!(
            fields(with(eks(name, Some("/lifeboat/ca"))))
                .contains(&format!("{base}.eks.cluster_name")),
            "{name:?}"
        );
    }
    // both ways, or neither: refused at the cluster
    let mut both = eks("shop-usw2", Some("/lifeboat/ca"));
    both.token_parameter = Some("/lifeboat/shop/kubernetes/usw2-token".into());
    assert!(fields(with(both)).contains(&base.to_string()));
    let mut neither = eks("shop-usw2", Some("/lifeboat/ca"));
    neither.eks = None;
    assert!(fields(with(neither)).contains(&base.to_string()));
}

fn mysql_example() -> Plan {
    Plan::parse(&crate::fakes::plan_with_mysql(EXAMPLE)).expect("the MySQL example parses")
}

#[test]
fn a_mysql_plan_names_each_regions_server_and_its_logins_secrets_by_name_and_is_checked_field_by_field()
 {
    let plan = mysql_example().validate().expect("valid");
    assert_eq!(
        plan.mysql_server("us-west-2").expect("server"),
        crate::fakes::FakeMysql::addr("us-west-2")
    );
    assert_eq!(
        plan.patroni_members("us-west-2")
            .expect_err("not patroni")
            .kind(),
        crate::ErrorKind::PreconditionFailed
    );
    // MySQL's fields missing, Aurora's present
    let mut plan = mysql_example();
    plan.database.mysql = None;
    plan.database.global_cluster_id = Some("shop-global".into());
    plan.regions.get_mut("us-west-2").expect("region").mysql = None;
    let got = fields(plan);
    for want in [
        "database.mysql",
        "database.global_cluster_id",
        "regions.us-west-2.mysql",
    ] {
        assert!(got.iter().any(|f| f == want), "{want} not in {got:?}");
    }
    // MySQL's fields on an Aurora plan
    let mut plan = example();
    plan.database.mysql = mysql_example().database.mysql;
    let found = problems(plan);
    assert!(
        found
            .iter()
            .any(|p| p.field == "database.mysql" && p.message.contains("aurora_global")),
        "{found:?}"
    );
    // bad values
    let mut plan = mysql_example();
    let east = plan.regions["us-east-1"].mysql.clone().expect("east");
    plan.regions.get_mut("us-west-2").expect("region").mysql = Some(east);
    plan.regions.get_mut("us-east-1").expect("region").mysql = Some(RegionMysqlPlan {
        server: "lifeboat:hunter2@10.0.0.5:3306".into(),
    });
    plan.database.mysql = Some(MysqlPlan {
        user: "life'boat".into(),
        password_parameter: "not a parameter".into(),
        replication_user: String::new(),
        replication_password_parameter: "/ok/name".into(),
        tls: Some(MysqlTlsPlan {
            ca_parameter: Some("no/leading/slash".into()),
        }),
    });
    let found = problems(plan);
    let text = format!("{found:?}");
    for want in [
        "regions.us-east-1.mysql.server",
        "database.mysql.user",
        "database.mysql.password_parameter",
        "database.mysql.replication_user",
    ] {
        assert!(
            found.iter().any(|p| p.field == want),
            "{want} not in {text}"
        );
    }
    assert!(
        !found
            .iter()
            .any(|p| p.field == "database.mysql.replication_password_parameter"),
        "{text}"
    );
    assert!(text.contains("carries credentials"), "{text}");
    assert!(
        !text.contains("hunter2"),
        "a credential is never repeated: {text}"
    );
}

const LINODE_STACK_EXAMPLE: &str = include_str!("../../../../examples/plan-linode-stack.yaml");

/// Issue 23 item 5: the README's plan of the Linode stack is a valid plan with every provider of
/// that stack (MySQL, Kubernetes, Linode DNS), and only names its secrets.
#[test]
fn the_linode_stack_example_is_valid_with_each_of_its_providers() {
    let plan = Plan::parse(LINODE_STACK_EXAMPLE).expect("parses");
    assert_eq!(plan.database.provider, DatabaseProvider::Mysql);
    assert_eq!(plan.traffic.mode, TrafficMode::Linode);
    let mysql = plan.database.mysql.as_ref().expect("logins");
    for p in [
        &mysql.password_parameter,
        &mysql.replication_password_parameter,
    ] {
        assert!(p.starts_with("/lifeboat/"), "{p}");
    }
    for (name, region) in &plan.regions {
        assert!(region.mysql.is_some(), "{name}");
        assert!(region.db_cluster_arn.is_none(), "{name}");
        let k8s = region.compute.kubernetes.as_ref().expect("a cluster");
        assert!(
            k8s.token_parameter
                .as_deref()
                .is_some_and(|p| p.starts_with("/lifeboat/shop/kubernetes/")),
            "{name}"
        );
        assert!(
            !k8s.deployments.is_empty() && !k8s.statefulsets.is_empty(),
            "{name}"
        );
    }
    plan.validate().expect("valid");
}
