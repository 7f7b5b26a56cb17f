//! Linode DNS (DNS Manager): a domain's records through Linode's API v4, as Linode documents it
//! (tests/vendor/linode/dns.openapi.yaml keeps the part lifeboat uses):
//!
//! * a domain is addressed by its numeric id, found by listing the account's domains
//!   (`GET /v4/domains`, narrowed by the documented `X-Filter` on `domain`, and checked here);
//! * a record's `name` is the host relative to its domain (`www`); for `A` and `AAAA` Linode also
//!   takes the fully qualified name, which is how lifeboat sends the apex, and an apex record may
//!   come back with an empty name or the domain's own: both read as the apex;
//! * the value is `target`, the TTL `ttl_sec` (Linode rounds any TTL to the nearest of 300, 3600,
//!   7200, ... seconds: the plan's validation keeps TTLs to those, so a change reads back as sent);
//! * lists are pages (`page`, `page_size` 25-500, `pages` in the answer); there is no batch:
//!   each record is its own request;
//! * errors are `{"errors": [{"reason", "field"}]}`: 401 for a missing or wrong token, 404 for an
//!   unknown domain or record, 429 past the rate limit.
//!
//! The token travels only in the `Authorization` header; no error or log line carries it, and
//! pages are asked for by number from the configured host.

use std::time::Duration;

use lifeboat_core::ports::{DomainRecord, DomainRecords, RecordData, Secret};
use lifeboat_core::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

use crate::domains::{api_base, domain_key, relative, segment};

/// Linode's API.
pub const DEFAULT_API_URL: &str = "https://api.linode.com";

/// How long one request may take (connect to the end of the body) before it is `Transient`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The most items Linode gives in one page.
const PAGE_SIZE: u32 = 500;
/// Pages read for one list before lifeboat gives up: a domain holds at most 12,000 records.
const MAX_PAGES: u32 = 30;

/// The Linode DNS adapter (one client, built once per function).
#[derive(Debug, Clone)]
pub struct LinodeDns {
    client: reqwest::Client,
    base: String,
    timeout: Duration,
}

impl LinodeDns {
    /// `api_url`: [`DEFAULT_API_URL`], or an `http://` URL on 127.0.0.1 / localhost (a fake on
    /// this machine); anything else is refused.
    pub fn new(api_url: &str, timeout: Duration) -> Result<Self> {
        Ok(Self {
            client: crate::client()?,
            base: api_base("Linode", api_url)?,
            timeout,
        })
    }

    /// Send, and read a success's body as `T` (or Linode's error as a typed error).
    async fn exchange<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
        token: &Secret,
    ) -> Result<T> {
        crate::bearer_json(
            &format!("Linode {what}"),
            request,
            token,
            self.timeout,
            crate::kind_of_status,
            said,
        )
        .await
    }

    /// The id Linode gives `domain` (lower case, no final dot) in this account.
    async fn domain_id(&self, token: &Secret, domain: &str) -> Result<u64> {
        let url = format!("{}/v4/domains", self.base);
        let filter = serde_json::json!({ "domain": domain }).to_string();
        for page in 1..=MAX_PAGES {
            let request = self
                .client
                .get(format!("{url}?page={page}&page_size={PAGE_SIZE}"))
                .header("X-Filter", &filter);
            let answer: Page<ApiDomain> = self.exchange("list domains", request, token).await?;
            // The filter is Linode's; lifeboat keeps only the domain it asked for.
            if let Some(d) = answer.data.iter().find(|d| domain_key(&d.domain) == domain) {
                return Ok(d.id);
            }
            if answer.data.is_empty() || page >= answer.pages.unwrap_or(1) {
                break;
            }
        }
        Err(Error::new(
            ErrorKind::NotFound,
            format!("Linode has no domain {domain} in this account's DNS Manager"),
        ))
    }

    fn records_url(&self, domain_id: u64) -> String {
        format!("{}/v4/domains/{domain_id}/records", self.base)
    }
}

/// A record name as Linode shows it, fully qualified: empty, `@` or the domain itself is the
/// apex; a name already under the domain is kept; anything else is a host in the domain.
fn qualified(name: &str, domain: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() || name == "@" {
        domain.to_string()
    } else if name == domain || name.ends_with(&format!(".{domain}")) {
        name
    } else {
        format!("{name}.{domain}")
    }
}

#[derive(Debug, Deserialize)]
struct ApiErrors {
    errors: Vec<ApiErrorItem>,
}

#[derive(Debug, Deserialize)]
struct ApiErrorItem {
    reason: String,
    #[serde(default)]
    field: Option<String>,
}

/// Linode's own words from its error form `{"errors": [{"reason", "field"}]}` (the first three).
fn said(body: &[u8]) -> Option<String> {
    let e = serde_json::from_slice::<ApiErrors>(body).ok()?;
    Some(
        e.errors
            .iter()
            .take(3)
            .map(|e| match &e.field {
                Some(f) => format!(
                    "{} ({})",
                    lifeboat_core::text::inert(&e.reason, 200),
                    lifeboat_core::text::inert(f, 60)
                ),
                None => lifeboat_core::text::inert(&e.reason, 200),
            })
            .collect::<Vec<_>>()
            .join("; "),
    )
}

