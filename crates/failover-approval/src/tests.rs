//! GIVEN / WHEN / THEN tests of failover-approval over in-memory fakes, including the attacks
//! on the callback: each is refused and changes nothing.

use std::sync::{Arc, Mutex};

use aws_lambda_events::http::{HeaderMap, HeaderValue};
use lifeboat_core::decision::{Approval, Readiness};
use lifeboat_core::fakes::*;
use lifeboat_core::plan::Plan;
use serde_json::json;
use time::macros::datetime;

use super::*;

const PLAN: &str = include_str!("../../../examples/plan.yaml");
const LINK_SECRET: &str = "link-secret-4f1c9a";
const SLACK_SECRET: &str = "slack-signing-secret-77ab";
const WEBHOOK: &str = "https://hooks.slack.example/services/T0/B0/WEBHOOKSECRET";
const TASK_TOKEN: &str = "AAAAKgAAAAIAAAAAAAAAAT+task/token=SECRET==";
const URL: &str = "https://abc.lambda-url.us-west-2.on.aws/";

type Fakes = Handler<FakeParameters, FakeNotifier, FakeWebhook, FakeCallbacks, FixedClock>;

/// GIVEN a shop whose plan asks for approval by e-mail and Slack (15 minutes, then abort).
fn given_an_approval_function() -> Fakes {
    let mut plan: Plan = serde_norway::from_str(PLAN).unwrap();
    plan.approval.slack_webhook_parameter = Some("/lifeboat/shop/slack-webhook".into());
    let params = FakeParameters::with(
        "/lifeboat/shop/plan",
        &serde_json::to_string(&plan).unwrap(),
    );
    params
        .values
        .lock()
        .unwrap()
        .insert("/lifeboat/shop/slack-webhook".into(), WEBHOOK.into());
    Handler {
        config: Config {
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: "/lifeboat/shop/plan".into(),
                region: "us-west-2".into(),
            },
            link_secret: Secret::new(LINK_SECRET),
            slack_signing_secret: Some(Secret::new(SLACK_SECRET)),
            approval_url: None,
        },
        ports: Ports {
            params,
            notifier: FakeNotifier::default(),
            webhook: FakeWebhook::default(),
            callbacks: FakeCallbacks::default(),
            clock: FixedClock::at(datetime!(2026-11-22 03:00:30 UTC)),
        },
    }
}

fn run_request(run_id: &str) -> RunRequest {
    serde_json::from_value(json!({
        "app": "shop",
        "run_id": run_id,
        "source_region": "us-east-1",
        "target_region": "us-west-2",
        "plan_parameter": "/lifeboat/shop/plan",
        "trigger": {"kind": "alarm", "name": "lifeboat-shop-primary-unhealthy", "region": "us-west-2",
                    "reason": "Threshold Crossed: 3 of 5 probes failed", "at": "2026-11-22T03:00:00Z"},
        "promotion": serde_json::to_value(PromotionMode::Failover {
            lag: Some(std::time::Duration::from_millis(2500)), overridden: false }).unwrap(),
        "approval": serde_json::to_value(Approval::Required {
            timeout_minutes: 15, on_timeout: OnTimeout::Abort, proceed_after_outage_minutes: None }).unwrap(),
        "readiness": serde_json::to_value(Readiness {
            peer_lock_unread: None,
            primary_data_plane: None,
            writer_region: Some("us-east-1".into()), operation_in_progress: None,
            target_cluster_available: true, primary_reachable: false,
            replication_lag: Some(std::time::Duration::from_millis(2500)), replication_lag_age: None, alarm_still_firing: Some(true) }).unwrap(),
        "decided_at": "2026-11-22T03:00:05Z"
    }))
    .unwrap()
}

fn request_event(run_id: &str) -> Value {
    json!({
        "action": "request",
        "task_token": TASK_TOKEN,
        "callback_url": URL,
        "run": run_request(run_id),
    })
}

