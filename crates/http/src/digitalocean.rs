//! DigitalOcean DNS: a domain's records through DigitalOcean's API (`/v2/domains/{domain}/records`),
//! as DigitalOcean documents it: a record's `name` is relative to its domain (`@` for the apex)
//! while the list's `name` filter takes the fully qualified name; lists are paginated; a record
//! holds one value; there is no batch of changes. Errors are `{"id", "message"}` bodies; 401 for
//! a missing or wrong token, 404 for an unknown domain or record, 429 past the rate limit.
//!
//! The token travels only in the `Authorization` header; no error or log line carries it, and
//! pages are asked for by number (a `next` link from an answer is never followed, so the token
//! never goes to a host the configuration did not name).

use std::time::Duration;

use lifeboat_core::ports::{DomainRecord, DomainRecords, RecordData, Secret};

use crate::domains::{domain_key, relative, segment};
use lifeboat_core::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// DigitalOcean's API.
pub const DEFAULT_API_URL: &str = "https://api.digitalocean.com";

/// How long one request may take (connect to the end of the body) before it is `Transient`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The most records DigitalOcean gives in one page.
const PER_PAGE: u32 = 200;
/// Pages read for one record set before lifeboat gives up (40,000 records).
const MAX_PAGES: u32 = 200;

/// The DigitalOcean DNS adapter (one client, built once per function).
#[derive(Debug, Clone)]
pub struct DigitalOceanDns {
    client: reqwest::Client,
    base: String,
    timeout: Duration,
}

impl DigitalOceanDns {
    /// `api_url`: [`DEFAULT_API_URL`], or an `http://` URL on 127.0.0.1 / localhost (a fake on
    /// this machine); anything else is refused.
    pub fn new(api_url: &str, timeout: Duration) -> Result<Self> {
        Ok(Self {
            client: crate::client()?,
            base: crate::domains::api_base("DigitalOcean", api_url)?,
            timeout,
        })
    }

    fn records_url(&self, domain: &str) -> Result<String> {
        Ok(format!(
            "{}/v2/domains/{}/records",
            self.base,
            segment(domain)?
        ))
    }

    /// Send, and read a success's body as `T` (`None` for 204), or DigitalOcean's error.
    async fn exchange<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
        token: &Secret,
    ) -> Result<Option<T>> {
        crate::bearer_json(
            &format!("DigitalOcean {what}"),
            request,
            token,
            self.timeout,
            crate::kind_of_status,
            said,
        )
        .await
    }
}

fn qualified(name: &str, domain: &str) -> String {
    if name == "@" {
        domain.to_string()
    } else {
        format!("{name}.{domain}").to_ascii_lowercase()
    }
}

#[derive(Debug, Deserialize)]
struct ApiError {
    id: String,
    message: String,
}

/// DigitalOcean's own words from its error form `{"id", "message"}`.
fn said(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ApiError>(body).ok().map(|e| {
        format!(
            "{} ({})",
            lifeboat_core::text::inert(&e.message, 200),
            lifeboat_core::text::inert(&e.id, 60)
        )
    })
}

#[derive(Debug, Deserialize)]
struct ApiRecord {
    id: u64,
    #[serde(rename = "type")]
    record_type: String,
    name: String,
    data: String,
    ttl: u32,
}

impl ApiRecord {
    fn into_record(self, domain: &str) -> DomainRecord {
        DomainRecord {
            id: self.id.to_string(),
            data: RecordData {
                name: qualified(&self.name, domain),
                record_type: self.record_type,
                ttl: self.ttl,
                value: self.data,
            },
        }
    }
}

#[derive(Debug, Deserialize)]
struct Page {
    domain_records: Vec<ApiRecord>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Debug, Deserialize)]
struct Meta {
    total: u64,
}

#[derive(Debug, Deserialize)]
struct One {
    domain_record: ApiRecord,
}

#[derive(Debug, Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    record_type: &'a str,
    name: String,
    data: String,
    ttl: u32,
}

fn body<'a>(domain: &str, record: &'a RecordData) -> Result<Body<'a>> {
    // DigitalOcean takes a host name a record points to fully qualified, with the final dot.
    let data = if record.record_type == "CNAME" && !record.value.ends_with('.') {
        format!("{}.", record.value)
    } else {
        record.value.clone()
    };
    Ok(Body {
        record_type: &record.record_type,
        name: relative(&record.name, domain)?,
        data,
        ttl: record.ttl,
    })
}

impl DomainRecords for DigitalOceanDns {
    async fn list(
        &self,
        token: &Secret,
        domain: &str,
        name: &str,
        record_type: &str,
    ) -> Result<Vec<DomainRecord>> {
        let domain = domain_key(domain);
        let url = self.records_url(&domain)?;
        let fqdn = qualified(&relative(name, &domain)?, &domain);
        let mut found = Vec::new();
        for page in 1..=MAX_PAGES {
            let page_url = url::Url::parse_with_params(
                &url,
                &[
                    ("name", fqdn.as_str()),
                    ("type", record_type),
                    ("per_page", &PER_PAGE.to_string()),
                    ("page", &page.to_string()),
                ],
            )
            .map_err(|e| Error::with_source(ErrorKind::InvalidInput, "DigitalOcean list URL", e))?;
            let request = self.client.get(page_url);
            let Some(answer) = self
                .exchange::<Page>("list records", request, token)
                .await?
            else {
                // An answer without a body (204) lists nothing more.
                return Ok(found);
            };
            let got = answer.domain_records.len();
            found.extend(
                answer
                    .domain_records
                    .into_iter()
                    .map(|r| r.into_record(&domain))
                    // The filter is DigitalOcean's; lifeboat keeps only what it asked for.
                    .filter(|r| r.data.name == fqdn && r.data.record_type == record_type),
            );
            let total = answer.meta.map_or(0, |m| m.total);
            if got == 0 || (u64::from(page) * u64::from(PER_PAGE)) >= total {
                return Ok(found);
            }
        }
        Err(Error::internal(format!(
            "DigitalOcean list records: {fqdn} {record_type} has more than {} records",
            MAX_PAGES * PER_PAGE
        )))
    }

    async fn create(
        &self,
        token: &Secret,
        domain: &str,
        record: &RecordData,
    ) -> Result<DomainRecord> {
        let domain = domain_key(domain);
        let request = self
            .client
            .post(self.records_url(&domain)?)
            .json(&body(&domain, record)?);
        match self
            .exchange::<One>("create record", request, token)
            .await?
        {
            Some(one) => Ok(one.domain_record.into_record(&domain)),
            None => Err(Error::internal(
                "DigitalOcean create record: answered without the record",
            )),
        }
    }

    async fn update(
        &self,
        token: &Secret,
        domain: &str,
        id: &str,
        record: &RecordData,
    ) -> Result<DomainRecord> {
        let domain = domain_key(domain);
        let url = format!("{}/{}", self.records_url(&domain)?, segment(id)?);
        let request = self.client.put(url).json(&body(&domain, record)?);
        match self
            .exchange::<One>("update record", request, token)
            .await?
        {
            Some(one) => Ok(one.domain_record.into_record(&domain)),
            None => Err(Error::internal(
                "DigitalOcean update record: answered without the record",
            )),
        }
    }

    async fn delete(&self, token: &Secret, domain: &str, id: &str) -> Result<()> {
        let domain = domain_key(domain);
        let url = format!("{}/{}", self.records_url(&domain)?, segment(id)?);
        self.exchange::<serde_json::Value>("delete record", self.client.delete(url), token)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
