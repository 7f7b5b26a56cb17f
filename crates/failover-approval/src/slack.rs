//! Slack: the approval card (Block Kit, for an incoming webhook) and the verification of
//! interaction callbacks per Slack's request-signing spec: `X-Slack-Signature` is `v0=` and the
//! hex HMAC-SHA256, keyed with the app's signing secret, of `v0:{X-Slack-Request-Timestamp}:{raw
//! body}`; requests whose timestamp is more than five minutes from now are refused (replays).

use hmac::Mac;
use lifeboat_core::ports::Secret;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::token::mac;

/// Requests older (or newer) than this are refused.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Why a Slack request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlackRefusal {
    MissingHeaders,
    StaleTimestamp,
    BadSignature,
    BadPayload,
}

/// Verify a Slack request's signature over its raw body.
pub fn verify_signature(
    signing_secret: &Secret,
    timestamp: Option<&str>,
    signature: Option<&str>,
    raw_body: &str,
    now: OffsetDateTime,
) -> Result<(), SlackRefusal> {
    let (Some(ts), Some(sig)) = (timestamp, signature) else {
        return Err(SlackRefusal::MissingHeaders);
    };
    let ts_num: i64 = ts
        .trim()
        .parse()
        .map_err(|_| SlackRefusal::StaleTimestamp)?;
    if (now.unix_timestamp() - ts_num).abs() > MAX_SKEW_SECONDS {
        return Err(SlackRefusal::StaleTimestamp);
    }
    let given = sig
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SlackRefusal::BadSignature)?;
    let basestring = format!("v0:{ts}:{raw_body}");
    mac(signing_secret, basestring.as_bytes())
        .ok_or(SlackRefusal::BadSignature)?
        .verify_slice(&given)
        .map_err(|_| SlackRefusal::BadSignature)
}

/// The signature Slack would send (for tests and for the drill's simulated Slack).
pub fn sign(signing_secret: &Secret, timestamp: &str, raw_body: &str) -> String {
    let basestring = format!("v0:{timestamp}:{raw_body}");
    match mac(signing_secret, basestring.as_bytes()) {
        Some(m) => format!("v0={}", hex::encode(m.finalize().into_bytes())),
        None => String::new(),
    }
}

/// The parts of a `block_actions` interaction lifeboat reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    /// Who pressed the button (`username (user id)`).
    pub user: String,
    /// Their Slack user id, from the signed payload (what the plan's approvers name).
    pub user_id: String,
    /// The button's `action_id`.
    pub action_id: String,
    /// The button's `value`: our signed token.
    pub value: String,
}

#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    user: User,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Action {
    action_id: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Form {
    payload: String,
}

/// Parse the form-encoded body of an interaction callback (`payload=<JSON>`).
pub fn parse_interaction(raw_body: &str) -> Result<Interaction, SlackRefusal> {
    let form: Form = serde_urlencoded::from_str(raw_body).map_err(|_| SlackRefusal::BadPayload)?;
    let p: Payload = serde_json::from_str(&form.payload).map_err(|_| SlackRefusal::BadPayload)?;
    if p.kind != "block_actions" {
        return Err(SlackRefusal::BadPayload);
    }
    let action = p
        .actions
        .into_iter()
        .next()
        .ok_or(SlackRefusal::BadPayload)?;
    let name = p.user.username.or(p.user.name).unwrap_or_default();
    Ok(Interaction {
        user: format!("{name} ({})", p.user.id),
        user_id: p.user.id,
        action_id: action.action_id,
        value: action.value.ok_or(SlackRefusal::BadPayload)?,
    })
}