#[derive(Debug, Deserialize)]
struct Page<T> {
    data: Vec<T>,
    #[serde(default)]
    pages: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct ApiDomain {
    id: u64,
    domain: String,
}

#[derive(Debug, Deserialize)]
struct ApiRecord {
    id: u64,
    #[serde(rename = "type")]
    record_type: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    ttl_sec: u32,
}

impl ApiRecord {
    fn into_record(self, domain: &str) -> DomainRecord {
        DomainRecord {
            id: self.id.to_string(),
            data: RecordData {
                name: qualified(&self.name, domain),
                record_type: self.record_type,
                ttl: self.ttl_sec,
                value: self.target,
            },
        }
    }
}

/// A record's body: `type` only when it is created (an update cannot change it).
#[derive(Debug, Serialize)]
struct Body<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    record_type: Option<&'a str>,
    name: String,
    target: String,
    ttl_sec: u32,
}

fn body<'a>(domain: &str, record: &'a RecordData, create: bool) -> Result<Body<'a>> {
    let host = relative(&record.name, domain)?;
    let name = if host == "@" {
        // Linode's record name is at least one character; for A and AAAA it takes the fully
        // qualified name, which names the apex. Other types at the apex are refused by the
        // plan's validation (mode linode).
        if !matches!(record.record_type.as_str(), "A" | "AAAA") {
            return Err(Error::invalid_input(format!(
                "Linode: a {} record at the apex of {domain} cannot be named through Linode's API",
                lifeboat_core::text::inert(&record.record_type, 10)
            )));
        }
        domain.to_string()
    } else {
        host
    };
    // Linode shows a host name a record points to without the final dot.
    let target = if record.record_type == "CNAME" {
        record.value.trim_end_matches('.').to_string()
    } else {
        record.value.clone()
    };
    Ok(Body {
        record_type: create.then_some(record.record_type.as_str()),
        name,
        target,
        ttl_sec: record.ttl,
    })
}

impl DomainRecords for LinodeDns {
    async fn list(
        &self,
        token: &Secret,
        domain: &str,
        name: &str,
        record_type: &str,
    ) -> Result<Vec<DomainRecord>> {
        let domain = domain_key(domain);
        segment(&domain)?;
        let fqdn = qualified(&relative(name, &domain)?, &domain);
        let id = self.domain_id(token, &domain).await?;
        let url = self.records_url(id);
        let mut found = Vec::new();
        for page in 1..=MAX_PAGES {
            let request = self
                .client
                .get(format!("{url}?page={page}&page_size={PAGE_SIZE}"));
            let answer: Page<ApiRecord> = self.exchange("list records", request, token).await?;
            let got = answer.data.len();
            found.extend(
                answer
                    .data
                    .into_iter()
                    .map(|r| r.into_record(&domain))
                    .filter(|r| r.data.name == fqdn && r.data.record_type == record_type),
            );
            if got == 0 || page >= answer.pages.unwrap_or(1) {
                return Ok(found);
            }
        }
        Err(Error::internal(format!(
            "Linode list records: {domain} has more than {} records",
            MAX_PAGES * PAGE_SIZE
        )))
    }

    async fn create(
        &self,
        token: &Secret,
        domain: &str,
        record: &RecordData,
    ) -> Result<DomainRecord> {
        let domain = domain_key(domain);
        segment(&domain)?;
        let body = body(&domain, record, true)?;
        let id = self.domain_id(token, &domain).await?;
        let request = self.client.post(self.records_url(id)).json(&body);
        let made: ApiRecord = self.exchange("create record", request, token).await?;
        Ok(made.into_record(&domain))
    }

    async fn update(
        &self,
        token: &Secret,
        domain: &str,
        id: &str,
        record: &RecordData,
    ) -> Result<DomainRecord> {
        let domain = domain_key(domain);
        segment(&domain)?;
        let record_id = record_id(id)?;
        let body = body(&domain, record, false)?;
        let domain_id = self.domain_id(token, &domain).await?;
        let url = format!("{}/{record_id}", self.records_url(domain_id));
        let request = self.client.put(url).json(&body);
        let set: ApiRecord = self.exchange("update record", request, token).await?;
        Ok(set.into_record(&domain))
    }

    async fn delete(&self, token: &Secret, domain: &str, id: &str) -> Result<()> {
        let domain = domain_key(domain);
        segment(&domain)?;
        let record_id = record_id(id)?;
        let domain_id = self.domain_id(token, &domain).await?;
        let url = format!("{}/{record_id}", self.records_url(domain_id));
        let _: serde_json::Value = self
            .exchange("delete record", self.client.delete(url), token)
            .await?;
        Ok(())
    }
}

/// A Linode record id: a number.
fn record_id(id: &str) -> Result<u64> {
    id.parse().map_err(|_| {
        Error::invalid_input(format!(
            "'{}' is not a Linode record id",
            lifeboat_core::text::inert(id, 40)
        ))
    })
}

#[cfg(test)]
mod tests;