/// WHEN the request is made: the approve and reject links from the e-mail.
async fn request(h: &Fakes) -> (String, String) {
    let out = h
        .handle(request_event("shop-to-us-west-2-1795316400"))
        .await
        .unwrap();
    assert!(matches!(out, Response::Requested(_)), "{out:?}");
    let Published { message: text, .. } = h.ports.notifier.messages().pop().unwrap();
    let link = |label: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap()
            .trim()
            .strip_prefix(&format!("{URL}?t="))
            .unwrap()
            .to_string()
    };
    (link("Approve:"), link("Reject:"))
}

fn url_event(method: &str, path: &str, query: &str, body: &str, headers: HeaderMap) -> Value {
    let mut q = serde_json::Map::new();
    for (k, v) in serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap() {
        q.insert(k, json!(v));
    }
    let mut h = serde_json::Map::new();
    for (k, v) in &headers {
        h.insert(k.to_string(), json!(v.to_str().unwrap()));
    }
    json!({
        "version": "2.0", "rawPath": path, "rawQueryString": query, "headers": h,
        "queryStringParameters": q,
        "requestContext": {"accountId": "123456789012", "requestId": "r1", "domainName": "abc.lambda-url.us-west-2.on.aws",
            "domainPrefix": "abc", "time": "22/Nov/2026:03:00:30 +0000", "timeEpoch": 1795316430000_i64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"}},
        "body": body, "isBase64Encoded": false
    })
}

async fn call(h: &Fakes, event: Value) -> LambdaFunctionUrlResponse {
    match h.handle(event).await.unwrap() {
        Response::Page(p) => p,
        other => panic!("not a page: {other:?}"),
    }
}

async fn get(h: &Fakes, token: &str) -> LambdaFunctionUrlResponse {
    call(
        h,
        url_event("GET", "/", &format!("t={token}"), "", HeaderMap::new()),
    )
    .await
}

async fn post(h: &Fakes, token: &str, who: &str) -> LambdaFunctionUrlResponse {
    let body = serde_urlencoded::to_string([("t", token), ("who", who)]).unwrap();
    call(h, url_event("POST", "/", "", &body, HeaderMap::new())).await
}

fn slack_event(h: &Fakes, action_id: &str, token: &str, ts: i64, secret: &str) -> Value {
    let payload = json!({"type": "block_actions", "user": {"id": "U42", "username": "ana"},
                         "actions": [{"action_id": action_id, "value": token}]});
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    let ts = ts.to_string();
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-slack-request-timestamp",
        HeaderValue::from_str(&ts).unwrap(),
    );
    headers.insert(
        "x-slack-signature",
        HeaderValue::from_str(&slack::sign(&Secret::new(secret), &ts, &body)).unwrap(),
    );
    let _ = h;
    url_event("POST", "/slack", "", &body, headers)
}

fn body(p: &LambdaFunctionUrlResponse) -> String {
    p.body.clone().unwrap_or_default()
}

fn now(h: &Fakes) -> i64 {
    h.ports.clock.now().unix_timestamp()
}