/// Text escaped for Slack's mrkdwn as Slack documents it (`&`, `<`, `>`): a `<!channel>` or a
/// `<https://evil.example|Approve>` in untrusted text is shown, never mentions or links.
pub fn mrkdwn(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Button action ids.
pub const APPROVE_ACTION: &str = "lifeboat_approve";
pub const REJECT_ACTION: &str = "lifeboat_reject";

/// The approval card: what happened, what will happen, the risk, the deadline, two buttons
/// (each with a confirmation dialog) whose values are the signed tokens.
pub fn card(
    title: &str,
    facts: &[(String, String)],
    approve_token: &str,
    reject_token: &str,
) -> Value {
    // Slack's limits: a field's text 2,000 characters, a header 150, a message's text 40,000.
    let fields: Vec<Value> = facts
        .iter()
        .map(|(k, v)| {
            let k = lifeboat_core::text::bounded(k, 100);
            let v = lifeboat_core::text::bounded(v, 1_800);
            json!({"type": "mrkdwn", "text": format!("*{}*\n{}", mrkdwn(&k), mrkdwn(&v))})
        })
        .collect();
    let title = lifeboat_core::text::inert(title, 150);
    // Slack allows at most 10 fields per section.
    let sections: Vec<Value> = fields
        .chunks(10)
        .map(|c| json!({"type": "section", "fields": c}))
        .collect();
    let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text", "text": title}})];
    blocks.extend(sections);
    blocks.push(json!({
        "type": "actions",
        "elements": [
            {
                "type": "button", "style": "primary", "action_id": APPROVE_ACTION,
                "text": {"type": "plain_text", "text": "Approve failover"},
                "value": approve_token,
                "confirm": {
                    "title": {"type": "plain_text", "text": "Approve the failover?"},
                    "text": {"type": "mrkdwn", "text": "lifeboat will promote the database, scale up and move traffic."},
                    "confirm": {"type": "plain_text", "text": "Approve"},
                    "deny": {"type": "plain_text", "text": "Cancel"}
                }
            },
            {
                "type": "button", "style": "danger", "action_id": REJECT_ACTION,
                "text": {"type": "plain_text", "text": "Reject"},
                "value": reject_token
            }
        ]
    }));
    json!({"text": title, "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "payload=%7B%22type%22%3A%22block_actions%22%7D";

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn slacks_documented_example_verifies() {
        // The worked example from Slack's "Verifying requests from Slack" guide.
        let secret = Secret::new("8f742231b10e8888abcd99yyyzzz85a5");
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let at = OffsetDateTime::from_unix_timestamp(1_531_420_618).unwrap();
        assert_eq!(
            verify_signature(
                &secret,
                Some("1531420618"),
                Some("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
                body,
                at
            ),
            Ok(())
        );
    }

    #[test]
    fn a_signature_round_trips_and_anything_else_is_refused() {
        let secret = Secret::new("s");
        let ts = now().unix_timestamp().to_string();
        let sig = sign(&secret, &ts, BODY);
        assert_eq!(
            verify_signature(&secret, Some(&ts), Some(&sig), BODY, now()),
            Ok(())
        );
        let other = sign(&Secret::new("t"), &ts, BODY);
        assert_eq!(
            verify_signature(&secret, Some(&ts), Some(&other), BODY, now()),
            Err(SlackRefusal::BadSignature)
        );
        assert_eq!(
            verify_signature(&secret, Some(&ts), Some(&sig), "payload=x", now()),
            Err(SlackRefusal::BadSignature)
        );
        assert_eq!(
            verify_signature(&secret, None, Some(&sig), BODY, now()),
            Err(SlackRefusal::MissingHeaders)
        );
        assert_eq!(
            verify_signature(&secret, Some(&ts), Some("v0=zz"), BODY, now()),
            Err(SlackRefusal::BadSignature)
        );
    }

    #[test]
    fn a_timestamp_more_than_five_minutes_away_is_stale() {
        let secret = Secret::new("s");
        let old = (now().unix_timestamp() - 301).to_string();
        let sig = sign(&secret, &old, BODY);
        assert_eq!(
            verify_signature(&secret, Some(&old), Some(&sig), BODY, now()),
            Err(SlackRefusal::StaleTimestamp)
        );
        let recent = (now().unix_timestamp() - 299).to_string();
        let sig = sign(&secret, &recent, BODY);
        assert_eq!(
            verify_signature(&secret, Some(&recent), Some(&sig), BODY, now()),
            Ok(())
        );
    }

    #[test]
    fn an_interaction_names_the_user_and_carries_the_token() {
        let payload = json!({
            "type": "block_actions",
            "user": {"id": "U1", "username": "ana"},
            "actions": [{"action_id": APPROVE_ACTION, "value": "tok"}]
        });
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        let i = parse_interaction(&body).unwrap();
        assert_eq!(i.user, "ana (U1)");
        assert_eq!(i.value, "tok");
        assert_eq!(
            parse_interaction("payload=%7B%7D"),
            Err(SlackRefusal::BadPayload)
        );
        assert_eq!(parse_interaction("nonsense"), Err(SlackRefusal::BadPayload));
    }
}
