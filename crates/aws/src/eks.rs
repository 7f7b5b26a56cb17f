//! EKS's IAM-authenticated bearer token, as AWS documents it and `aws eks get-token` makes it:
//! an STS `GetCallerIdentity` request presigned (SigV4, query parameters) with the function's
//! own credentials, the header `x-k8s-aws-id: <cluster name>` among the signed ones, the URL
//! valid for 60 seconds, sent as `k8s-aws-v1.` + the URL in unpadded base64url. The cluster's
//! authenticator sends the request to STS and maps the role that signed it through its access
//! entries; STS honours a token for 15 minutes after its date at most, so a token is made for
//! each use and never stored.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use lifeboat_core::ports::{EksTokens, Secret};
use lifeboat_core::{Error, ErrorKind, Result};

/// The token's prefix (its version).
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header that binds the token to one cluster.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// How long the presigned URL says it is good for (`aws eks get-token`'s 60 s).
pub const URL_EXPIRES: Duration = Duration::from_secs(60);

/// Signs EKS tokens with the credentials of the shared `SdkConfig` (the function's role).
#[derive(Debug, Clone)]
pub struct EksTokenSigner {
    credentials: Option<SharedCredentialsProvider>,
    /// The emulator's endpoint (`AWS_ENDPOINT_URL`) in place of STS's regional one.
    endpoint_url: Option<String>,
}

impl EksTokenSigner {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            credentials: sdk.credentials_provider(),
            endpoint_url: sdk.endpoint_url().map(str::to_string),
        }
    }

    /// STS's regional endpoint for `region` (the one the cluster's authenticator accepts), or
    /// the configured endpoint.
    fn sts_url(&self, region: &str) -> String {
        match &self.endpoint_url {
            Some(url) => format!("{}/", url.trim_end_matches('/')),
            None if region.starts_with("cn-") => format!("https://sts.{region}.amazonaws.com.cn/"),
            None => format!("https://sts.{region}.amazonaws.com/"),
        }
    }
}

impl EksTokens for EksTokenSigner {
    async fn token(&self, region: &str, cluster_name: &str) -> Result<Secret> {
        let provider = self.credentials.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::AccessDenied,
                "EKS token: no AWS credentials are configured to sign it with",
            )
        })?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            // the provider's own words name no secret (keys are never in its errors)
            Error::new(
                ErrorKind::Transient,
                format!("EKS token: the function's credentials could not be read: {e}"),
            )
        })?;
        presigned_token(
            &credentials,
            &self.sts_url(region),
            region,
            cluster_name,
            SystemTime::now(),
        )
    }
}

