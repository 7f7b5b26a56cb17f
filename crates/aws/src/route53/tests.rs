use super::*;
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput;
use aws_sdk_route53::operation::get_change::GetChangeOutput;
use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
use aws_sdk_route53::types::ChangeInfo;
use aws_sdk_route53recoverycluster::operation::update_routing_control_states::{
    UpdateRoutingControlStatesError, UpdateRoutingControlStatesOutput,
};
use aws_smithy_mocks::{mock, mock_client};
use lifeboat_core::ErrorKind;

fn rec(name: &str, value: &str) -> RecordValue {
    RecordValue {
        name: name.into(),
        record_type: "CNAME".into(),
        ttl: 60,
        values: vec![value.into()],
    }
}

fn ep(url: &str) -> ArcClusterEndpoint {
    ArcClusterEndpoint {
        endpoint: url.into(),
        region: "us-west-2".into(),
    }
}

fn change_info(status: ChangeStatus) -> ChangeInfo {
    ChangeInfo::builder()
        .id("/change/C1")
        .status(status)
        .submitted_at(aws_smithy_types::DateTime::from_secs(0))
        .build()
        .unwrap()
}

#[tokio::test]
async fn all_records_go_in_one_upsert_batch() {
    let rule = mock!(aws_sdk_route53::Client::change_resource_record_sets)
        .match_requests(|r| {
            let changes = r.change_batch().map(|b| b.changes()).unwrap_or_default();
            r.hosted_zone_id() == Some("Z1")
                && changes.len() == 2
                && changes.iter().all(|c| c.action() == &ChangeAction::Upsert)
                && changes[1]
                    .resource_record_set()
                    .map(|s| s.resource_records()[0].value())
                    == Some("api-usw2.example.com")
        })
        .then_output(|| {
            ChangeResourceRecordSetsOutput::builder()
                .change_info(change_info(ChangeStatus::Pending))
                .build()
        });
    let r53 = Route53Adapter::from_client(mock_client!(aws_sdk_route53, [&rule]));
    let id = r53
        .upsert(
            "Z1",
            &[
                rec("www.example.com", "usw2.example.com"),
                rec("api.example.com", "api-usw2.example.com"),
            ],
            "lifeboat run r1",
        )
        .await
        .unwrap();
    assert_eq!(id, "/change/C1");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_record_is_read_whatever_its_trailing_dot() {
    let rule = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .match_requests(|r| {
            r.start_record_name() == Some("www.example.com") && r.max_items() == Some(1)
        })
        .then_output(|| {
            ListResourceRecordSetsOutput::builder()
                .resource_record_sets(
                    ResourceRecordSet::builder()
                        .name("www.example.com.")
                        .r#type(RrType::Cname)
                        .ttl(60)
                        .resource_records(
                            ResourceRecord::builder()
                                .value("use1.example.com")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .is_truncated(false)
                .max_items(1)
                .build()
                .unwrap()
        });
    let r53 = Route53Adapter::from_client(mock_client!(aws_sdk_route53, [&rule]));
    let got = r53
        .read_record("Z1", "www.example.com", "CNAME")
        .await
        .unwrap();
    assert_eq!(got, Some(rec("www.example.com", "use1.example.com")));
}

#[tokio::test]
async fn the_next_record_in_the_zone_is_not_taken_for_a_missing_one() {
    let rule = mock!(aws_sdk_route53::Client::list_resource_record_sets).then_output(|| {
        ListResourceRecordSetsOutput::builder()
            .resource_record_sets(
                ResourceRecordSet::builder()
                    .name("zzz.example.com.")
                    .r#type(RrType::Cname)
                    .build()
                    .unwrap(),
            )
            .is_truncated(false)
            .max_items(1)
            .build()
            .unwrap()
    });
    let r53 = Route53Adapter::from_client(mock_client!(aws_sdk_route53, [&rule]));
    let got = r53
        .read_record("Z1", "www.example.com", "CNAME")
        .await
        .unwrap();
    assert_eq!(got, None);
}

#[tokio::test]
async fn a_change_is_in_sync_only_when_insync() {
    let pending = mock!(aws_sdk_route53::Client::get_change).then_output(|| {
        GetChangeOutput::builder()
            .change_info(change_info(ChangeStatus::Pending))
            .build()
    });
    let insync = mock!(aws_sdk_route53::Client::get_change).then_output(|| {
        GetChangeOutput::builder()
            .change_info(change_info(ChangeStatus::Insync))
            .build()
    });
    let r53 = Route53Adapter::from_client(mock_client!(
        aws_sdk_route53,
        aws_smithy_mocks::RuleMode::Sequential,
        [&pending, &insync]
    ));
    assert!(!r53.change_in_sync("/change/C1").await.unwrap());
    assert!(r53.change_in_sync("/change/C1").await.unwrap());
}

#[tokio::test]
async fn routing_controls_are_updated_in_one_call() {
    let rule = mock!(aws_sdk_route53recoverycluster::Client::update_routing_control_states)
        .match_requests(|r| {
            let e = r.update_routing_control_state_entries();
            e.len() == 2
                && e[0].routing_control_state() == &RoutingControlState::On
                && e[1].routing_control_state() == &RoutingControlState::Off
        })
        .then_output(|| UpdateRoutingControlStatesOutput::builder().build());
    let arc = ArcAdapter::from_clients([(
        "https://a.example".to_string(),
        mock_client!(aws_sdk_route53recoverycluster, [&rule]),
    )]);
    arc.update(
        &ep("https://a.example"),
        &[("rc-usw2".into(), true), ("rc-use1".into(), false)],
    )
    .await
    .unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(
        arc.update(&ep("https://b.example"), &[])
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn an_endpoint_that_fails_is_transient_and_a_conflict_is_a_precondition() {
    let down = mock!(aws_sdk_route53recoverycluster::Client::update_routing_control_states)
        .then_error(|| {
            UpdateRoutingControlStatesError::InternalServerException(
                aws_sdk_route53recoverycluster::types::error::InternalServerException::builder()
                    .message("endpoint unavailable")
                    .meta(crate::error::test_meta("InternalServerException"))
                    .build()
                    .unwrap(),
            )
        });
    let conflict = mock!(aws_sdk_route53recoverycluster::Client::update_routing_control_states)
        .then_error(|| {
            UpdateRoutingControlStatesError::ConflictException(
                aws_sdk_route53recoverycluster::types::error::ConflictException::builder()
                    .message("safety rule")
                    .resource_id("rc")
                    .resource_type("routing-control")
                    .meta(crate::error::test_meta("ConflictException"))
                    .build()
                    .unwrap(),
            )
        });
    let arc = ArcAdapter::from_clients([
        (
            "https://a.example".to_string(),
            mock_client!(aws_sdk_route53recoverycluster, [&down]),
        ),
        (
            "https://b.example".to_string(),
            mock_client!(aws_sdk_route53recoverycluster, [&conflict]),
        ),
    ]);
    let states = [("rc".to_string(), true)];
    assert_eq!(
        arc.update(&ep("https://a.example"), &states)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Transient
    );
    assert_eq!(
        arc.update(&ep("https://b.example"), &states)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::PreconditionFailed
    );
}

fn listed(name: &str, value: &str) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::Cname)
        .ttl(60)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_zones_records_are_read_in_one_listing_from_the_first_in_route53s_order() {
    // GIVEN a zone listing (Route 53's order: reversed labels) holding two of three wanted
    // records and one record the plan does not manage
    let listing = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .match_requests(|r| {
            // api.example.com sorts before www.example.com and www.shop.example.com
            r.start_record_name() == Some("api.example.com")
                && r.start_record_type().is_none()
                && r.max_items() == Some(300)
        })
        .then_output(|| {
            ListResourceRecordSetsOutput::builder()
                .resource_record_sets(listed("api.example.com.", "api-use1.example.com"))
                .resource_record_sets(listed("other.example.com.", "x.example.com"))
                .resource_record_sets(listed("WWW.example.com.", "use1.example.com"))
                .is_truncated(false)
                .max_items(300)
                .build()
                .unwrap()
        });
    // AND the record the listing did not show is read on its own, and does not exist
    let single = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .match_requests(|r| {
            r.start_record_name() == Some("www.shop.example.com") && r.max_items() == Some(1)
        })
        .then_output(|| {
            ListResourceRecordSetsOutput::builder()
                .set_resource_record_sets(Some(Vec::new()))
                .is_truncated(false)
                .max_items(1)
                .build()
                .unwrap()
        });
    let r53 = Route53Adapter::from_client(mock_client!(
        aws_sdk_route53,
        aws_smithy_mocks::RuleMode::MatchAny,
        [&listing, &single]
    ));
    // WHEN three records are read
    let wanted = [
        ("www.example.com".to_string(), "CNAME".to_string()),
        ("www.shop.example.com".to_string(), "CNAME".to_string()),
        ("api.example.com".to_string(), "CNAME".to_string()),
    ];
    let got = r53.read_records("Z1", &wanted).await.unwrap();
    // THEN they come back in the order asked, from one listing and one single read
    assert_eq!(
        got,
        vec![
            Some(rec("www.example.com", "use1.example.com")),
            None,
            Some(rec("api.example.com", "api-use1.example.com")),
        ]
    );
    assert_eq!(listing.num_calls(), 1);
    assert_eq!(single.num_calls(), 1);
}

#[tokio::test]
async fn a_truncated_listing_goes_on_from_where_route53_says() {
    let first = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .match_requests(|r| r.start_record_name() == Some("a.example.com"))
        .then_output(|| {
            ListResourceRecordSetsOutput::builder()
                .resource_record_sets(listed("a.example.com.", "1.example.com"))
                .is_truncated(true)
                .next_record_name("b.example.com.")
                .next_record_type(RrType::Cname)
                .max_items(300)
                .build()
                .unwrap()
        });
    let second = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .match_requests(|r| {
            r.start_record_name() == Some("b.example.com.")
                && r.start_record_type() == Some(&RrType::Cname)
        })
        .then_output(|| {
            ListResourceRecordSetsOutput::builder()
                .resource_record_sets(listed("b.example.com.", "2.example.com"))
                .is_truncated(true)
                .next_record_name("c.example.com.")
                .max_items(300)
                .build()
                .unwrap()
        });
    let r53 = Route53Adapter::from_client(mock_client!(
        aws_sdk_route53,
        aws_smithy_mocks::RuleMode::MatchAny,
        [&first, &second]
    ));
    let wanted = [
        ("b.example.com".to_string(), "CNAME".to_string()),
        ("a.example.com".to_string(), "CNAME".to_string()),
    ];
    let got = r53.read_records("Z1", &wanted).await.unwrap();
    assert_eq!(
        got,
        vec![
            Some(rec("b.example.com", "2.example.com")),
            Some(rec("a.example.com", "1.example.com"))
        ]
    );
    // all found: no third page although the listing is truncated
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[test]
fn listing_order_reverses_the_labels() {
    assert!(listing_key("zzz.a.example.com") < listing_key("b.example.com"));
    assert!(listing_key("api.example.com.") < listing_key("WWW.example.com"));
    assert_eq!(
        listing_key("\\052.example.com."),
        listing_key("*.example.com")
    );
}

#[test]
fn each_arc_endpoint_is_asked_once_the_next_endpoint_is_the_retry() {
    // GIVEN lifeboat's SDK config (three attempts for every other client)
    let base = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-west-2"))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    // WHEN the ARC adapter makes a cluster endpoint's client
    let arc = ArcAdapter::new(&base);
    let client = arc.client(&ep("http://127.0.0.1:9/v1")).expect("client");
    // THEN it asks that endpoint once: dns-flip moves on to the next endpoint instead
    let retry = client.config().retry_config().expect("retry config");
    assert_eq!(retry.max_attempts(), 1);
}
