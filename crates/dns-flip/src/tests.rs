//! GIVEN / WHEN / THEN tests of dns-flip over in-memory fakes.

use lifeboat_core::ErrorKind;
use lifeboat_core::fakes::*;
use lifeboat_core::plan::Plan;
use serde_json::json;

use super::*;

/// The shop with its records (plan-record-upsert.yaml); each test sets the mode it exercises.
const PLAN: &str = include_str!("../../../examples/plan-record-upsert.yaml");
const EAST: &str = "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1";
const WEST: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";
const ZONE: &str = "Z0SHOPEXAMPLE";
const RC_EAST: &str =
    "arn:aws:route53-recovery-control::123456789012:controlpanel/p/routingcontrol/use1";
const RC_WEST: &str =
    "arn:aws:route53-recovery-control::123456789012:controlpanel/p/routingcontrol/usw2";
const EP1: &str = "https://host-1.route53-recovery-cluster.us-west-2.amazonaws.com/v1";
const EP2: &str = "https://host-2.route53-recovery-cluster.eu-west-1.amazonaws.com/v1";

type Fakes = Handler<
    FakeRecords,
    FakeHealthChecks,
    FakeRoutingControls,
    FakeGlobalDatabase,
    FakeParameters,
    FakeParameters,
    FakeNotifier,
    FakeDomainRecords,
    FakeDomainRecords,
>;

fn cname(name: &str, value: &str) -> RecordValue {
    RecordValue {
        name: name.into(),
        record_type: "CNAME".into(),
        ttl: 60,
        values: vec![value.into()],
    }
}

/// GIVEN the example shop in `mode`, the database already promoted in us-west-2 (the
/// writer), traffic still on us-east-1.
fn given_a_promoted_database(mode: TrafficMode) -> Fakes {
    let mut plan: Plan = serde_norway::from_str(PLAN).unwrap();
    plan.traffic.mode = mode;
    if mode == TrafficMode::HealthCheck {
        plan.regions
            .get_mut("us-east-1")
            .unwrap()
            .traffic
            .health_check_ids = vec!["hc-use1".into()];
        plan.regions
            .get_mut("us-west-2")
            .unwrap()
            .traffic
            .health_check_ids = vec!["hc-usw2".into()];
    }
    if mode == TrafficMode::RoutingControl {
        plan.regions
            .get_mut("us-east-1")
            .unwrap()
            .traffic
            .routing_control_arns = vec![RC_EAST.into()];
        plan.regions
            .get_mut("us-west-2")
            .unwrap()
            .traffic
            .routing_control_arns = vec![RC_WEST.into()];
        plan.traffic.arc_cluster_endpoints = [(EP1, "us-west-2"), (EP2, "eu-west-1")]
            .iter()
            .map(|(e, r)| ArcClusterEndpoint {
                endpoint: e.to_string(),
                region: r.to_string(),
            })
            .collect();
    }
    let records = FakeRecords::default();
    records.put(ZONE, cname("www.shop.example.com", "use1.shop.example.com"));
    records.put(
        ZONE,
        cname("api.shop.example.com", "api-use1.shop.example.com"),
    );
    let checks = FakeHealthChecks::default();
    checks.add("hc-use1", false);
    checks.add("hc-usw2", false);
    Handler {
        config: Config {
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: "/lifeboat/shop/plan".into(),
                region: "us-west-2".into(),
            },
            peer_region: "us-east-1".into(),
        },
        ports: Ports {
            records,
            checks,
            arc: FakeRoutingControls::new(&[(RC_EAST, true), (RC_WEST, false)]),
            db: FakeGlobalDatabase::new("shop-global", WEST, EAST),
            params: FakeParameters::with(
                "/lifeboat/shop/plan",
                &serde_json::to_string(&plan).unwrap(),
            ),
            peer_params: FakeParameters::default(),
            notifier: FakeNotifier::default(),
            digitalocean: FakeDomainRecords::new(DO_TOKEN),
            linode: FakeDomainRecords::new(LINODE_TOKEN),
        },
    }
}

fn flip() -> Value {
    json!({"action": "flip", "run_id": "shop-to-us-west-2-1"})
}

