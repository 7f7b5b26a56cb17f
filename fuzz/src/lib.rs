//! What each fuzz target checks, on any input: no panic, a typed error for what is not valid,
//! and the properties below. Shared by the libFuzzer targets (`fuzz_targets/`, nightly) and by
//! the replay test in `make test` (`tests/fuzz_replay.rs`, stable), which runs every seed
//! under `events/` and every kept finding under `fuzz/regressions/<target>/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use lifeboat_core::plan::{Plan, ValidPlan};
use lifeboat_core::ports::Secret;
use lifeboat_core::trigger::{Observation, classify};
use serde_json::Value;
use time::OffsetDateTime;

const EXAMPLE: &str = include_str!("../../examples/plan.yaml");

fn example() -> &'static ValidPlan {
    static PLAN: OnceLock<ValidPlan> = OnceLock::new();
    PLAN.get_or_init(|| ValidPlan::parse(EXAMPLE).expect("the example plan"))
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_796_300_000).expect("in range")
}

fn json(data: &[u8]) -> Option<Value> {
    serde_json::from_slice(data).ok()
}

/// The plan parser and validator: any text parses or is refused with problems; a valid plan
/// written out as JSON (as `change_plan` and the CLI store it) reads back as the same plan.
pub fn plan(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(plan) = Plan::parse(text) else { return };
    match plan.clone().validate() {
        Ok(valid) => {
            let written = serde_json::to_string(valid.plan()).expect("a plan serializes");
            let again = ValidPlan::parse(&written).expect("a valid plan written out stays valid");
            assert_eq!(
                again.plan(),
                valid.plan(),
                "the plan changed on its way through JSON"
            );
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// Alarm and canary events (EventBridge, and CloudWatch's direct alarm action): parsed or refused
/// with a typed error; a parsed one is classified against the example plan for both targets.
pub fn events(data: &[u8]) {
    let Some(event) = json(data) else { return };
    match alarm_to_failover::parse_observation(event) {
        Ok(obs) => {
            for target in ["us-east-1", "us-west-2"] {
                if let Ok(trigger) = classify(example(), target, &obs, now()) {
                    // only real evidence starts a run
                    assert!(!matches!(obs, Observation::Other { .. }), "{trigger:?}");
                }
            }
        }
        Err(e) => assert_eq!(e.kind(), lifeboat_core::ErrorKind::InvalidInput, "{e}"),
    }
}

/// Every function's request as the state machine (or a person) sends it: parsed, or refused as
/// `InvalidInput`.
pub fn requests(data: &[u8]) {
    let Some(event) = json(data) else { return };
    fn check<T: serde::de::DeserializeOwned>(what: &str, event: &Value) {
        if let Err(e) = lifeboat_lambda::parse_event::<T>(what, event.clone()) {
            assert_eq!(e.kind(), lifeboat_core::ErrorKind::InvalidInput, "{e}");
        }
    }
    check::<db_failover::Request>("db-failover request", &event);
    check::<dns_flip::Request>("dns-flip request", &event);
    check::<dr_scale_up::Request>("dr-scale-up request", &event);
    check::<failback_orchestrator::Request>("failback-orchestrator request", &event);
    check::<failover_approval::ApprovalRequest>("approval request", &event);
    if let Err(e) = lifeboat_lambda::Scheduled::parse("readiness", event) {
        assert_eq!(e.kind(), lifeboat_core::ErrorKind::InvalidInput, "{e}");
    }
}

/// The approval link's token: anything but a token this secret signed, unexpired, is refused;
/// a token that verifies names a run and a decision.
pub fn link_token(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let secret = Secret::new("fuzz-link-secret");
    if let Ok(claims) = failover_approval::token::verify(&secret, token, now()) {
        // only our own signature verifies: re-signing the claims gives back a valid token
        let again = failover_approval::token::sign(&secret, &claims).expect("signs");
        assert_eq!(
            failover_approval::token::verify(&secret, &again, now()).ok(),
            Some(claims)
        );
    }
}

/// Slack's interaction callback: `timestamp\nsignature\nbody`. Verification refuses all but a
/// body signed with the signing secret within five minutes; the form body parses or is refused;
/// mrkdwn escaping leaves no `<` or `>` that Slack would read as a mention or a link.
pub fn slack(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '\n');
    let (ts, sig, body) = (parts.next(), parts.next(), parts.next().unwrap_or_default());
    let secret = Secret::new("fuzz-signing-secret");
    let verified =
        failover_approval::slack::verify_signature(&secret, ts, sig, body, now()).is_ok();
    if verified {
        let expected = failover_approval::slack::sign(&secret, ts.unwrap_or_default(), body);
        assert_eq!(
            sig,
            Some(expected.as_str()),
            "a signature we did not make verified"
        );
    }
    let _ = failover_approval::slack::parse_interaction(body);
    let shown = failover_approval::slack::mrkdwn(body);
    assert!(!shown.contains('<') && !shown.contains('>'), "{shown}");
}

/// The approval Function URL's request (GET link, POST confirmation, Slack callback): parsed as
/// the Lambda event or refused as `InvalidInput`; text shown on a page is escaped.
pub fn function_url(data: &[u8]) {
    if let Some(event) = json(data)
        && let Err(e) = lifeboat_lambda::parse_event::<
            aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest,
        >("Function URL request", event)
    {
        assert_eq!(e.kind(), lifeboat_core::ErrorKind::InvalidInput, "{e}");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let shown = failover_approval::page::escape(text);
        assert!(
            !shown.contains('<') && !shown.contains('>') && !shown.contains('"'),
            "{shown}"
        );
    }
}

/// A target's check.
pub type Check = fn(&[u8]);

/// The targets by name (the replay test walks them).
pub const TARGETS: [(&str, Check); 6] = [
    ("plan", plan),
    ("events", events),
    ("requests", requests),
    ("link_token", link_token),
    ("slack", slack),
    ("function_url", function_url),
];
