//! Step Functions: start the failover workflow idempotently by execution name.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use lifeboat_core::ports::{Execution, WorkflowStarter};
use lifeboat_core::{Error, Result};

use crate::error::classify;

/// [`WorkflowStarter`] for one state machine.
#[derive(Debug, Clone)]
pub struct SfnWorkflow {
    client: Client,
    state_machine_arn: String,
}

impl SfnWorkflow {
    pub fn new(base: &aws_config::SdkConfig, state_machine_arn: impl Into<String>) -> Self {
        Self::from_client(Client::new(base), state_machine_arn)
    }

    pub fn from_client(client: Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// The ARN an execution of this state machine called `name` has.
    pub fn execution_arn(&self, name: &str) -> Result<String> {
        self.state_machine_arn
            .contains(":stateMachine:")
            .then(|| {
                format!(
                    "{}:{name}",
                    self.state_machine_arn
                        .replacen(":stateMachine:", ":execution:", 1)
                )
            })
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "'{}' is not a state machine ARN",
                    self.state_machine_arn
                ))
            })
    }
}

impl WorkflowStarter for SfnWorkflow {
    async fn start(&self, name: &str, input_json: &str) -> Result<Execution> {
        match self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input_json)
            .send()
            .await
        {
            Ok(out) => Ok(Execution {
                arn: out.execution_arn().to_string(),
                already_existed: false,
            }),
            // Same name, other input: the run was started already (by an earlier event).
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(StartExecutionError::ExecutionAlreadyExists(_))
                ) =>
            {
                Ok(Execution {
                    arn: self.execution_arn(name)?,
                    already_existed: true,
                })
            }
            Err(e) => Err(classify("StartExecution", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_sdk_sfn::types::error::{ExecutionAlreadyExists, StateMachineDoesNotExist};
    use aws_smithy_mocks::{mock, mock_client};
    use lifeboat_core::ErrorKind;

    const SM: &str = "arn:aws:states:us-west-2:123456789012:stateMachine:lifeboat-failover";

    #[tokio::test]
    async fn a_second_start_of_the_same_run_is_reported_not_repeated() {
        let rule = mock!(Client::start_execution)
            .match_requests(|r| r.state_machine_arn() == Some(SM) && r.name() == Some("run-1"))
            .sequence()
            .output(|| {
                StartExecutionOutput::builder()
                    .execution_arn(format!(
                        "{}:run-1",
                        SM.replace(":stateMachine:", ":execution:")
                    ))
                    .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
                    .build()
                    .expect("output")
            })
            .error(|| {
                StartExecutionError::ExecutionAlreadyExists(
                    ExecutionAlreadyExists::builder()
                        .meta(crate::error::test_meta("ExecutionAlreadyExists"))
                        .build(),
                )
            })
            .build();
        let sfn = SfnWorkflow::from_client(mock_client!(aws_sdk_sfn, [&rule]), SM);
        let first = sfn.start("run-1", "{}").await.expect("started");
        let second = sfn.start("run-1", r#"{"other":1}"#).await.expect("found");
        assert!(!first.already_existed);
        assert!(second.already_existed);
        assert_eq!(first.arn, second.arn);
    }

    #[tokio::test]
    async fn a_missing_state_machine_is_not_found() {
        let rule = mock!(Client::start_execution).then_error(|| {
            StartExecutionError::StateMachineDoesNotExist(
                StateMachineDoesNotExist::builder()
                    .meta(crate::error::test_meta("StateMachineDoesNotExist"))
                    .build(),
            )
        });
        let sfn = SfnWorkflow::from_client(mock_client!(aws_sdk_sfn, [&rule]), SM);
        let err = sfn.start("run-1", "{}").await.expect_err("missing");
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