/// The token for `cluster_name`: `GET <sts_url>?Action=GetCallerIdentity&Version=2011-06-15`
/// presigned at `now` for STS in `region`, `host` and `x-k8s-aws-id` signed, the payload's hash
/// that of the empty body (as botocore presigns it), a session token (a role's) signed in.
pub fn presigned_token(
    credentials: &Credentials,
    sts_url: &str,
    region: &str,
    cluster_name: &str,
    now: SystemTime,
) -> Result<Secret> {
    let mut url = url::Url::parse(sts_url)
        .map_err(|e| Error::invalid_input(format!("EKS token: STS URL {sts_url:?}: {e}")))?;
    url.set_query(Some("Action=GetCallerIdentity&Version=2011-06-15"));
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => {
            return Err(Error::invalid_input(format!(
                "EKS token: STS URL {sts_url:?} names no host"
            )));
        }
    };
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(URL_EXPIRES);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| Error::internal(format!("EKS token: signing parameters: {e}")))?
        .into();
    let request = SignableRequest::new(
        "GET",
        url.as_str(),
        [("host", host.as_str()), (CLUSTER_ID_HEADER, cluster_name)].into_iter(),
        SignableBody::empty(),
    )
    .map_err(|e| Error::internal(format!("EKS token: the request to sign: {e}")))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| Error::internal(format!("EKS token: signing: {e}")))?
        .into_parts();
    let (_headers, query) = instructions.into_parts();
    {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &query {
            pairs.append_pair(name, value);
        }
    }
    Ok(Secret::new(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url.as_str())
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn decoded(token: &Secret) -> url::Url {
        let b64 = token
            .expose()
            .strip_prefix(TOKEN_PREFIX)
            .expect("the k8s-aws-v1. prefix");
        assert!(!b64.contains('='), "unpadded: {b64}");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .expect("base64url");
        url::Url::parse(std::str::from_utf8(&raw).unwrap()).unwrap()
    }

    fn query(url: &url::Url) -> std::collections::BTreeMap<String, String> {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// GIVEN fixed credentials and a fixed time, WHEN lifeboat makes the token for a cluster,
    /// THEN it is the presigned GetCallerIdentity AWS documents, and its signature is the one
    /// botocore (what `aws eks get-token` uses) computes for the same request: checked against
    /// the vector below, made with botocore 1.x's `generate_presigned_url('get_caller_identity',
    /// ExpiresIn=60)` with the `x-k8s-aws-id` header injected before signing, as
    /// awscli/customizations/eks/get_token.py does.
    #[test]
    fn the_token_is_the_presigned_get_caller_identity_aws_eks_get_token_makes() {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let token = presigned_token(
            &creds,
            "https://sts.us-west-2.amazonaws.com/",
            "us-west-2",
            "shop-usw2",
            at,
        )
        .unwrap();
        let url = decoded(&token);
        assert_eq!(url.scheme(), "https");
        assert_eq!(url.host_str(), Some("sts.us-west-2.amazonaws.com"));
        assert_eq!(url.path(), "/");
        let q = query(&url);
        assert_eq!(q["Action"], "GetCallerIdentity");
        assert_eq!(q["Version"], "2011-06-15");
        assert_eq!(q["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(
            q["X-Amz-Credential"],
            "AKIDEXAMPLE/20261130/us-west-2/sts/aws4_request"
        );
        assert_eq!(q["X-Amz-Expires"], "60");
        assert_eq!(q["X-Amz-SignedHeaders"], "host;x-k8s-aws-id");
        assert_eq!(q["X-Amz-Signature"], BOTOCORE_SIGNATURE, "{q:?}");
        assert!(!q.contains_key("X-Amz-Security-Token"));
    }

    /// The signature botocore computes for the request above (see the test's comment).
    const BOTOCORE_SIGNATURE: &str =
        "17645c385cded8a5b02e7b95bb156992bab6b1982e987d644acc2c9743d7adc6";

    #[test]
    fn a_roles_session_token_is_signed_in_and_another_cluster_gets_another_signature() {
        let creds = Credentials::new(
            "ASIAEXAMPLE",
            "secret",
            Some("the-session".into()),
            None,
            "t",
        );
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let sign = |cluster: &str| {
            query(&decoded(
                &presigned_token(&creds, "http://127.0.0.1:4566", "us-east-1", cluster, at)
                    .unwrap(),
            ))
        };
        let a = sign("shop-use1");
        assert_eq!(a["X-Amz-Security-Token"], "the-session");
        assert_ne!(a["X-Amz-Signature"], sign("shop-other")["X-Amz-Signature"]);
        // the secret itself is in no part of the token
        assert!(!a.values().any(|v| v.contains("secret")));
    }

    #[test]
    fn sts_is_the_clusters_regional_endpoint_unless_an_endpoint_is_configured() {
        let signer = |endpoint: Option<&str>| EksTokenSigner {
            credentials: None,
            endpoint_url: endpoint.map(str::to_string),
        };
        assert_eq!(
            signer(None).sts_url("eu-central-1"),
            "https://sts.eu-central-1.amazonaws.com/"
        );
        assert_eq!(
            signer(None).sts_url("cn-north-1"),
            "https://sts.cn-north-1.amazonaws.com.cn/"
        );
        assert_eq!(
            signer(Some("http://127.0.0.1:4566/")).sts_url("us-west-2"),
            "http://127.0.0.1:4566/"
        );
    }

    #[tokio::test]
    async fn without_credentials_no_token_is_made_and_the_error_says_why() {
        let signer = EksTokenSigner {
            credentials: None,
            endpoint_url: None,
        };
        let e = signer.token("us-west-2", "shop-usw2").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AccessDenied);
        assert!(e.message().contains("no AWS credentials"), "{e}");
    }
}