#[tokio::test]
async fn the_request_shows_what_a_person_must_weigh() {
    let h = given_an_approval_function();
    let out = h
        .handle(request_event("shop-to-us-west-2-1795316400"))
        .await
        .unwrap();
    let Response::Requested(r) = out else {
        panic!()
    };
    assert_eq!(r.slack, "sent");
    let Published {
        topic,
        subject,
        message: text,
    } = h.ports.notifier.messages().pop().unwrap();
    assert_eq!(topic, "arn:aws:sns:us-west-2:123456789012:lifeboat-shop");
    assert!(subject.contains("WITH DATA LOSS"), "{subject}");
    for needle in [
        "lifeboat-shop-primary-unhealthy",               // the evidence
        "UNPLANNED FAILOVER",                            // what will happen
        "Replication lag (RPO risk): 2.5 s",             // the risk
        "primary database answers: NO",                  // readiness
        "2026-11-22 03:15:30 UTC",                       // the deadline
        "nothing changes; the run ends as not approved", // what a timeout does
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // The task token is kept server-side, never in a message.
    assert!(!text.contains(TASK_TOKEN));
    let Post { url, body: card } = h.ports.webhook.posts().pop().unwrap();
    assert_eq!(url, WEBHOOK);
    assert!(!card.contains(TASK_TOKEN));
    let card: Value = serde_json::from_str(&card).unwrap();
    let buttons = card["blocks"].as_array().unwrap().last().unwrap()["elements"].clone();
    assert_eq!(buttons[0]["action_id"], slack::APPROVE_ACTION);
    assert_eq!(buttons[1]["action_id"], slack::REJECT_ACTION);
    let stored = h
        .ports
        .params
        .value(&approval_parameter("shop", &r.approval_id))
        .unwrap();
    assert!(stored.contains(TASK_TOKEN));
}

#[tokio::test]
async fn get_shows_a_confirmation_page_and_decides_nothing() {
    let h = given_an_approval_function();
    let (approve, _) = request(&h).await;
    let before = h.ports.params.snapshot();
    for _ in 0..3 {
        // A mail scanner prefetching the link, several times.
        let p = get(&h, &approve).await;
        assert_eq!(p.status_code, 200);
        assert!(body(&p).contains("<form method=\"post\""));
        assert_eq!(p.headers["cache-control"], "no-store");
    }
    assert!(h.ports.callbacks.calls().is_empty());
    assert_eq!(h.ports.params.snapshot(), before);
}

/// The decision a `success` callback handed to the run.
fn sent_decision(call: &str) -> DecisionOutput {
    let json = call
        .strip_prefix(&format!("success {TASK_TOKEN} "))
        .unwrap_or_else(|| panic!("not a success callback: {call}"));
    serde_json::from_str(json).unwrap()
}

#[tokio::test]
async fn the_post_from_the_page_approves_once() {
    let h = given_an_approval_function();
    let (approve, reject) = request(&h).await;
    assert_eq!(get(&h, &approve).await.status_code, 200);
    let p = post(&h, &approve, "Ana Ops").await;
    assert_eq!(p.status_code, 200, "{}", body(&p));
    let calls = h.ports.callbacks.calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].starts_with(&format!("success {TASK_TOKEN} ")));
    let output = sent_decision(&calls[0]);
    assert_eq!(output.decision, Decision::Approve);
    assert_eq!(output.by, "Ana Ops");
    // Replayed, or the other link afterwards: refused, nothing sent.
    let again = post(&h, &approve, "Ana Ops").await;
    assert_eq!(again.status_code, 409);
    assert!(body(&again).contains("already decided"), "{}", body(&again));
    assert_eq!(post(&h, &reject, "Bob").await.status_code, 409);
    assert_eq!(get(&h, &reject).await.status_code, 409);
    assert_eq!(h.ports.callbacks.calls().len(), 1);
}

#[tokio::test]
async fn a_decision_lost_with_its_process_is_handed_to_the_run_when_pressed_again() {
    // GIVEN a person's approval whose process died after recording the decision and before
    // handing it to the waiting run (the request's future dropped mid-flight)
    let h = given_an_approval_function();
    let (approve, reject) = request(&h).await;
    h.ports.callbacks.lose_next();
    let lost = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        post(&h, &approve, "Ana Ops"),
    )
    .await;
    assert!(lost.is_err(), "the first press must be lost mid-flight");
    assert!(h.ports.callbacks.calls().is_empty());
    // THEN the other button does not turn it around, and sends nothing
    assert_eq!(get(&h, &reject).await.status_code, 409);
    assert_eq!(post(&h, &reject, "Bob").await.status_code, 409);
    assert!(h.ports.callbacks.calls().is_empty());
    // WHEN the person opens the link again and presses: the recorded decision reaches the run
    let page = get(&h, &approve).await;
    assert_eq!(page.status_code, 200, "{}", body(&page));
    assert!(body(&page).contains("<form method=\"post\""));
    let p = post(&h, &approve, "Ana Again").await;
    assert_eq!(p.status_code, 200, "{}", body(&p));
    let calls = h.ports.callbacks.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let output = sent_decision(&calls[0]);
    // the decision recorded first: who pressed first, and when
    assert_eq!(output.decision, Decision::Approve);
    assert_eq!(output.by, "Ana Ops");
    // AND once handed over, it is decided: a further press sends nothing
    assert_eq!(post(&h, &approve, "Ana Ops").await.status_code, 409);
    assert_eq!(get(&h, &approve).await.status_code, 409);
    assert_eq!(h.ports.callbacks.calls().len(), 1);
}

