//! The small HTML pages the callback answers with, and their security headers.

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse;
use aws_lambda_events::http::{HeaderMap, HeaderValue};

/// Escape text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;\
padding:0 1em;color:#1a1a1a}h1{font-size:1.4em}dl{display:grid;grid-template-columns:max-content \
auto;gap:.3em 1em}dt{font-weight:600}button{font-size:1em;padding:.6em 1.4em;border:0;\
border-radius:4px;color:#fff;cursor:pointer}.approve{background:#1d7a38}.reject{background:#b3261e}\
input{font-size:1em;padding:.4em;width:16em}.note{color:#555;font-size:.9em}";

/// A whole page: `title`, then `body_html` (already escaped by the caller).
pub fn page(status: u16, title: &str, body_html: &str) -> LambdaFunctionUrlResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex,nofollow\"><title>{t} - lifeboat</title>\
         <style>{STYLE}</style></head><body><h1>{t}</h1>{body_html}</body></html>",
        t = escape(title)
    );
    let mut headers = HeaderMap::new();
    for (k, v) in [
        ("content-type", "text/html; charset=utf-8"),
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(k, HeaderValue::from_static(v));
    }
    response(status, headers, html)
}

/// A plain-text answer (Slack reads the status; people do not see it).
pub fn text(status: u16, body: &str) -> LambdaFunctionUrlResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    response(status, headers, body.to_string())
}

fn response(status: u16, headers: HeaderMap, body: String) -> LambdaFunctionUrlResponse {
    let mut r = LambdaFunctionUrlResponse::default();
    r.status_code = i64::from(status);
    r.headers = headers;
    r.body = Some(body);
    r.is_base64_encoded = false;
    r
}

/// A definition list of facts.
pub fn facts(facts: &[(String, String)]) -> String {
    let mut out = String::from("<dl>");
    for (k, v) in facts {
        out.push_str(&format!("<dt>{}</dt><dd>{}</dd>", escape(k), escape(v)));
    }
    out.push_str("</dl>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_pages_forbid_framing_and_caching() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let p = page(200, "<b>", "");
        assert!(p.body.unwrap().contains("&lt;b&gt;"));
        assert_eq!(p.headers["x-frame-options"], "DENY");
        assert_eq!(p.headers["cache-control"], "no-store");
    }
}