#[tokio::test]
async fn records_of_a_zone_change_in_one_batch_and_the_old_values_come_back() {
    let h = given_a_promoted_database(TrafficMode::RecordUpsert);
    let out = h.handle(flip()).await.unwrap();
    let Response::Flipped {
        changes, previous, ..
    } = &out
    else {
        panic!("{out:?}")
    };
    let batches = h.ports.records.batches();
    assert_eq!(batches.len(), 1, "one batch for the zone");
    assert_eq!(batches[0].records.len(), 2);
    assert_eq!(changes.len(), 1);
    assert_eq!(
        h.ports.records.get(ZONE, "www.shop.example.com", "CNAME"),
        Some(cname("www.shop.example.com", "usw2.shop.example.com"))
    );
    let www = previous
        .records
        .iter()
        .find(|r| r.name == "www.shop.example.com")
        .unwrap();
    assert_eq!(
        www.value.as_ref().unwrap().values,
        ["use1.shop.example.com"]
    );
}

#[tokio::test]
async fn status_is_pending_until_route53_reports_insync() {
    let h = given_a_promoted_database(TrafficMode::RecordUpsert);
    *h.ports.records.polls_until_sync.lock().unwrap() = 1;
    let Response::Flipped { changes, .. } = h.handle(flip()).await.unwrap() else {
        panic!()
    };
    let status = json!({"action": "status", "changes": changes});
    let first = h.handle(status.clone()).await.unwrap();
    assert!(matches!(first, Response::Pending { .. }), "{first:?}");
    let second = h.handle(status).await.unwrap();
    assert!(matches!(second, Response::InSync { .. }), "{second:?}");
}

#[tokio::test]
async fn a_second_flip_finds_the_records_set_and_sends_nothing() {
    let h = given_a_promoted_database(TrafficMode::RecordUpsert);
    h.handle(flip()).await.unwrap();
    let out = h.handle(flip()).await.unwrap();
    let Response::Flipped {
        changes,
        unchanged_zones,
        ..
    } = out
    else {
        panic!()
    };
    assert!(changes.is_empty());
    assert_eq!(unchanged_zones, [ZONE]);
    assert_eq!(h.ports.records.batches().len(), 1);
}