#[tokio::test]
async fn reject_fails_the_task_with_who_and_when() {
    let h = given_an_approval_function();
    let (_, reject) = request(&h).await;
    let p = post(&h, &reject, "Bob").await;
    assert_eq!(p.status_code, 200);
    let calls = h.ports.callbacks.calls();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].starts_with(&format!(
            "failure {TASK_TOKEN} {REJECTED_ERROR} rejected by Bob"
        )),
        "{calls:?}"
    );
}

/// Every attack is refused with the given status, sends nothing and writes nothing.
async fn assert_refused(h: &Fakes, event: Value, status: i64) {
    let before = h.ports.params.snapshot();
    let p = call(h, event).await;
    assert_eq!(p.status_code, status, "{}", body(&p));
    assert!(h.ports.callbacks.calls().is_empty(), "a callback was sent");
    assert_eq!(h.ports.params.snapshot(), before, "something was written");
}

#[tokio::test]
async fn a_forged_token_is_refused() {
    let h = given_an_approval_function();
    let (approve, _) = request(&h).await;
    let forged = token::sign(
        &Secret::new("guessed-secret"),
        &token::verify(&Secret::new(LINK_SECRET), &approve, h.ports.clock.now()).unwrap(),
    )
    .unwrap();
    for t in [forged.as_str(), "garbage", "", "a.b"] {
        let body = serde_urlencoded::to_string([("t", t), ("who", "Mallory")]).unwrap();
        assert_refused(&h, url_event("POST", "/", "", &body, HeaderMap::new()), 403).await;
    }
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let h = given_an_approval_function();
    let (approve, _) = request(&h).await;
    h.ports.clock.advance(time::Duration::minutes(16));
    let body = serde_urlencoded::to_string([("t", approve.as_str()), ("who", "Late")]).unwrap();
    assert_refused(&h, url_event("POST", "/", "", &body, HeaderMap::new()), 410).await;
}

#[tokio::test]
async fn a_tampered_decision_is_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let h = given_an_approval_function();
    let (_, reject) = request(&h).await;
    let (payload, mac) = reject.split_once('.').unwrap();
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let tampered = format!(
        "{}.{mac}",
        URL_SAFE_NO_PAD.encode(json.replace("\"reject\"", "\"approve\""))
    );
    let body = serde_urlencoded::to_string([("t", tampered.as_str()), ("who", "Mallory")]).unwrap();
    assert_refused(&h, url_event("POST", "/", "", &body, HeaderMap::new()), 403).await;
}

#[tokio::test]
async fn a_token_of_another_run_is_refused() {
    let h = given_an_approval_function();
    let (approve, _) = request(&h).await;
    // A validly signed token naming this approval id but another run.
    let mut claims =
        token::verify(&Secret::new(LINK_SECRET), &approve, h.ports.clock.now()).unwrap();
    claims.run = "shop-to-us-west-2-1700000000".into();
    let other = token::sign(&Secret::new(LINK_SECRET), &claims).unwrap();
    let body = serde_urlencoded::to_string([("t", other.as_str()), ("who", "Mallory")]).unwrap();
    assert_refused(&h, url_event("POST", "/", "", &body, HeaderMap::new()), 403).await;
    // And an approval id that does not exist.
    claims.id = "00000000000000000000000000000000".into();
    let unknown = token::sign(&Secret::new(LINK_SECRET), &claims).unwrap();
    let body = serde_urlencoded::to_string([("t", unknown.as_str()), ("who", "Mallory")]).unwrap();
    assert_refused(&h, url_event("POST", "/", "", &body, HeaderMap::new()), 404).await;
}

