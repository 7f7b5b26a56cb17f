#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "linode-unit-token-0123456789abcdef0123456789abcdef0123456789abcdef";
const DOMAIN: &str = "shop.example.com";

async fn with_domain(server: &MockServer) -> LinodeDns {
    Mock::given(method("GET"))
        .and(path("/v4/domains"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("x-filter", r#"{"domain":"shop.example.com"}"#))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [{"id": 1234, "domain": "shop.example.com", "type": "master"}],
            "page": 1, "pages": 1, "results": 1,
        })))
        .mount(server)
        .await;
    LinodeDns::new(&server.uri(), Duration::from_secs(2)).unwrap()
}

#[tokio::test]
async fn records_are_read_fully_qualified_whatever_form_linode_gives_the_name_in() {
    let server = MockServer::start().await;
    let dns = with_domain(&server).await;
    Mock::given(method("GET"))
        .and(path("/v4/domains/1234/records"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [
                {"id": 1, "type": "A", "name": "", "target": "192.0.2.1", "ttl_sec": 300},
                {"id": 2, "type": "A", "name": "shop.example.com", "target": "192.0.2.2", "ttl_sec": 300},
                {"id": 3, "type": "A", "name": "www", "target": "192.0.2.3", "ttl_sec": 300},
                {"id": 4, "type": "A", "name": "www.shop.example.com", "target": "192.0.2.4", "ttl_sec": 300},
                {"id": 5, "type": "AAAA", "name": "www", "target": "2001:db8::1", "ttl_sec": 300},
            ],
            "page": 1, "pages": 2, "results": 6,
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v4/domains/1234/records"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [{"id": 6, "type": "A", "name": "WWW", "target": "192.0.2.6", "ttl_sec": 3600}],
            "page": 2, "pages": 2, "results": 6,
        })))
        .mount(&server)
        .await;
    let token = Secret::new(TOKEN);
    let apex = dns
        .list(&token, DOMAIN, "shop.example.com.", "A")
        .await
        .unwrap();
    assert_eq!(
        apex.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["1", "2"]
    );
    assert!(apex.iter().all(|r| r.data.name == DOMAIN));
    let www = dns
        .list(&token, "Shop.Example.com", "www.shop.example.com", "A")
        .await
        .unwrap();
    assert_eq!(
        www.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["3", "4", "6"]
    );
    assert_eq!(www[2].data.ttl, 3600);
}

#[tokio::test]
async fn the_apex_is_sent_fully_qualified_and_a_host_relative_without_a_type_on_update() {
    let server = MockServer::start().await;
    let dns = with_domain(&server).await;
    Mock::given(method("POST"))
        .and(path("/v4/domains/1234/records"))
        .and(wiremock::matchers::body_json(serde_json::json!({
            "type": "A", "name": "shop.example.com", "target": "192.0.2.9", "ttl_sec": 300,
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": 77, "type": "A", "name": "", "target": "192.0.2.9", "ttl_sec": 300,
        })))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v4/domains/1234/records/78"))
        .and(wiremock::matchers::body_json(serde_json::json!({
            "name": "api", "target": "lb.shop.example.com", "ttl_sec": 3600,
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": 78, "type": "CNAME", "name": "api", "target": "lb.shop.example.com", "ttl_sec": 3600,
        })))
        .mount(&server)
        .await;
    let token = Secret::new(TOKEN);
    let made = dns
        .create(
            &token,
            DOMAIN,
            &RecordData {
                name: DOMAIN.into(),
                record_type: "A".into(),
                ttl: 300,
                value: "192.0.2.9".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!((made.id.as_str(), made.data.name.as_str()), ("77", DOMAIN));
    let set = dns
        .update(
            &token,
            DOMAIN,
            "78",
            &RecordData {
                name: "api.shop.example.com".into(),
                record_type: "CNAME".into(),
                ttl: 3600,
                value: "lb.shop.example.com.".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(set.data.name, "api.shop.example.com");
    // a TXT at the apex cannot be named: refused before any request
    let e = dns
        .create(
            &token,
            DOMAIN,
            &RecordData {
                name: DOMAIN.into(),
                record_type: "TXT".into(),
                ttl: 300,
                value: "v=spf1 -all".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}

#[tokio::test]
async fn an_unknown_domain_is_not_found_and_linode_errors_keep_their_kind_inert_without_the_token()
{
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v4/domains"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            // Linode's filter is trusted only as far as lifeboat checks it
            "data": [{"id": 9, "domain": "other.example.org", "type": "master"}],
            "page": 1, "pages": 1, "results": 1,
        })))
        .mount(&server)
        .await;
    let dns = LinodeDns::new(&server.uri(), Duration::from_secs(2)).unwrap();
    let token = Secret::new(TOKEN);
    let e = dns
        .list(&token, DOMAIN, "www.shop.example.com", "A")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("shop.example.com"), "{e}");

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "errors": [{"reason": format!("bad\u{1b}[31m {}", "x".repeat(500)), "field": "X-Filter"}],
        })))
        .mount(&server)
        .await;
    let dns = LinodeDns::new(&server.uri(), Duration::from_secs(2)).unwrap();
    let e = dns.list(&token, DOMAIN, DOMAIN, "A").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let shown = e.to_string();
    assert!(!shown.contains('\u{1b}') && shown.len() < 400, "{shown}");
    assert!(shown.contains("X-Filter"), "{shown}");
    assert!(!format!("{e:?}").contains(TOKEN));

    for (status, kind) in [
        (401, ErrorKind::AccessDenied),
        (429, ErrorKind::Throttled),
        (503, ErrorKind::Transient),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(status).set_body_json(serde_json::json!({
                    "errors": [{"reason": "no"}],
                })),
            )
            .mount(&server)
            .await;
        let dns = LinodeDns::new(&server.uri(), Duration::from_secs(2)).unwrap();
        let e = dns.list(&token, DOMAIN, DOMAIN, "A").await.unwrap_err();
        assert_eq!(e.kind(), kind, "{status}: {e}");
        assert!(!format!("{e:?}").contains(TOKEN));
    }
}

#[tokio::test]
async fn a_body_that_does_not_parse_is_internal_and_a_slow_answer_transient() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .mount(&server)
        .await;
    let dns = LinodeDns::new(&server.uri(), Duration::from_secs(2)).unwrap();
    let token = Secret::new(TOKEN);
    let e = dns.list(&token, DOMAIN, DOMAIN, "A").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal, "{e}");

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let dns = LinodeDns::new(&server.uri(), Duration::from_millis(200)).unwrap();
    let e = dns.list(&token, DOMAIN, DOMAIN, "A").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
}

#[test]
fn an_api_url_that_is_not_https_or_loopback_and_ids_that_are_not_ids_are_refused() {
    for url in [
        "http://api.linode.com",
        "ftp://127.0.0.1:1",
        "http://10.0.0.1:80",
    ] {
        let e = LinodeDns::new(url, REQUEST_TIMEOUT).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{url}");
    }
    assert!(LinodeDns::new("http://127.0.0.1:9", REQUEST_TIMEOUT).is_ok());
    assert_eq!(
        record_id("12/../../v4").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(record_id("42").unwrap(), 42);
}

#[tokio::test]
async fn a_domain_name_that_is_not_one_is_refused_before_any_request() {
    let server = MockServer::start().await;
    let dns = LinodeDns::new(&server.uri(), Duration::from_secs(2)).unwrap();
    let e = dns
        .list(&Secret::new(TOKEN), "shop/../x", "www.shop/../x", "A")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(server.received_requests().await.unwrap().is_empty());
}
