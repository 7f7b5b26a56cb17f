#![allow(clippy::unwrap_used, clippy::expect_used)]

use lifeboat_core::ports::Secret;
use wiremock::matchers::{basic_auth, body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const PASSWORD: &str = "rest-pw-71c2";

fn auth() -> PatroniAuth {
    PatroniAuth {
        username: "lifeboat".into(),
        password: Secret::new(PASSWORD),
    }
}

fn rest() -> PatroniRest {
    PatroniRest::new(Duration::from_secs(2)).expect("client")
}

#[tokio::test]
async fn a_member_is_read_from_its_status_and_the_clusters_member_list() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/patroni"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "state": "running", "role": "standby_leader", "timeline": 1,
            "xlog": {"received_location": 50472184, "replayed_location": 50472100,
                     "replayed_timestamp": null, "paused": false},
            "patroni": {"version": "4.1.5", "scope": "shop", "name": "b1"}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cluster"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "members": [{"name": "b2", "role": "replica", "host": "10.1.0.6", "port": 5432},
                        {"name": "b1", "role": "standby_leader", "state": "streaming",
                         "host": "10.1.0.5", "port": 5433}],
            "scope": "shop"})))
        .mount(&server)
        .await;
    let v = rest().member(&server.uri()).await.expect("read");
    assert_eq!(v.name, "b1");
    assert_eq!(v.role, PgRole::StandbyLeader);
    assert_eq!(v.postgres.as_deref(), Some("10.1.0.5:5433"));
    assert_eq!(v.received, Some(50472184));
    assert_eq!(v.position(), Some(50472184));
    assert_eq!(v.timeline, Some(1));
    assert_eq!(v.state, "streaming", "the member list's word");
    assert_eq!(
        v.replayed_at, None,
        "null: nothing replayed yet, so unknown"
    );
}

#[test]
fn replayed_timestamp_is_read_as_python_prints_it_and_anything_else_is_unknown() {
    use time::macros::datetime;
    assert_eq!(
        replayed_at("2026-12-06 08:50:12.123456+00:00"),
        Some(datetime!(2026-12-06 08:50:12.123456 UTC))
    );
    assert_eq!(
        replayed_at("2024-05-29 11:29:42.060016-04:00"),
        Some(datetime!(2024-05-29 15:29:42.060016 UTC))
    );
    // Python leaves the fraction out when it is zero
    assert_eq!(
        replayed_at("2026-12-06 08:50:12+00:00"),
        Some(datetime!(2026-12-06 08:50:12 UTC))
    );
    for bad in [
        "",
        "yesterday",
        "2026-12-06T08:50:12Z",
        "2026-12-06 08:50:12",
    ] {
        assert_eq!(replayed_at(bad), None, "{bad}");
    }
}

#[tokio::test]
async fn standby_cluster_is_patched_with_basic_auth_and_removed_with_null() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/config"))
        .and(basic_auth("lifeboat", PASSWORD))
        .and(body_json(serde_json::json!({"standby_cluster": {
            "host": "10.1.0.5", "port": 5432, "create_replica_methods": ["basebackup"]}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ttl": 30})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/config"))
        .and(basic_auth("lifeboat", PASSWORD))
        .and(body_json(serde_json::json!({"standby_cluster": null})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ttl": 30})))
        .expect(1)
        .mount(&server)
        .await;
    let r = rest();
    let up = PgUpstream {
        host: "10.1.0.5".into(),
        port: 5432,
    };
    r.set_standby_cluster(&server.uri(), Some(&up), &auth())
        .await
        .expect("demoted");
    r.set_standby_cluster(&server.uri(), None, &auth())
        .await
        .expect("promoted");
}

#[tokio::test]
async fn errors_keep_their_kind_and_never_carry_the_password() {
    for (status, kind) in [
        (401, ErrorKind::AccessDenied),
        (429, ErrorKind::Throttled),
        (400, ErrorKind::InvalidInput),
        (503, ErrorKind::Transient),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("PATCH"))
            .respond_with(ResponseTemplate::new(status).set_body_string("no\nway"))
            .mount(&server)
            .await;
        let err = rest()
            .set_standby_cluster(&server.uri(), None, &auth())
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), kind, "{status}");
        // what the server said is shown inert (one line); the password is never in it
        assert!(err.to_string().contains("no\\u{a}way"), "{err}");
        assert!(!err.to_string().contains(PASSWORD), "{err}");
    }
    // nothing listening
    let err = rest().member("http://127.0.0.1:9").await.expect_err("dark");
    assert_eq!(err.kind(), ErrorKind::Transient);
    // a body that is not Patroni's
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>proxy</html>"))
        .mount(&server)
        .await;
    let err = rest().member(&server.uri()).await.expect_err("unreadable");
    assert_eq!(err.kind(), ErrorKind::Internal);
}

#[tokio::test]
async fn a_url_with_credentials_or_a_path_is_refused_before_any_request() {
    for bad in [
        "ftp://10.0.0.5:8008",
        "http://lifeboat:secret@10.0.0.5:8008",
        "http://10.0.0.5:8008/patroni",
        "not a url",
    ] {
        let err = rest().member(bad).await.expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