#[tokio::test]
async fn a_post_without_a_name_or_with_other_methods_decides_nothing() {
    let h = given_an_approval_function();
    let (approve, _) = request(&h).await;
    let body = serde_urlencoded::to_string([("t", approve.as_str()), ("who", "  ")]).unwrap();
    assert_refused(&h, url_event("POST", "/", "", &body, HeaderMap::new()), 400).await;
    assert_refused(
        &h,
        url_event("PUT", "/", &format!("t={approve}"), "", HeaderMap::new()),
        405,
    )
    .await;
    assert_refused(
        &h,
        url_event("GET", "/admin", "", "", HeaderMap::new()),
        404,
    )
    .await;
    // The token in the query string of a POST is not a decision either.
    assert_refused(
        &h,
        url_event(
            "POST",
            "/",
            &format!("t={approve}"),
            "who=x",
            HeaderMap::new(),
        ),
        400,
    )
    .await;
}

#[tokio::test]
async fn slack_approves_with_a_valid_signature() {
    let h = given_an_approval_function();
    let (approve, _) = request(&h).await;
    let p = call(
        &h,
        slack_event(&h, slack::APPROVE_ACTION, &approve, now(&h), SLACK_SECRET),
    )
    .await;
    assert_eq!(p.status_code, 200, "{}", body(&p));
    assert!(body(&p).contains("Approved by ana (U42)"));
    assert_eq!(h.ports.callbacks.calls().len(), 1);
}

#[tokio::test]
async fn slack_with_a_bad_signature_a_stale_timestamp_or_a_swapped_button_is_refused() {
    let h = given_an_approval_function();
    let (approve, reject) = request(&h).await;
    assert_refused(
        &h,
        slack_event(
            &h,
            slack::APPROVE_ACTION,
            &approve,
            now(&h),
            "not-the-secret",
        ),
        401,
    )
    .await;
    assert_refused(
        &h,
        slack_event(
            &h,
            slack::APPROVE_ACTION,
            &approve,
            now(&h) - 301,
            SLACK_SECRET,
        ),
        401,
    )
    .await;
    assert_refused(
        &h,
        slack_event(
            &h,
            slack::APPROVE_ACTION,
            &approve,
            now(&h) + 400,
            SLACK_SECRET,
        ),
        401,
    )
    .await;
    // The reject button's token sent as an approval.
    assert_refused(
        &h,
        slack_event(&h, slack::APPROVE_ACTION, &reject, now(&h), SLACK_SECRET),
        403,
    )
    .await;
    // A body altered after signing.
    let mut event = slack_event(&h, slack::REJECT_ACTION, &reject, now(&h), SLACK_SECRET);
    event["body"] = json!(event["body"].as_str().unwrap().replace("ana", "eve"));
    assert_refused(&h, event, 401).await;
}

#[tokio::test]
async fn a_transient_callback_failure_leaves_the_link_usable() {
    let h = given_an_approval_function();
    let (approve, _) = request(&h).await;
    h.ports.callbacks.fail_next(ErrorKind::Transient);
    assert_eq!(post(&h, &approve, "Ana").await.status_code, 503);
    assert_eq!(post(&h, &approve, "Ana").await.status_code, 200);
    assert_eq!(h.ports.callbacks.calls().len(), 1);
}

#[tokio::test]
async fn a_run_that_stopped_waiting_is_reported_as_such() {
    let h = given_an_approval_function();
    let (approve, _) = request(&h).await;
    h.ports.callbacks.fail_next(ErrorKind::PreconditionFailed); // TaskTimedOut
    let p = post(&h, &approve, "Ana").await;
    assert_eq!(p.status_code, 410);
    assert!(body(&p).contains("no longer waiting"));
}

