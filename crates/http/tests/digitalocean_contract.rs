//! Issue 22 items 5-6: the DigitalOcean DNS adapter against a stateful fake whose every request
//! and answer is checked against DigitalOcean's published OpenAPI description
//! (tests/vendor/digitalocean/dns.openapi.yaml). A request the description rejects is a
//! violation, and a violation fails the test. Needs the project's Python environment
//! (`make setup`; `make test` does it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Fake;

use lifeboat_core::ErrorKind;
use lifeboat_core::ports::{DomainRecords, RecordData, RecordValue, Secret};
use lifeboat_core::traffic::{reconcile, send};
use lifeboat_http::digitalocean::DigitalOceanDns;
use serde_json::{Value, json};

const TOKEN: &str = "dop_v1_c0ntractt0kenc0ntractt0kenc0ntractt0kenc0ntractt0ken0000";
const DOMAIN: &str = "shop.example.com";

fn shop() -> Value {
    let mut records = vec![
        json!({"type": "A", "name": "www", "data": "203.0.113.10", "ttl": 60}),
        json!({"type": "A", "name": "www", "data": "203.0.113.11", "ttl": 60}),
        json!({"type": "CNAME", "name": "api", "data": "api-use1.shop.example.com.", "ttl": 60}),
        json!({"type": "TXT", "name": "@", "data": "v=spf1 -all", "ttl": 3600}),
    ];
    // Enough other records that a list without DigitalOcean's filter would need pages.
    records.extend((0..250).map(|i| json!({"type": "A", "name": format!("r{i}"), "data": format!("10.1.0.{}", i % 250), "ttl": 300})));
    json!({ DOMAIN: records })
}

fn adapter(fake: &Fake) -> DigitalOceanDns {
    DigitalOceanDns::new(&fake.base_url, Duration::from_secs(10)).unwrap()
}

fn set(name: &str, record_type: &str, values: &[&str]) -> RecordValue {
    RecordValue {
        name: name.into(),
        record_type: record_type.into(),
        ttl: 60,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

/// The flip's requests as dns-flip sends them: read, reconcile, apply.
async fn apply(dns: &DigitalOceanDns, token: &Secret, wanted: &RecordValue) -> usize {
    let current = dns
        .list(token, DOMAIN, &wanted.name, &wanted.record_type)
        .await
        .unwrap();
    let ops = reconcile(&current, wanted);
    send(dns, token, DOMAIN, &ops).await.unwrap();
    ops.len()
}

#[tokio::test]
async fn a_flip_and_its_undo_keep_digitaloceans_contract() {
    let mut fake = Fake::start("digitalocean", TOKEN, shop());
    let dns = adapter(&fake);
    let token = Secret::new(TOKEN);

    // GIVEN the shop's records pointing at us-east-1
    let www = dns
        .list(&token, DOMAIN, "www.shop.example.com", "A")
        .await
        .unwrap();
    assert_eq!(www.len(), 2);
    assert!(www.iter().all(|r| r.data.name == "www.shop.example.com"));
    let apex = dns.list(&token, DOMAIN, DOMAIN, "TXT").await.unwrap();
    assert_eq!(apex[0].data.value, "v=spf1 -all");

    // WHEN traffic moves to us-west-2: three addresses where there were two, a new CNAME
    let west_www = set(
        "www.shop.example.com",
        "A",
        &["198.51.100.20", "198.51.100.21", "198.51.100.22"],
    );
    let west_api = set(
        "api.shop.example.com",
        "CNAME",
        &["api-usw2.shop.example.com"],
    );
    assert_eq!(
        apply(&dns, &token, &west_www).await,
        3,
        "two updates, one create"
    );
    assert_eq!(apply(&dns, &token, &west_api).await, 1);

    // THEN DigitalOcean holds exactly the planned records, read back alike, and a repeat sends nothing
    let held = fake.held(DOMAIN, "data", "ttl");
    let www_held: Vec<_> = held.iter().filter(|r| r.0 == "www").collect();
    assert_eq!(www_held.len(), 3, "{held:?}");
    assert!(held.contains(&(
        "api".into(),
        "CNAME".into(),
        "api-usw2.shop.example.com.".into(),
        60
    )));
    let read = dns
        .list(&token, DOMAIN, "www.shop.example.com", "A")
        .await
        .unwrap();
    assert!(lifeboat_core::traffic::domain_set_reads_as(
        &read, &west_www
    ));
    assert_eq!(apply(&dns, &token, &west_www).await, 0);
    assert_eq!(apply(&dns, &token, &west_api).await, 0);

    // AND the way home (the previous values) removes the third address
    let east_www = set(
        "www.shop.example.com",
        "A",
        &["203.0.113.10", "203.0.113.11"],
    );
    assert_eq!(
        apply(&dns, &token, &east_www).await,
        3,
        "two updates, one delete"
    );
    assert_eq!(
        fake.held(DOMAIN, "data", "ttl")
            .iter()
            .filter(|r| r.0 == "www")
            .count(),
        2
    );
    fake.assert_no_violations();
}

#[tokio::test]
async fn digitaloceans_errors_keep_their_kind_and_never_carry_the_token() {
    let mut fake = Fake::start("digitalocean", TOKEN, shop());
    let dns = adapter(&fake);
    let token = Secret::new(TOKEN);
    let data = RecordData {
        name: "www.shop.example.com".into(),
        record_type: "A".into(),
        ttl: 60,
        value: "198.51.100.20".into(),
    };

    let wrong = Secret::new("dop_v1_wrongtokenwrongtokenwrongtokenwrongtokenwrongtoken0000000");
    let e = dns
        .list(&wrong, DOMAIN, "www.shop.example.com", "A")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AccessDenied, "{e}");

    fake.ask("fail 429");
    let e = dns.create(&token, DOMAIN, &data).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Throttled, "{e}");
    fake.ask("fail 503");
    let e = dns
        .update(&token, DOMAIN, "3352892", &data)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    let e = dns.delete(&token, DOMAIN, "1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = dns
        .list(&token, "other.example.org", "www.other.example.org", "A")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // Names outside the domain and ids that are no path segment are refused before any request.
    let outside = RecordData {
        name: "www.other.example.org".into(),
        ..data.clone()
    };
    let e = dns.create(&token, DOMAIN, &outside).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let e = dns
        .delete(&token, DOMAIN, "../../account")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");

    // Nothing changed through any of the failures.
    assert_eq!(
        fake.held(DOMAIN, "data", "ttl")
            .iter()
            .filter(|r| r.0 == "www")
            .count(),
        2
    );
    fake.assert_no_violations();

    // Nobody listening: Transient, and no error says the token.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let nobody =
        DigitalOceanDns::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2)).unwrap();
    let e = nobody
        .list(&token, DOMAIN, "www.shop.example.com", "A")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    for shown in [format!("{e}"), format!("{e:?}")] {
        assert!(
            !shown.contains(TOKEN) && !shown.contains("c0ntractt0ken"),
            "{shown}"
        );
    }
    assert!(DigitalOceanDns::new("http://api.digitalocean.com", Duration::from_secs(1)).is_err());
}
