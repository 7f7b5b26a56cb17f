//! Approval link tokens: URL-safe, HMAC-SHA256-signed, bound to one approval request (its
//! random id and its run), one decision and an expiry.
//!
//! Format: `base64url(payload JSON) "." base64url(HMAC-SHA256(secret, payload JSON))`, no
//! padding, so the token is safe in a query string and in a form field. The MAC is checked (in
//! constant time) before the payload is even parsed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use lifeboat_core::ports::Secret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// What a person decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

/// The signed claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Format version.
    pub v: u8,
    /// The approval request's random id (where its task token is kept, server-side).
    pub id: String,
    /// The run it belongs to.
    pub run: String,
    /// The decision this link makes.
    pub d: Decision,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// Why a token was refused. Deliberately coarse towards the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Not a token of ours: malformed, or the signature does not match.
    Forged,
    /// Signed by us, past its expiry.
    Expired,
}

/// Sign `claims` with `secret`.
pub fn sign(secret: &Secret, claims: &Claims) -> lifeboat_core::Result<String> {
    let payload = serde_json::to_vec(claims)
        .map_err(|e| lifeboat_core::Error::internal(format!("approval claims: {e}")))?;
    let mac = mac(secret, &payload)
        .ok_or_else(|| lifeboat_core::Error::internal("HMAC key rejected"))?
        .finalize()
        .into_bytes();
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(mac)
    ))
}

/// HMAC-SHA256 keyed with `secret` over `payload` (HMAC takes keys of any length).
pub(crate) fn mac(secret: &Secret, payload: &[u8]) -> Option<HmacSha256> {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(secret.expose().as_bytes()).ok()?;
    m.update(payload);
    Some(m)
}

/// Verify `token` and return its claims, if it is ours and not expired at `now`.
pub fn verify(secret: &Secret, token: &str, now: OffsetDateTime) -> Result<Claims, LinkRefusal> {
    if token.len() > 2048 {
        return Err(LinkRefusal::Forged);
    }
    let (payload_b64, mac_b64) = token.split_once('.').ok_or(LinkRefusal::Forged)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| LinkRefusal::Forged)?;
    let given = URL_SAFE_NO_PAD
        .decode(mac_b64)
        .map_err(|_| LinkRefusal::Forged)?;
    // Constant-time comparison.
    mac(secret, &payload)
        .ok_or(LinkRefusal::Forged)?
        .verify_slice(&given)
        .map_err(|_| LinkRefusal::Forged)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| LinkRefusal::Forged)?;
    if claims.v != 1 {
        return Err(LinkRefusal::Forged);
    }
    if now.unix_timestamp() >= claims.exp {
        return Err(LinkRefusal::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(d: Decision) -> Claims {
        Claims {
            v: 1,
            id: "a1b2".into(),
            run: "shop-to-us-west-2-1".into(),
            d,
            exp: 2_000_000_000,
        }
    }

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    #[test]
    fn a_token_round_trips_and_is_url_safe() {
        let secret = Secret::new("k");
        let t = sign(&secret, &claims(Decision::Approve)).unwrap();
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
        assert_eq!(
            verify(&secret, &t, at(1_900_000_000)),
            Ok(claims(Decision::Approve))
        );
    }

    #[test]
    fn another_key_a_changed_payload_or_garbage_is_forged() {
        let t = sign(&Secret::new("k"), &claims(Decision::Reject)).unwrap();
        let now = at(1_900_000_000);
        assert_eq!(
            verify(&Secret::new("other"), &t, now),
            Err(LinkRefusal::Forged)
        );
        // Swap in the payload of an approve token, keep the reject token's MAC.
        let approve = sign(&Secret::new("x"), &claims(Decision::Approve)).unwrap();
        let tampered = format!(
            "{}.{}",
            approve.split_once('.').unwrap().0,
            t.split_once('.').unwrap().1
        );
        assert_eq!(
            verify(&Secret::new("k"), &tampered, now),
            Err(LinkRefusal::Forged)
        );
        for junk in ["", ".", "abc", "a.b", &"x".repeat(5000), "é.é"] {
            assert_eq!(
                verify(&Secret::new("k"), junk, now),
                Err(LinkRefusal::Forged)
            );
        }
    }

    #[test]
    fn a_token_expires() {
        let secret = Secret::new("k");
        let t = sign(&secret, &claims(Decision::Approve)).unwrap();
        assert_eq!(
            verify(&secret, &t, at(2_000_000_000)),
            Err(LinkRefusal::Expired)
        );
    }
}
