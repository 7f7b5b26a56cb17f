//! Issue 23 item 3: the Linode DNS adapter against a stateful fake whose every request and answer
//! is checked against Linode's published OpenAPI description
//! (tests/vendor/linode/dns.openapi.yaml). A request the description rejects is a violation, and
//! a violation fails the test. Needs the project's Python environment (`make setup`; `make test`
//! does it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Fake;
use lifeboat_core::ErrorKind;
use lifeboat_core::ports::{DomainRecords, RecordData, RecordValue, Secret};
use lifeboat_core::traffic::{domain_set_reads_as, reconcile, send};
use lifeboat_http::linode::LinodeDns;
use serde_json::{Value, json};

const TOKEN: &str = "c0ntractl1n0det0kenc0ntractl1n0det0kenc0ntractl1n0det0ken00000";
const DOMAIN: &str = "shop.example.com";

fn shop() -> Value {
    let mut records = vec![
        json!({"type": "A", "name": "www", "target": "203.0.113.10", "ttl_sec": 300}),
        json!({"type": "A", "name": "www", "target": "203.0.113.11", "ttl_sec": 300}),
        json!({"type": "A", "name": DOMAIN, "target": "203.0.113.10", "ttl_sec": 300}),
        json!({"type": "CNAME", "name": "api", "target": "api-use1.shop.example.com", "ttl_sec": 300}),
    ];
    // Enough other records that the list takes pages (500 a page).
    records.extend((0..520).map(|i| json!({"type": "A", "name": format!("r{i}"), "target": format!("10.1.{}.{}", i / 250, i % 250), "ttl_sec": 3600})));
    // and another domain in the account, so the adapter must find the right id
    json!({ "other.example.org": [], DOMAIN: records })
}

fn adapter(fake: &Fake) -> LinodeDns {
    LinodeDns::new(&fake.base_url, Duration::from_secs(10)).unwrap()
}

fn set(name: &str, record_type: &str, values: &[&str]) -> RecordValue {
    RecordValue {
        name: name.into(),
        record_type: record_type.into(),
        ttl: 300,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

/// The flip's requests as dns-flip sends them: read, reconcile, apply.
async fn apply(dns: &LinodeDns, token: &Secret, wanted: &RecordValue) -> usize {
    let current = dns
        .list(token, DOMAIN, &wanted.name, &wanted.record_type)
        .await
        .unwrap();
    let ops = reconcile(&current, wanted);
    send(dns, token, DOMAIN, &ops).await.unwrap();
    ops.len()
}

fn www_of(held: &[(String, String, String, u64)]) -> Vec<&str> {
    held.iter()
        .filter(|r| r.0 == "www" && r.1 == "A")
        .map(|r| r.2.as_str())
        .collect()
}

#[tokio::test]
async fn a_flip_and_its_undo_keep_linodes_contract() {
    let mut fake = Fake::start("linode", TOKEN, shop());
    let dns = adapter(&fake);
    let token = Secret::new(TOKEN);

    // GIVEN the shop's records pointing at us-east-1, past the first page of the domain
    let www = dns
        .list(&token, DOMAIN, "www.shop.example.com", "A")
        .await
        .unwrap();
    assert_eq!(www.len(), 2);
    assert!(www.iter().all(|r| r.data.name == "www.shop.example.com"));
    let far = dns
        .list(&token, DOMAIN, "r519.shop.example.com", "A")
        .await
        .unwrap();
    assert_eq!(far.len(), 1, "the second page is read");

    // WHEN traffic moves to us-west-2: three addresses where there were two, the apex, a CNAME
    let west_www = set(
        "www.shop.example.com",
        "A",
        &["198.51.100.20", "198.51.100.21", "198.51.100.22"],
    );
    let west_apex = set(DOMAIN, "A", &["198.51.100.20"]);
    let west_api = set(
        "api.shop.example.com",
        "CNAME",
        &["api-usw2.shop.example.com."],
    );
    assert_eq!(
        apply(&dns, &token, &west_www).await,
        3,
        "two updates, one create"
    );
    assert_eq!(apply(&dns, &token, &west_apex).await, 1);
    assert_eq!(apply(&dns, &token, &west_api).await, 1);

    // THEN Linode holds exactly the planned records, read back alike, and a repeat sends nothing
    let held = fake.held(DOMAIN, "target", "ttl_sec");
    let mut www_held = www_of(&held);
    www_held.sort();
    assert_eq!(
        www_held,
        ["198.51.100.20", "198.51.100.21", "198.51.100.22"]
    );
    assert!(held.contains(&(
        "api".into(),
        "CNAME".into(),
        "api-usw2.shop.example.com".into(),
        300
    )));
    for wanted in [&west_www, &west_apex, &west_api] {
        let read = dns
            .list(&token, DOMAIN, &wanted.name, &wanted.record_type)
            .await
            .unwrap();
        assert!(domain_set_reads_as(&read, wanted), "{read:?}");
        assert_eq!(apply(&dns, &token, wanted).await, 0);
    }

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
    assert_eq!(www_of(&fake.held(DOMAIN, "target", "ttl_sec")).len(), 2);
    fake.assert_no_violations();
}

#[tokio::test]
async fn linodes_errors_keep_their_kind_change_nothing_and_never_carry_the_token() {
    let mut fake = Fake::start("linode", TOKEN, shop());
    let dns = adapter(&fake);
    let token = Secret::new(TOKEN);
    let data = RecordData {
        name: "www.shop.example.com".into(),
        record_type: "A".into(),
        ttl: 300,
        value: "198.51.100.20".into(),
    };

    let wrong = Secret::new("wrongtokenwrongtokenwrongtokenwrongtokenwrongtokenwrongtoken00");
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
        .update(&token, DOMAIN, "123456", &data)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    let e = dns.delete(&token, DOMAIN, "1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = dns
        .list(&token, "absent.example.net", "www.absent.example.net", "A")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // Linode's own refusal (an A record's target must be an IPv4 address) is InvalidInput,
    // with Linode's reason and field
    let e = dns
        .create(
            &token,
            DOMAIN,
            &RecordData {
                value: "2001:db8::1".into(),
                ..data.clone()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("target"), "{e}");

    // Names outside the domain and ids that are no number are refused before any request.
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
    assert_eq!(www_of(&fake.held(DOMAIN, "target", "ttl_sec")).len(), 2);
    fake.assert_no_violations();

    // Nobody listening: Transient, and no error says the token.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let nobody =
        LinodeDns::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2)).unwrap();
    let e = nobody
        .list(&token, DOMAIN, "www.shop.example.com", "A")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    for shown in [format!("{e}"), format!("{e:?}")] {
        assert!(
            !shown.contains(TOKEN) && !shown.contains("l1n0de"),
            "{shown}"
        );
    }
    assert!(LinodeDns::new("http://api.linode.com", Duration::from_secs(1)).is_err());
}