#[tokio::test]
async fn bad_requests_are_invalid_input_and_send_nothing() {
    let h = given_an_approval_function();
    let mut no_token = request_event("r");
    no_token["task_token"] = json!("");
    let mut bad_url = request_event("r");
    bad_url["callback_url"] = json!("javascript:alert(1)");
    let mut other_app = request_event("r");
    other_app["run"]["app"] = json!("blog");
    for bad in [
        json!({}),
        json!({"action": "approve"}),
        no_token,
        bad_url,
        other_app,
    ] {
        let err = h.handle(bad.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
    }
    assert!(h.ports.notifier.messages().is_empty());
}

/// A writer that keeps everything logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_a_log_line() {
    // The process-wide subscriber (a scoped one misses callsites other test threads cached as
    // uninteresting); the other tests of this binary log into it too, which only adds evidence.
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");

    let h = given_an_approval_function();
    let (approve, reject) = request(&h).await;
    get(&h, &approve).await;
    h.ports.callbacks.fail_next(ErrorKind::Transient);
    post(&h, &approve, "Ana").await;
    post(&h, &approve, "Ana").await;
    post(&h, &reject, "Bob").await;
    call(
        &h,
        slack_event(&h, slack::APPROVE_ACTION, &approve, now(&h), "wrong"),
    )
    .await;
    let _ = h
        .handle(json!({"action": "request", "task_token": TASK_TOKEN}))
        .await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("decided"),
        "the test must see the logs: {text}"
    );
    for secret in [
        LINK_SECRET,
        SLACK_SECRET,
        WEBHOOK,
        "WEBHOOKSECRET",
        TASK_TOKEN,
        &approve,
        &reject,
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} appears in the logs:\n{text}"
        );
    }
}

#[tokio::test]
async fn the_sample_events_are_understood() {
    let dir = format!(
        "{}/../../events/failover-approval",
        env!("CARGO_MANIFEST_DIR")
    );
    let request: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/request.json")).unwrap())
            .unwrap();
    let h = given_an_approval_function();
    assert!(matches!(
        h.handle(request).await.unwrap(),
        Response::Requested(_)
    ));
    let get: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/function-url-get.json")).unwrap(),
    )
    .unwrap();
    // The sample's token is not signed with this function's secret: a refusal page.
    assert_eq!(call(&h, get).await.status_code, 403);
}

/// GIVEN a run whose evidence holds a Slack broadcast, a disguised link, a 1 MiB string and
/// control / bidi / zero-width characters, WHEN approval is requested, THEN the e-mail and the
/// Slack card show them inert and bounded, and the card is still sent.
#[tokio::test]
async fn hostile_text_is_inert_and_bounded_in_the_email_and_the_card() {
    let h = given_an_approval_function();
    let mut event = request_event("shop-to-us-west-2-1795316400");
    event["run"]["trigger"] = json!({
        "kind": "canary", "probed_region": "us-east-1", "failures": 5, "probes": 5,
        "at": "2026-11-22T03:00:00Z",
        "evidence": ["<!channel> <https://evil.example|Approve>", "\u{1b}[31m\u{202e}gnp.exe\u{200b}", "y".repeat(1 << 20)]
    });
    let Response::Requested(r) = h.handle(event).await.expect("requested") else {
        panic!()
    };
    assert_eq!(r.slack, "sent", "the card is still accepted");
    let Published {
        subject,
        message: text,
        ..
    } = h.ports.notifier.messages().pop().unwrap();
    assert!(subject.chars().count() <= 100, "{subject}");
    assert!(text.len() < 20_000, "e-mail of {} bytes", text.len());
    for bad in ['\u{1b}', '\u{202e}', '\u{200b}'] {
        assert!(!text.contains(bad), "{bad:?} in the e-mail");
    }
    assert!(text.contains("\\u{202e}gnp.exe"), "{text}");
    let Post { body: card, .. } = h.ports.webhook.posts().pop().unwrap();
    assert!(!card.contains("<!channel>") && !card.contains("<https://evil.example"));
    assert!(card.contains("&lt;!channel&gt;"), "{card}");
    let card: Value = serde_json::from_str(&card).unwrap();
    let blocks = card["blocks"].as_array().unwrap();
    assert!(blocks[0]["text"]["text"].as_str().unwrap().chars().count() <= 150);
    for field in blocks
        .iter()
        .filter_map(|b| b["fields"].as_array())
        .flatten()
    {
        assert!(field["text"].as_str().unwrap().chars().count() <= 2_000);
    }
    assert!(
        blocks
            .iter()
            .filter_map(|b| b["fields"].as_array())
            .all(|f| f.len() <= 10)
    );
}

