//! Step Functions: start the failover workflow idempotently by execution name.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use lifeboat_core::ports::{
    Execution, ExecutionHistory, ExecutionStatus, StateEvent, TaskCallbacks, WorkflowStarter,
};
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

/// Finding a state machine by name and following an execution (the CLI).
#[derive(Debug, Clone)]
pub struct SfnExecutions {
    client: Client,
}

impl SfnExecutions {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(base),
        }
    }

    /// The ARN of the state machine called `name` (e.g. `lifeboat-shop-failover`).
    pub async fn state_machine_arn(&self, name: &str) -> Result<String> {
        let mut pages = self.client.list_state_machines().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListStateMachines", e))?;
            if let Some(sm) = page.state_machines().iter().find(|sm| sm.name() == name) {
                return Ok(sm.state_machine_arn().to_string());
            }
        }
        Err(Error::not_found(format!(
            "no state machine named '{name}' in this region (is the stack deployed?)"
        )))
    }

    /// An execution's status (`RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`).
    pub async fn status(&self, execution_arn: &str) -> Result<String> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| classify("DescribeExecution", e))?;
        Ok(out.status().as_str().to_string())
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
                existing: None,
            }),
            // The name is taken (an earlier start, running or closed): say which.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(StartExecutionError::ExecutionAlreadyExists(_))
                ) =>
            {
                let arn = WorkflowStarter::execution_arn(self, name)?;
                let existing = self.status(&arn).await?.ok_or_else(|| {
                    Error::new(
                        lifeboat_core::ErrorKind::Transient,
                        format!(
                            "StartExecution: the name {name} is taken, yet no execution has it"
                        ),
                    )
                })?;
                Ok(Execution {
                    arn,
                    existing: Some(existing),
                })
            }
            Err(e) => Err(classify("StartExecution", e)),
        }
    }

    fn execution_arn(&self, name: &str) -> Result<String> {
        SfnWorkflow::execution_arn(self, name)
    }

    async fn status(&self, execution_arn: &str) -> Result<Option<ExecutionStatus>> {
        match self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ExecutionStatus::parse(out.status().as_str()))),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeExecutionError::ExecutionDoesNotExist(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify("DescribeExecution", e)),
        }
    }
}

/// [`TaskCallbacks`] over Step Functions `SendTaskSuccess` / `SendTaskFailure`.
///
/// A task token is a bearer credential: errors name the operation and the error code only, never
/// the service's message (which may quote the token).
#[derive(Debug, Clone)]
pub struct SfnCallbacks {
    client: Client,
}

impl SfnCallbacks {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        Self::from_client(Client::new(base))
    }

    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

fn without_message<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().map(str::to_string);
    let classified = classify(operation, err);
    let message = match code {
        Some(code) => format!("{operation}: {code}"),
        None => format!("{operation}: {:?}", classified.kind()),
    };
    Error::new(classified.kind(), message)
}

impl TaskCallbacks for SfnCallbacks {
    async fn succeed(&self, task_token: &str, output_json: &str) -> Result<()> {
        self.client
            .send_task_success()
            .task_token(task_token)
            .output(output_json)
            .send()
            .await
            .map_err(|e| without_message("SendTaskSuccess", e))?;
        Ok(())
    }

    async fn fail(&self, task_token: &str, error: &str, cause: &str) -> Result<()> {
        self.client
            .send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map_err(|e| without_message("SendTaskFailure", e))?;
        Ok(())
    }
}

/// [`ExecutionHistory`] over `GetExecutionHistory` (every page, oldest first).
#[derive(Debug, Clone)]
pub struct SfnHistory {
    client: Client,
}

impl SfnHistory {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        Self::from_client(Client::new(base))
    }

    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

