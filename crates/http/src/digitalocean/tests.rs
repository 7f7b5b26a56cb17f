#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "dop_v1_unittokenunittokenunittokenunittokenunittokenunittoken0000";

async fn dns(server: &MockServer) -> DigitalOceanDns {
    DigitalOceanDns::new(&server.uri(), Duration::from_secs(2)).unwrap()
}

#[tokio::test]
async fn a_body_that_does_not_parse_is_internal_and_an_error_body_is_shown_inert() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/domains/shop.example.com/records"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("name", "www.shop.example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(422).set_body_json(serde_json::json!({
            "id": "unprocessable_entity",
            "message": format!("bad\u{1b}[31m {}", "x".repeat(500)),
        })))
        .mount(&server)
        .await;
    let dns = dns(&server).await;
    let token = Secret::new(TOKEN);
    let e = dns
        .list(&token, "shop.example.com", "www.shop.example.com.", "A")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal, "{e}");
    let e = dns
        .delete(&token, "shop.example.com", "12")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let shown = e.to_string();
    assert!(!shown.contains('\u{1b}') && shown.len() < 400, "{shown}");
    assert!(!format!("{e:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_slow_answer_is_transient() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let dns = DigitalOceanDns::new(&server.uri(), Duration::from_millis(200)).unwrap();
    let e = dns
        .list(
            &Secret::new(TOKEN),
            "shop.example.com",
            "shop.example.com",
            "A",
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
}

#[test]
fn names_are_relative_to_their_domain() {
    assert_eq!(
        relative("www.shop.example.com.", "shop.example.com").unwrap(),
        "www"
    );
    assert_eq!(
        relative("Shop.Example.com", "shop.example.com").unwrap(),
        "@"
    );
    assert!(relative("wwwshop.example.com", "shop.example.com").is_err());
    assert_eq!(qualified("@", "shop.example.com"), "shop.example.com");
    assert_eq!(qualified("WWW", "shop.example.com"), "www.shop.example.com");
}
