//! failover-approval against the emulated AWS: the request reaches an HTTP subscriber of the SNS
//! topic, and a person's click on the link (GET, then the page's POST) decides a real execution
//! that waits on a task token in the emulator's Step Functions.

use std::time::{Duration, Instant};

use failover_approval::{Config, Handler, Ports, Response};
use lifeboat_aws::sfn::SfnCallbacks;
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::ports::SystemClock;
use lifeboat_http::Http;
use lifeboat_tests::{ACCOUNT, LINK_SECRET_PARAMETER, PLAN_PARAMETER, Shop, WEST};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{alarm_event, alarm_handler};

const CALLBACK_URL: &str = "https://approve.shop.example/";

type ApprovalHandler = Handler<SsmParameterStore, SnsNotifier, Http, SfnCallbacks, SystemClock>;

struct World {
    shop: Shop,
    subscriber: MockServer,
    approval: ApprovalHandler,
    machine_arn: String,
    tasks_url: String,
}

/// GIVEN the shop, a person's HTTP endpoint subscribed to the topic, the link secret in SSM
/// (SecureString), and a state machine whose first state waits for a task token.
async fn given_a_waiting_workflow() -> World {
    let shop = Shop::seed(2000.0).await;
    let subscriber = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&subscriber)
        .await;
    let sns = aws_sdk_sns::Client::new(&shop.west);
    sns.subscribe()
        .topic_arn(format!("arn:aws:sns:{WEST}:{ACCOUNT}:lifeboat-shop"))
        .protocol("http")
        .endpoint(format!("{}/sns", subscriber.uri()))
        .send()
        .await
        .unwrap();
    // The approval state: the task token goes out through a queue (the drill uses the real
    // Lambda invoke); the token is then handed to the approval function as the state machine
    // would hand it.
    let (tasks_url, _) = lifeboat_tests::create_queue(&shop.west, "approval-tasks").await;
    let definition = json!({
        "StartAt": "Approval",
        "States": {"Approval": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": tasks_url,
                           "MessageBody": {"task_token.$": "$$.Task.Token", "run.$": "$.run"}},
            "TimeoutSeconds": 120,
            "End": true
        }}
    });
    let machine_arn = aws_sdk_sfn::Client::new(&shop.west)
        .create_state_machine()
        .name("approval-under-test")
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/lifeboat"))
        .definition(definition.to_string())
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();

    let sdk = &shop.west;
    let env = lifeboat_lambda::Env(|name: &str| match name {
        "LIFEBOAT_PLAN_PARAMETER" => Some(PLAN_PARAMETER.to_string()),
        "LIFEBOAT_LINK_SECRET_PARAMETER" => Some(LINK_SECRET_PARAMETER.to_string()),
        "AWS_REGION" => Some(WEST.to_string()),
        _ => None,
    });
    let params = SsmParameterStore::new(sdk);
    let config = Config::load(&env, &params).await.unwrap();
    let approval = Handler {
        config,
        ports: Ports {
            params,
            notifier: SnsNotifier::new(sdk),
            webhook: Http::new().unwrap(),
            callbacks: SfnCallbacks::new(sdk),
            clock: SystemClock,
        },
    };
    World {
        shop,
        subscriber,
        approval,
        machine_arn,
        tasks_url,
    }
}

/// WHEN an alarm starts a run, and the workflow asks for approval: the execution's ARN.
async fn when_a_run_waits_for_approval(w: &World, name: &str) -> String {
    // The run input exactly as alarm-to-failover hands it to the workflow.
    alarm_handler(&w.shop).handle(alarm_event()).await.unwrap();
    let sfn = aws_sdk_sfn::Client::new(&w.shop.west);
    let started = w.shop.executions().await;
    let input = sfn
        .describe_execution()
        .execution_arn(format!(
            "{}:{}",
            w.shop
                .state_machine_arn
                .replace(":stateMachine:", ":execution:"),
            started[0]
        ))
        .send()
        .await
        .unwrap()
        .input()
        .unwrap()
        .to_string();
    let execution = sfn
        .start_execution()
        .state_machine_arn(&w.machine_arn)
        .name(name)
        .input(input)
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_string();
    let task: Value =
        serde_json::from_str(&lifeboat_tests::receive(&w.shop.west, &w.tasks_url).await[0])
            .unwrap();
    let out = w
        .approval
        .handle(json!({
            "action": "request",
            "task_token": task["task_token"],
            "callback_url": CALLBACK_URL,
            "run": task["run"],
        }))
        .await
        .unwrap();
    assert!(matches!(out, Response::Requested(_)), "{out:?}");
    execution
}