/// GIVEN the plan names its approvers: Slack user U42 and oncall@shop.example.
fn given_named_approvers() -> Fakes {
    let h = given_an_approval_function();
    let text = h.ports.params.value("/lifeboat/shop/plan").unwrap();
    let mut plan: Plan = serde_json::from_str(&text).unwrap();
    plan.approval.approvers = lifeboat_core::plan::Approvers {
        slack_user_ids: vec!["U42".into()],
        emails: vec!["oncall@shop.example".into()],
    };
    h.ports.params.values.lock().unwrap().insert(
        "/lifeboat/shop/plan".into(),
        serde_json::to_string(&plan).unwrap(),
    );
    h
}

#[tokio::test]
async fn with_named_approvers_only_they_decide_and_others_are_refused_with_nothing_sent() {
    let h = given_named_approvers();
    let (approve, _) = request(&h).await;
    // A Slack user the plan does not name: 403, nothing sent, the button stays usable.
    let mut event = slack_event(&h, slack::APPROVE_ACTION, &approve, now(&h), SLACK_SECRET);
    let payload = json!({"type": "block_actions", "user": {"id": "U66", "username": "ana"},
                         "actions": [{"action_id": slack::APPROVE_ACTION, "value": approve}]});
    let raw = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    let ts = now(&h).to_string();
    event["body"] = json!(raw);
    event["headers"]["x-slack-signature"] =
        json!(slack::sign(&Secret::new(SLACK_SECRET), &ts, &raw));
    let p = call(&h, event).await;
    assert_eq!(p.status_code, 403, "{}", body(&p));
    assert!(body(&p).contains("not one of the plan's approvers"));
    assert!(h.ports.callbacks.calls().is_empty(), "nothing sent");
    // A typed name on the e-mail link that is not a named address: 403, nothing sent.
    let p = post(&h, &approve, "ana (U42)").await;
    assert_eq!(p.status_code, 403, "{}", body(&p));
    assert!(h.ports.callbacks.calls().is_empty(), "nothing sent");
    // The confirmation page asks for the address.
    let page = call(
        &h,
        url_event("GET", "/", &format!("t={approve}"), "", HeaderMap::new()),
    )
    .await;
    assert!(
        body(&page).contains("Your e-mail address"),
        "{}",
        body(&page)
    );
    // The named Slack user decides; the decision is attributed to the signed payload's user.
    let p = call(
        &h,
        slack_event(&h, slack::APPROVE_ACTION, &approve, now(&h), SLACK_SECRET),
    )
    .await;
    assert_eq!(p.status_code, 200, "{}", body(&p));
    let calls = h.ports.callbacks.calls();
    assert_eq!(calls.len(), 1);
    assert!(format!("{calls:?}").contains("ana (U42)"), "{calls:?}");
    assert!(format!("{calls:?}").contains("Slack"), "{calls:?}");
}

#[tokio::test]
async fn a_named_e_mail_approver_decides_through_the_link() {
    let h = given_named_approvers();
    let (approve, _) = request(&h).await;
    let p = post(&h, &approve, "OnCall@Shop.Example").await;
    assert_eq!(p.status_code, 200, "{}", body(&p));
    assert_eq!(h.ports.callbacks.calls().len(), 1);
}
