//! What the DNS providers' adapters share: the API's base URL (https, or a fake on loopback),
//! names and ids as URL path segments, and names relative to their domain.

use lifeboat_core::{Error, Result};

/// `api_url` without its trailing `/`: `https://`, or `http://` to 127.0.0.1 or localhost (a fake
/// on this machine); anything else is refused, so a token is never sent in the clear.
pub(crate) fn api_base(vendor: &str, api_url: &str) -> Result<String> {
    let base = api_url.trim_end_matches('/').to_string();
    let loopback = ["http://127.0.0.1:", "http://localhost:"]
        .iter()
        .any(|p| base.starts_with(p));
    if base.starts_with("https://") || loopback {
        Ok(base)
    } else {
        Err(Error::invalid_input(format!(
            "the {vendor} API URL '{}' must be https:// (http:// only to 127.0.0.1 or localhost)",
            lifeboat_core::text::inert(&base, 120)
        )))
    }
}

/// A domain or record id as one URL path segment: DNS names and ids hold nothing to escape,
/// and anything else is refused.
pub(crate) fn segment(s: &str) -> Result<&str> {
    if !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        Ok(s)
    } else {
        Err(Error::invalid_input(format!(
            "'{}' is not a domain name or record id",
            lifeboat_core::text::inert(s, 80)
        )))
    }
}

/// `www.shop.example.com` in `shop.example.com` → `www`; the domain itself → `@`.
pub(crate) fn relative(name: &str, domain: &str) -> Result<String> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == domain {
        return Ok("@".into());
    }
    name.strip_suffix(&format!(".{domain}"))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "'{}' is not in the domain {domain}",
                lifeboat_core::text::inert(&name, 120)
            ))
        })
}

/// A domain as the adapters compare it: lower case, without the final dot.
pub(crate) fn domain_key(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}