/// The approval e-mail, as the HTTP subscriber received it: (subject, text).
async fn received_request(w: &World) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for r in w.subscriber.received_requests().await.unwrap() {
            let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
                continue;
            };
            let message = body["Message"].as_str().unwrap_or_default();
            if body["Type"] == "Notification" && message.contains("Approve:") {
                return (
                    body["Subject"].as_str().unwrap_or_default().to_string(),
                    message.to_string(),
                );
            }
        }
        assert!(
            Instant::now() < deadline,
            "no approval request reached the subscriber"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn link(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap()
        .trim()
        .to_string()
}

/// A Function URL event for a browser's request to `url`.
fn browser(method: &str, url: &str, form: Option<&[(&str, &str)]>) -> Value {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut q = serde_json::Map::new();
    for (k, v) in serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap() {
        q.insert(k, json!(v));
    }
    let body = form
        .map(|f| serde_urlencoded::to_string(f).unwrap())
        .unwrap_or_default();
    json!({
        "version": "2.0", "rawPath": "/", "rawQueryString": if method == "GET" { query } else { "" },
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "queryStringParameters": if method == "GET" { Value::Object(q) } else { json!({}) },
        "requestContext": {"http": {"method": method, "path": "/", "protocol": "HTTP/1.1",
                                     "sourceIp": "127.0.0.1", "userAgent": "Mozilla/5.0"},
                           "timeEpoch": 0},
        "body": body, "isBase64Encoded": false
    })
}

async fn page(w: &World, event: Value) -> (i64, String) {
    match w.approval.handle(event).await.unwrap() {
        Response::Page(p) => (p.status_code, p.body.unwrap_or_default()),
        other => panic!("{other:?}"),
    }
}

/// The execution's status at this instant.
async fn status_now(w: &World, execution: &str) -> aws_sdk_sfn::types::ExecutionStatus {
    aws_sdk_sfn::Client::new(&w.shop.west)
        .describe_execution()
        .execution_arn(execution)
        .send()
        .await
        .unwrap()
        .status()
        .clone()
}

async fn finished(
    w: &World,
    execution: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let sfn = aws_sdk_sfn::Client::new(&w.shop.west);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .unwrap();
        if d.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
            return d;
        }
        assert!(Instant::now() < deadline, "the execution kept waiting");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_click_on_the_signed_link_approves_the_waiting_execution() {
    let w = given_a_waiting_workflow().await;
    let execution = when_a_run_waits_for_approval(&w, "approve-1").await;
    let (subject, text) = received_request(&w).await;
    assert!(subject.contains("APPROVAL NEEDED"), "{subject}");
    assert!(text.contains("Replication lag (RPO risk): 2.0 s"), "{text}");
    let approve = link(&text, "Approve:");
    assert!(approve.starts_with(CALLBACK_URL));

    // The person opens the link: a page, nothing decided.
    let (status, html) = page(&w, browser("GET", &approve, None)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Approve failover"));
    assert_eq!(
        status_now(&w, &execution).await,
        aws_sdk_sfn::types::ExecutionStatus::Running
    );

    // ... and presses the button.
    let token = approve.split_once("?t=").unwrap().1.to_string();
    let (status, html) = page(
        &w,
        browser(
            "POST",
            CALLBACK_URL,
            Some(&[("t", &token), ("who", "Ana Ops")]),
        ),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    let done = finished(&w, &execution).await;
    assert_eq!(
        done.status(),
        &aws_sdk_sfn::types::ExecutionStatus::Succeeded
    );
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert_eq!(output["decision"], "approve");
    assert_eq!(output["by"], "Ana Ops");

    // A replay changes nothing.
    let (status, _) = page(
        &w,
        browser(
            "POST",
            CALLBACK_URL,
            Some(&[("t", &token), ("who", "Ana Ops")]),
        ),
    )
    .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn reject_fails_the_waiting_execution() {
    let w = given_a_waiting_workflow().await;
    let execution = when_a_run_waits_for_approval(&w, "reject-1").await;
    let (_, text) = received_request(&w).await;
    let reject = link(&text, "Reject:");
    assert_eq!(page(&w, browser("GET", &reject, None)).await.0, 200);
    let token = reject.split_once("?t=").unwrap().1.to_string();
    let (status, _) = page(
        &w,
        browser("POST", CALLBACK_URL, Some(&[("t", &token), ("who", "Bob")])),
    )
    .await;
    assert_eq!(status, 200);
    let done = finished(&w, &execution).await;
    assert_eq!(done.status(), &aws_sdk_sfn::types::ExecutionStatus::Failed);
    assert_eq!(done.error(), Some(failover_approval::REJECTED_ERROR));
}

#[tokio::test]
async fn every_attack_on_the_callback_is_refused_and_changes_nothing() {
    use failover_approval::token::{self, Claims, Decision};
    use lifeboat_core::ports::Secret;

    let w = given_a_waiting_workflow().await;
    let execution = when_a_run_waits_for_approval(&w, "attacked-1").await;
    let (_, text) = received_request(&w).await;
    let approve = link(&text, "Approve:");
    let reject = link(&text, "Reject:");
    let approve_token = approve.split_once("?t=").unwrap().1.to_string();
    let reject_token = reject.split_once("?t=").unwrap().1.to_string();
    // The attacker's tools: the real key (to show that even validly signed but wrong claims are
    // refused) and a guessed one.
    let key = aws_sdk_ssm::Client::new(&w.shop.west)
        .get_parameter()
        .name(LINK_SECRET_PARAMETER)
        .with_decryption(true)
        .send()
        .await
        .unwrap()
        .parameter()
        .and_then(|p| p.value())
        .unwrap()
        .to_string();
    let real: Claims = token::verify(
        &Secret::new(&key),
        &approve_token,
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let forged = token::sign(&Secret::new("guessed"), &real).unwrap();
    let other_run = token::sign(
        &Secret::new(&key),
        &Claims {
            run: "shop-to-us-west-2-1700000000".into(),
            ..real.clone()
        },
    )
    .unwrap();
    let expired = token::sign(
        &Secret::new(&key),
        &Claims {
            exp: time::OffsetDateTime::now_utc().unix_timestamp() - 1,
            ..real.clone()
        },
    )
    .unwrap();
    let tampered = {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (payload, mac) = reject_token.split_once('.').unwrap();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        format!(
            "{}.{mac}",
            URL_SAFE_NO_PAD.encode(json.replace("\"reject\"", "\"approve\""))
        )
    };
    assert_eq!(real.d, Decision::Approve);

    for (what, token, status) in [
        ("forged", forged.as_str(), 403),
        ("another run", other_run.as_str(), 403),
        ("expired", expired.as_str(), 410),
        ("tampered decision", tampered.as_str(), 403),
        ("garbage", "x.y", 403),
    ] {
        let (got, _) = page(
            &w,
            browser(
                "POST",
                CALLBACK_URL,
                Some(&[("t", token), ("who", "Mallory")]),
            ),
        )
        .await;
        assert_eq!(got, status, "{what}");
    }
    // Prefetching both links, repeatedly, decides nothing.
    for _ in 0..3 {
        assert_eq!(page(&w, browser("GET", &approve, None)).await.0, 200);
        assert_eq!(page(&w, browser("GET", &reject, None)).await.0, 200);
    }
    // Nothing changed: still waiting, no decision recorded.
    assert_eq!(
        status_now(&w, &execution).await,
        aws_sdk_sfn::types::ExecutionStatus::Running
    );
    assert!(
        !w.shop
            .parameters()
            .await
            .iter()
            .any(|(name, _)| name.starts_with("/lifeboat/shop/decisions/")),
        "a decision was recorded"
    );
    // The real link still works (so the refusals above were not an accident of the setup).
    let (status, _) = page(
        &w,
        browser(
            "POST",
            CALLBACK_URL,
            Some(&[("t", &approve_token), ("who", "Ana")]),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        finished(&w, &execution).await.status(),
        &aws_sdk_sfn::types::ExecutionStatus::Succeeded
    );
}

#[tokio::test]
async fn slack_gets_the_card_and_its_signed_button_press_approves() {
    use aws_lambda_events::http::HeaderValue;
    use failover_approval::slack;
    use lifeboat_core::ports::Secret;

    let mut w = given_a_waiting_workflow().await;
    // Slack: the incoming webhook (a local server) and the app's signing secret, both in SSM.
    let slack_server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack_server)
        .await;
    let ssm = aws_sdk_ssm::Client::new(&w.shop.west);
    for (name, value) in [
        (
            "/lifeboat/shop/slack-webhook",
            format!("{}/services/T0/B0/XYZ", slack_server.uri()),
        ),
        (
            "/lifeboat/shop/slack-signing-secret",
            "emulated-slack-signing".to_string(),
        ),
    ] {
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }
    w.shop
        .change_plan(|p| {
            p.approval.slack_webhook_parameter = Some("/lifeboat/shop/slack-webhook".into());
        })
        .await;
    w.approval.config.slack_signing_secret = Some(Secret::new("emulated-slack-signing"));

    let execution = when_a_run_waits_for_approval(&w, "slack-1").await;
    let posts = slack_server.received_requests().await.unwrap();
    assert_eq!(posts.len(), 1);
    let card: Value = serde_json::from_slice(&posts[0].body).unwrap();
    let buttons = &card["blocks"].as_array().unwrap().last().unwrap()["elements"];
    let approve_token = buttons[0]["value"].as_str().unwrap();

    // Slack calls the function URL with the interaction, signed.
    let payload = json!({"type": "block_actions", "user": {"id": "U42", "username": "ana"},
                         "actions": [{"action_id": slack::APPROVE_ACTION, "value": approve_token}]});
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let signature = slack::sign(&Secret::new("emulated-slack-signing"), &ts, &body);
    let mut event = browser("POST", CALLBACK_URL, None);
    event["rawPath"] = json!("/slack");
    event["requestContext"]["http"]["path"] = json!("/slack");
    event["body"] = json!(body);
    event["headers"] = json!({
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": HeaderValue::from_str(&signature).unwrap().to_str().unwrap(),
    });
    let (status, text) = page(&w, event).await;
    assert_eq!(status, 200, "{text}");
    let done = finished(&w, &execution).await;
    assert_eq!(
        done.status(),
        &aws_sdk_sfn::types::ExecutionStatus::Succeeded
    );
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert_eq!(
        (output["by"].as_str(), output["via"].as_str()),
        (Some("ana (U42)"), Some("Slack"))
    );
}
