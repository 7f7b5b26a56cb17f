//! The names a plan holds, checked by their own rules: ARNs, regions, buckets, `host:port`.

/// Parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(s: &'a str) -> Option<Arn<'a>> {
        let mut parts = s.splitn(6, ':');
        let (arn, partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        (arn == "arn"
            && partition.starts_with("aws")
            && !service.is_empty()
            && !resource.is_empty())
        .then_some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// The cluster identifier at the end of an RDS cluster ARN (`...:cluster:<id>`).
pub fn cluster_id_from_arn(arn: &str) -> Option<&str> {
    Arn::parse(arn)?.resource.strip_prefix("cluster:")
}

/// Whether `s` looks like an AWS region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let (first, last) = match (parts.first(), parts.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return false,
    };
    parts.len() >= 3
        && first.len() == 2
        && first.chars().all(|c| c.is_ascii_lowercase())
        && !last.is_empty()
        && last.chars().all(|c| c.is_ascii_digit())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
}

/// S3's bucket naming rules (general purpose buckets): 3-63 characters of lowercase letters,
/// digits, '.' and '-', starting and ending with a letter or digit.
pub fn is_bucket_name(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&s.len())
        && edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && !s.contains("..")
}

/// The same resource's ARN in the other copy's region (lifeboat deploys the same names in both
/// regions): `arn:aws:states:us-west-2:...` with `region` → `peer` becomes `...us-east-1...`.
pub fn arn_in_region(arn: &str, region: &str, peer: &str) -> String {
    arn.replacen(&format!(":{region}:"), &format!(":{peer}:"), 1)
}

/// `host:port`: a DNS name or IPv4 address, and a port 1..=65535.
pub fn is_host_port(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

pub(super) fn is_identifier(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= max
        && chars.all(|c| c.is_ascii_alphanumeric() || "-:._".contains(c))
}