impl ExecutionHistory for SfnHistory {
    async fn state_events(&self, execution_arn: &str) -> Result<Vec<StateEvent>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_execution_history()
                .execution_arn(execution_arn)
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("GetExecutionHistory", e))?;
            for event in page.events() {
                let (state, entered) = if let Some(d) = event.state_entered_event_details() {
                    (d.name(), true)
                } else if let Some(d) = event.state_exited_event_details() {
                    (d.name(), false)
                } else {
                    continue;
                };
                let ts = event.timestamp();
                let at = time::OffsetDateTime::from_unix_timestamp(ts.secs())
                    .map(|t| t + time::Duration::nanoseconds(i64::from(ts.subsec_nanos())))
                    .map_err(|e| {
                        Error::internal(format!("GetExecutionHistory: timestamp out of range: {e}"))
                    })?;
                out.push(StateEvent {
                    state: state.to_string(),
                    entered,
                    at,
                });
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
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
            .times(2)
            .build();
        let described = |status: &'static str| {
            move || {
                aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput::builder()
                    .execution_arn(format!(
                        "{}:run-1",
                        SM.replace(":stateMachine:", ":execution:")
                    ))
                    .state_machine_arn(SM)
                    .status(aws_sdk_sfn::types::ExecutionStatus::from(status))
                    .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
                    .build()
                    .expect("output")
            }
        };
        let describe = mock!(Client::describe_execution)
            .sequence()
            .output(described("RUNNING"))
            .output(described("ABORTED"))
            .build();
        let sfn = SfnWorkflow::from_client(
            mock_client!(
                aws_sdk_sfn,
                aws_smithy_mocks::RuleMode::MatchAny,
                [&rule, &describe]
            ),
            SM,
        );
        let first = sfn.start("run-1", "{}").await.expect("started");
        let second = sfn.start("run-1", r#"{"other":1}"#).await.expect("found");
        assert_eq!(first.existing, None);
        assert_eq!(second.existing, Some(ExecutionStatus::Running));
        assert_eq!(first.arn, second.arn);
        // a closed execution with the name is reported as closed, not as "already running"
        let third = sfn.start("run-1", "{}").await.expect("found");
        assert_eq!(third.existing, Some(ExecutionStatus::Aborted));
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

    #[tokio::test]
    async fn a_callback_error_keeps_its_kind_but_not_the_token() {
        use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError;
        let rule = mock!(Client::send_task_success).then_error(|| {
            SendTaskSuccessError::TaskTimedOut(
                aws_sdk_sfn::types::error::TaskTimedOut::builder()
                    .message("Task Timed Out: 'SECRET-TOKEN'")
                    .meta(
                        aws_smithy_types::error::ErrorMetadata::builder()
                            .code("TaskTimedOut")
                            .message("Task Timed Out: 'SECRET-TOKEN'")
                            .build(),
                    )
                    .build(),
            )
        });
        let cb = SfnCallbacks::from_client(mock_client!(aws_sdk_sfn, [&rule]));
        let err = cb
            .succeed("SECRET-TOKEN", "{}")
            .await
            .expect_err("timed out");
        assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
        assert!(
            !format!("{err} {err:?}").contains("SECRET-TOKEN"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn history_reads_every_page_and_keeps_only_state_entries_and_exits() {
        use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
        use aws_sdk_sfn::primitives::DateTime;
        use aws_sdk_sfn::types::{
            HistoryEvent, HistoryEventType, StateEnteredEventDetails, StateExitedEventDetails,
        };
        let entered = |id: i64, name: &str, secs: i64| {
            HistoryEvent::builder()
                .id(id)
                .r#type(HistoryEventType::TaskStateEntered)
                .timestamp(DateTime::from_secs(secs))
                .state_entered_event_details(
                    StateEnteredEventDetails::builder()
                        .name(name)
                        .build()
                        .expect("details"),
                )
                .build()
                .expect("event")
        };
        let exited = |id: i64, name: &str, secs: i64| {
            HistoryEvent::builder()
                .id(id)
                .r#type(HistoryEventType::TaskStateExited)
                .timestamp(DateTime::from_secs(secs))
                .state_exited_event_details(
                    StateExitedEventDetails::builder()
                        .name(name)
                        .build()
                        .expect("details"),
                )
                .build()
                .expect("event")
        };
        let other = HistoryEvent::builder()
            .id(1)
            .r#type(HistoryEventType::ExecutionStarted)
            .timestamp(DateTime::from_secs(1_800_000_000))
            .build()
            .expect("event");
        let first = mock!(Client::get_execution_history)
            .match_requests(|r| r.next_token().is_none())
            .then_output(move || {
                GetExecutionHistoryOutput::builder()
                    .events(other.clone())
                    .events(entered(2, "Assess", 1_800_000_001))
                    .next_token("page-2")
                    .build()
                    .expect("output")
            });
        let second = mock!(Client::get_execution_history)
            .match_requests(|r| r.next_token() == Some("page-2"))
            .then_output(move || {
                GetExecutionHistoryOutput::builder()
                    .events(exited(3, "Assess", 1_800_000_003))
                    .build()
                    .expect("output")
            });
        let history = SfnHistory::from_client(mock_client!(aws_sdk_sfn, [&first, &second]));
        let events = history.state_events("arn:x").await.expect("history");
        assert_eq!(events.len(), 2);
        assert!(events[0].entered && !events[1].entered);
        assert_eq!(
            events[1].at.unix_timestamp() - events[0].at.unix_timestamp(),
            2
        );
    }
}
