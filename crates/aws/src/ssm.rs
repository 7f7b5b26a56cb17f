//! SSM Parameter Store: the plan, the create-only lock, the run state.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::operation::delete_parameter::DeleteParameterError;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::operation::put_parameter::PutParameterError;
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType};
use lifeboat_core::Result;
use lifeboat_core::ports::{Created, ParameterStore};

use crate::error::classify;

/// [`ParameterStore`] over SSM in one region (the function's own).
#[derive(Debug, Clone)]
pub struct SsmParameterStore {
    client: Client,
}

impl SsmParameterStore {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(base),
        }
    }

    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

impl SsmParameterStore {
    async fn create_typed(&self, name: &str, value: &str, kind: ParameterType) -> Result<Created> {
        match self
            .client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .overwrite(false)
            .send()
            .await
        {
            Ok(_) => Ok(Created::Created),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutParameterError::ParameterAlreadyExists(_))
                ) =>
            {
                Ok(Created::AlreadyExists)
            }
            Err(e) => Err(classify("PutParameter", e)),
        }
    }
}

impl ParameterStore for SsmParameterStore {
    /// `DescribeParameters` filtered on the exact name: metadata only, so a role that may check
    /// a secret's existence (readiness) never needs `GetParameter` on it.
    async fn exists(&self, name: &str) -> Result<bool> {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .values(name)
            .build()
            .map_err(|e| {
                lifeboat_core::Error::internal(format!("DescribeParameters filter: {e}"))
            })?;
        let out = self
            .client
            .describe_parameters()
            .parameter_filters(filter)
            .send()
            .await
            .map_err(|e| classify("DescribeParameters", e))?;
        Ok(out.parameters().iter().any(|p| p.name() == Some(name)))
    }

    async fn get(&self, name: &str) -> Result<Option<String>> {
        match self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetParameterError::ParameterNotFound(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify("GetParameter", e)),
        }
    }

    async fn create(&self, name: &str, value: &str) -> Result<Created> {
        self.create_typed(name, value, ParameterType::String).await
    }

    async fn create_secret(&self, name: &str, value: &str) -> Result<Created> {
        self.create_typed(name, value, ParameterType::SecureString)
            .await
    }

    async fn put(&self, name: &str, value: &str) -> Result<()> {
        self.client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| classify("PutParameter", e))?;
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<()> {
        match self.client.delete_parameter().name(name).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteParameterError::ParameterNotFound(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(classify("DeleteParameter", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
    use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
    use aws_sdk_ssm::types::Parameter;
    use aws_sdk_ssm::types::error::{ParameterAlreadyExists, ParameterNotFound};
    use aws_smithy_mocks::{mock, mock_client};
    use lifeboat_core::ErrorKind;

    #[tokio::test]
    async fn missing_parameter_is_none_and_reads_decrypt() {
        let found = mock!(Client::get_parameter)
            .match_requests(|r| r.name() == Some("/a") && r.with_decryption() == Some(true))
            .then_output(|| {
                GetParameterOutput::builder()
                    .parameter(Parameter::builder().name("/a").value("v").build())
                    .build()
            });
        let missing = mock!(Client::get_parameter)
            .match_requests(|r| r.name() == Some("/b"))
            .then_error(|| {
                GetParameterError::ParameterNotFound(
                    ParameterNotFound::builder()
                        .meta(crate::error::test_meta("ParameterNotFound"))
                        .build(),
                )
            });
        let ssm = SsmParameterStore::from_client(mock_client!(aws_sdk_ssm, [&found, &missing]));
        assert_eq!(ssm.get("/a").await.expect("ok").as_deref(), Some("v"));
        assert_eq!(ssm.get("/b").await.expect("ok"), None);
    }

    #[tokio::test]
    async fn create_is_create_only() {
        let created = mock!(Client::put_parameter)
            .match_requests(|r| r.name() == Some("/lock") && r.overwrite() == Some(false))
            .sequence()
            .output(|| PutParameterOutput::builder().version(1).build())
            .error(|| {
                PutParameterError::ParameterAlreadyExists(
                    ParameterAlreadyExists::builder()
                        .meta(crate::error::test_meta("ParameterAlreadyExists"))
                        .build(),
                )
            })
            .build();
        let ssm = SsmParameterStore::from_client(mock_client!(aws_sdk_ssm, [&created]));
        assert_eq!(
            ssm.create("/lock", "x").await.expect("ok"),
            Created::Created
        );
        assert_eq!(
            ssm.create("/lock", "y").await.expect("ok"),
            Created::AlreadyExists
        );
    }

    #[tokio::test]
    async fn throttling_keeps_its_kind() {
        let throttled = mock!(Client::get_parameter).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400).expect("status"),
                aws_smithy_types::body::SdkBody::from(
                    r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
                ),
            )
        });
        let ssm = SsmParameterStore::from_client(mock_client!(aws_sdk_ssm, [&throttled]));
        let err = ssm.get("/a").await.expect_err("throttled");
        assert_eq!(err.kind(), ErrorKind::Throttled);
        assert!(err.to_string().contains("ThrottlingException"), "{err}");
        assert!(
            std::error::Error::source(&err).is_some(),
            "the SdkError is kept"
        );
    }
}