#[tokio::test]
async fn traffic_is_refused_to_a_region_whose_database_is_not_the_writer() {
    for mode in [
        TrafficMode::RecordUpsert,
        TrafficMode::HealthCheck,
        TrafficMode::RoutingControl,
    ] {
        let h = given_a_promoted_database(mode);
        let err = h
            .handle(json!({"action": "flip", "target_region": "us-east-1"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{mode:?}");
        assert!(err.message().contains("writer is in us-west-2"), "{err}");
        assert!(h.ports.records.batches().is_empty());
        assert_eq!(h.ports.checks.is_inverted("hc-use1"), Some(false));
        assert_eq!(h.ports.arc.get(RC_EAST), Some(true));
        assert!(h.ports.arc.calls().is_empty());
    }
}

#[tokio::test]
async fn health_check_mode_inverts_the_other_regions_checks() {
    let h = given_a_promoted_database(TrafficMode::HealthCheck);
    h.ports.checks.add("hc-usw2", true); // left inverted by an earlier drill
    let out = h.handle(flip()).await.unwrap();
    assert_eq!(h.ports.checks.is_inverted("hc-use1"), Some(true));
    assert_eq!(h.ports.checks.is_inverted("hc-usw2"), Some(false));
    let Response::Flipped { previous, .. } = out else {
        panic!()
    };
    assert_eq!(
        previous.health_checks,
        [
            ("hc-usw2".to_string(), true),
            ("hc-use1".to_string(), false)
        ]
    );
}

#[tokio::test]
async fn routing_controls_flip_through_the_first_endpoint() {
    let h = given_a_promoted_database(TrafficMode::RoutingControl);
    let out = h.handle(flip()).await.unwrap();
    assert_eq!(h.ports.arc.get(RC_WEST), Some(true));
    assert_eq!(h.ports.arc.get(RC_EAST), Some(false));
    let Response::Flipped {
        endpoint, previous, ..
    } = out
    else {
        panic!()
    };
    assert_eq!(endpoint.as_deref(), Some(EP1));
    assert_eq!(
        previous.routing_controls,
        [(RC_WEST.to_string(), false), (RC_EAST.to_string(), true)]
    );
}

#[tokio::test]
async fn a_failing_arc_endpoint_falls_back_to_the_next() {
    let h = given_a_promoted_database(TrafficMode::RoutingControl);
    h.ports.arc.fail_endpoint(EP1);
    let out = h.handle(flip()).await.unwrap();
    let Response::Flipped { endpoint, .. } = out else {
        panic!()
    };
    assert_eq!(endpoint.as_deref(), Some(EP2));
    assert_eq!(h.ports.arc.get(RC_WEST), Some(true));
    assert!(h.ports.arc.calls().iter().any(|c| c.ends_with(EP1)));
}

#[tokio::test]
async fn all_arc_endpoints_failing_is_transient_and_changes_nothing() {
    let h = given_a_promoted_database(TrafficMode::RoutingControl);
    h.ports.arc.fail_endpoint(EP1);
    h.ports.arc.fail_endpoint(EP2);
    let err = h.handle(flip()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(
        err.to_string()
            .contains("all 2 ARC cluster endpoints failed"),
        "{err}"
    );
    assert_eq!(h.ports.arc.get(RC_EAST), Some(true));
}

#[tokio::test]
async fn a_missing_routing_control_is_final_not_retried_elsewhere() {
    let h = given_a_promoted_database(TrafficMode::RoutingControl);
    h.ports.arc.states.lock().unwrap().remove(RC_WEST);
    let err = h.handle(flip()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(!h.ports.arc.calls().iter().any(|c| c.ends_with(EP2)));
}

#[tokio::test]
async fn bad_requests_are_invalid_input() {
    let h = given_a_promoted_database(TrafficMode::RecordUpsert);
    for bad in [
        json!({"action": "undo"}),
        json!({"action": "status", "changes": "C1"}),
        json!({"action": "flip", "zone": "Z1"}),
    ] {
        let err = h.handle(bad.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
    }
    assert!(h.ports.records.batches().is_empty());
}

#[test]
fn the_sample_events_parse() {
    for file in ["flip.json", "status.json"] {
        let path = format!(
            "{}/../../events/dns-flip/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let _: Request = serde_json::from_str(&text).expect(&path);
    }
}

// --- the returning home region's traffic off (issue 18, item 2) ------------------------------

/// GIVEN the home copy (us-east-1) after a failover into us-west-2 whose traffic step never ran:
/// the records still point at us-east-1.
fn given_home_copy_with_traffic_still_home(mode: TrafficMode) -> Fakes {
    let mut h = given_a_promoted_database(mode);
    h.config.plan.region = "us-east-1".into();
    h.config.peer_region = "us-west-2".into();
    h
}

#[tokio::test]
async fn the_returning_home_region_moves_its_traffic_to_the_writer_and_says_so_once() {
    for mode in [
        TrafficMode::RecordUpsert,
        TrafficMode::HealthCheck,
        TrafficMode::RoutingControl,
    ] {
        let h = given_home_copy_with_traffic_still_home(mode);
        let out = h.handle(json!({"action": "guard"})).await.unwrap();
        let Response::Guarded {
            moved,
            announced,
            verdict,
            ..
        } = &out
        else {
            panic!("{out:?}")
        };
        assert!(
            matches!(verdict, GuardVerdict::Fence { .. }),
            "{mode:?}: {verdict:?}"
        );
        assert!(*moved && announced.is_some(), "{mode:?}: {out:?}");
        let msgs = h.ports.notifier.messages();
        assert_eq!(msgs.len(), 1, "{mode:?}");
        assert_eq!(
            msgs[0].topic,
            "arn:aws:sns:us-east-1:123456789012:lifeboat-shop"
        );
        assert!(
            msgs[0].subject.contains("traffic moved to us-west-2"),
            "{}",
            msgs[0].subject
        );
        // what a person reads: whole sentences, no source indentation inside them
        assert!(
            msgs[0].message.contains("holds the database writer")
                && !msgs[0].message.contains("  "),
            "{:?}",
            msgs[0].message
        );
        // The next tick finds the traffic away: nothing sent, nothing said.
        let again = h.handle(json!({"action": "guard"})).await.unwrap();
        let Response::Guarded {
            moved, announced, ..
        } = &again
        else {
            panic!("{again:?}")
        };
        assert!(!*moved && announced.is_none(), "{mode:?}: {again:?}");
        assert_eq!(h.ports.notifier.messages().len(), 1);
    }
}

#[tokio::test]
async fn the_dr_copys_guard_moves_nothing() {
    let h = given_a_promoted_database(TrafficMode::RecordUpsert);
    let out = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded { verdict, moved, .. } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(verdict, &GuardVerdict::NotHome);
    assert!(!moved);
    assert!(h.ports.records.batches().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Issue 22 item 5: DNS at DigitalOcean (examples/plan-digitalocean.yaml)

const DO_PLAN: &str = include_str!("../../../examples/plan-digitalocean.yaml");
const DO_TOKEN: &str = "dop_v1_faketokenfaketokenfaketokenfaketokenfaketokenfaketoken00";
const DO_TOKEN_PARAMETER: &str = "/lifeboat/shop/digitalocean-token";
const DOMAIN: &str = "shop.example.com";
const WWW: &str = "www.shop.example.com";
const API: &str = "api.shop.example.com";

/// GIVEN the shop's DNS at DigitalOcean pointing at us-east-1, the token in its SecureString,
/// the database promoted in us-west-2.
fn given_a_digitalocean_shop() -> Fakes {
    let h = given_a_promoted_database(TrafficMode::RecordUpsert);
    h.ports.params.insert("/lifeboat/shop/plan", DO_PLAN);
    h.ports.params.insert(DO_TOKEN_PARAMETER, DO_TOKEN);
    let d = &h.ports.digitalocean;
    d.put(DOMAIN, WWW, "A", 60, "203.0.113.10");
    d.put(DOMAIN, WWW, "A", 60, "203.0.113.11");
    d.put(DOMAIN, API, "CNAME", 60, "api-use1.shop.example.com.");
    d.put(DOMAIN, "shop.example.com", "TXT", 3600, "v=spf1 -all");
    h
}

#[tokio::test]
async fn a_digitalocean_flip_sets_each_record_keeps_the_previous_ones_and_reads_them_back() {
    let h = given_a_digitalocean_shop();
    let out = h.handle(flip()).await.unwrap();
    let d = &h.ports.digitalocean;
    assert_eq!(
        d.values(DOMAIN, WWW, "A"),
        ["198.51.100.20", "198.51.100.21"]
    );
    assert_eq!(
        d.values(DOMAIN, API, "CNAME"),
        ["api-usw2.shop.example.com"]
    );
    assert_eq!(
        d.values(DOMAIN, DOMAIN, "TXT"),
        ["v=spf1 -all"],
        "not in the plan"
    );
    // Updates in place: the name never stops answering.
    assert!(
        d.writes().iter().all(|w| w.starts_with("update")),
        "{:?}",
        d.writes()
    );
    // Each changed set was read back after its requests.
    let requests = d.requests.lock().unwrap().clone();
    assert_eq!(
        requests.last().map(String::as_str),
        Some("list api.shop.example.com CNAME")
    );
    let Response::Flipped {
        mode,
        changes,
        changed_sets,
        previous,
        ..
    } = &out
    else {
        panic!("{out:?}")
    };
    assert_eq!(*mode, TrafficMode::Digitalocean);
    assert!(
        changes.is_empty(),
        "nothing for Traffic: status to wait for"
    );
    assert_eq!(changed_sets, &[format!("{WWW} A"), format!("{API} CNAME")]);
    let www_before: Vec<_> = previous.domain_records[0]
        .records
        .iter()
        .map(|r| r.data.value.as_str())
        .collect();
    assert_eq!(www_before, ["203.0.113.10", "203.0.113.11"]);
    let plan = ValidPlan::parse(DO_PLAN).unwrap();
    assert!(out.moved("us-west-2", &plan));

    // A repeat sends nothing and says so.
    let writes = d.writes().len();
    let again = h.handle(flip()).await.unwrap();
    assert_eq!(d.writes().len(), writes);
    let Response::Flipped {
        unchanged_zones, ..
    } = &again
    else {
        panic!("{again:?}")
    };
    assert_eq!(unchanged_zones, &[DOMAIN]);
    assert!(!again.moved("us-west-2", &plan));
}

#[tokio::test]
async fn a_digitalocean_flip_without_its_token_or_with_a_wrong_one_changes_nothing() {
    let h = given_a_digitalocean_shop();
    h.ports.params.remove(DO_TOKEN_PARAMETER);
    let err = h.handle(flip()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(err.message().contains(DO_TOKEN_PARAMETER), "{err}");
    assert!(
        err.message()
            .contains("traffic.digitalocean.token_parameter"),
        "{err}"
    );
    assert!(h.ports.digitalocean.requests.lock().unwrap().is_empty());

    h.ports.params.insert(DO_TOKEN_PARAMETER, "dop_v1_revoked");
    let err = h.handle(flip()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccessDenied, "{err}");
    assert!(!format!("{err:?}").contains("dop_v1_revoked"));
    assert_eq!(
        h.ports.digitalocean.values(DOMAIN, WWW, "A"),
        ["203.0.113.10", "203.0.113.11"]
    );
}

#[tokio::test]
async fn a_digitalocean_flip_is_refused_while_the_writer_is_elsewhere() {
    let h = given_a_digitalocean_shop();
    let err = h
        .handle(json!({"action": "flip", "target_region": "us-east-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(h.ports.digitalocean.requests.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_provider_failure_keeps_its_kind_and_says_what_changed_and_a_repeat_finishes() {
    let h = given_a_digitalocean_shop();
    let d = &h.ports.digitalocean;
    // www: list, update, update, read back; api: list, then its update (the sixth) throttled.
    d.fail_request
        .lock()
        .unwrap()
        .insert(6, ErrorKind::Throttled);
    let err = h.handle(flip()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
    assert!(
        err.to_string()
            .contains("sets changed so far: [www.shop.example.com A]"),
        "{err}"
    );
    assert!(err.to_string().contains("safe to repeat"), "{err}");
    assert_eq!(
        d.values(DOMAIN, API, "CNAME"),
        ["api-use1.shop.example.com."]
    );
    h.handle(flip()).await.unwrap();
    assert_eq!(
        d.values(DOMAIN, API, "CNAME"),
        ["api-usw2.shop.example.com"]
    );
}

#[tokio::test]
async fn a_change_the_provider_does_not_read_back_is_transient_not_done() {
    let h = given_a_digitalocean_shop();
    *h.ports.digitalocean.drop_writes.lock().unwrap() = true;
    let err = h.handle(flip()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(
        err.to_string()
            .contains("reads back as [203.0.113.10, 203.0.113.11]"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Issue 23 item 3: DNS at Linode (examples/plan-linode.yaml)

const LINODE_PLAN: &str = include_str!("../../../examples/plan-linode.yaml");
const LINODE_TOKEN: &str = "linodefaketokenlinodefaketokenlinodefaketokenlinodefaketoken00";
const LINODE_TOKEN_PARAMETER: &str = "/lifeboat/shop/linode-token";

/// GIVEN the shop's DNS at Linode pointing at us-east-1, the token in its SecureString, the
/// database promoted in us-west-2; DigitalOcean holds the same domain (it must not be touched).
fn given_a_linode_shop() -> Fakes {
    let h = given_a_promoted_database(TrafficMode::RecordUpsert);
    h.ports.params.insert("/lifeboat/shop/plan", LINODE_PLAN);
    h.ports.params.insert(LINODE_TOKEN_PARAMETER, LINODE_TOKEN);
    for d in [&h.ports.linode, &h.ports.digitalocean] {
        d.put(DOMAIN, WWW, "A", 300, "203.0.113.10");
        d.put(DOMAIN, WWW, "A", 300, "203.0.113.11");
        d.put(DOMAIN, API, "CNAME", 300, "api-use1.shop.example.com");
    }
    h
}

#[tokio::test]
async fn a_linode_flip_sets_the_records_at_linode_only_keeps_the_previous_ones_and_reads_them_back()
{
    let h = given_a_linode_shop();
    let out = h.handle(flip()).await.unwrap();
    let l = &h.ports.linode;
    assert_eq!(
        l.values(DOMAIN, WWW, "A"),
        ["198.51.100.20", "198.51.100.21"]
    );
    assert_eq!(
        l.values(DOMAIN, API, "CNAME"),
        ["api-usw2.shop.example.com"]
    );
    assert!(
        h.ports.digitalocean.requests.lock().unwrap().is_empty(),
        "the plan's provider is Linode"
    );
    let requests = l.requests.lock().unwrap().clone();
    assert_eq!(
        requests.last().map(String::as_str),
        Some("list api.shop.example.com CNAME"),
        "read back"
    );
    let Response::Flipped {
        mode,
        changed_sets,
        previous,
        ..
    } = &out
    else {
        panic!("{out:?}")
    };
    assert_eq!(*mode, TrafficMode::Linode);
    assert_eq!(changed_sets, &[format!("{WWW} A"), format!("{API} CNAME")]);
    assert_eq!(previous.domain_records[0].records.len(), 2);
    let plan = ValidPlan::parse(LINODE_PLAN).unwrap();
    assert!(out.moved("us-west-2", &plan));
    let again = h.handle(flip()).await.unwrap();
    assert!(!again.moved("us-west-2", &plan));
}

#[tokio::test]
async fn a_linode_flip_without_its_token_changes_nothing_and_names_the_linode_parameter() {
    let h = given_a_linode_shop();
    h.ports.params.remove(LINODE_TOKEN_PARAMETER);
    // the DigitalOcean token's presence changes nothing
    h.ports.params.insert(DO_TOKEN_PARAMETER, DO_TOKEN);
    let err = h.handle(flip()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(err.message().contains(LINODE_TOKEN_PARAMETER), "{err}");
    assert!(
        err.message().contains("traffic.linode.token_parameter"),
        "{err}"
    );
    assert!(h.ports.linode.requests.lock().unwrap().is_empty());
    assert!(h.ports.digitalocean.requests.lock().unwrap().is_empty());
}
