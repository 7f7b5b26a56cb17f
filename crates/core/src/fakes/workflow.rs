//! Fakes: Step Functions: executions started, task-token callbacks, execution histories.

use super::prelude::*;

/// An execution started: its name and input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub name: String,
    pub input: String,
}

/// Executions by name.
#[derive(Debug, Default)]
pub struct FakeWorkflow {
    /// Executions started, in order.
    pub started: Mutex<Vec<Started>>,
    /// When set, the next start fails with this kind.
    pub fail_next: Mutex<Option<ErrorKind>>,
    /// Executions that have closed, by name, with their status (others run).
    pub closed: Mutex<HashMap<String, ExecutionStatus>>,
}

impl FakeWorkflow {
    /// The ARN an execution called `name` has.
    pub fn arn(name: &str) -> String {
        format!("arn:aws:states:us-west-2:123456789012:execution:lifeboat-failover:{name}")
    }

    /// The execution called `name` ends with `status` (it need not have been started here).
    pub fn close(&self, name: &str, status: ExecutionStatus) {
        self.closed.lock().unwrap().insert(name.to_string(), status);
    }

    pub fn fail_next(&self, kind: ErrorKind) {
        *self.fail_next.lock().unwrap() = Some(kind);
    }

    pub fn names(&self) -> Vec<String> {
        self.started
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    pub fn input(&self, name: &str) -> Option<serde_json::Value> {
        self.started
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| serde_json::from_str(&s.input).ok())
    }
}

impl WorkflowStarter for FakeWorkflow {
    async fn start(&self, name: &str, input: &str) -> Result<Execution> {
        if let Some(kind) = self.fail_next.lock().unwrap().take() {
            return Err(Error::new(kind, "StartExecution: failed"));
        }
        let mut all = self.started.lock().unwrap();
        let arn = Self::arn(name);
        let closed = self.closed.lock().unwrap().get(name).copied();
        if all.iter().any(|s| s.name == name) || closed.is_some() {
            return Ok(Execution {
                arn,
                existing: Some(closed.unwrap_or(ExecutionStatus::Running)),
            });
        }
        all.push(Started {
            name: name.to_string(),
            input: input.to_string(),
        });
        Ok(Execution {
            arn,
            existing: None,
        })
    }

    fn execution_arn(&self, name: &str) -> Result<String> {
        Ok(Self::arn(name))
    }

    async fn status(&self, arn: &str) -> Result<Option<ExecutionStatus>> {
        let name = arn.rsplit(':').next().unwrap_or_default();
        if let Some(s) = self.closed.lock().unwrap().get(name) {
            return Ok(Some(*s));
        }
        let started = self.started.lock().unwrap().iter().any(|s| s.name == name);
        Ok(started.then_some(ExecutionStatus::Running))
    }
}

/// Task-token callbacks received: `success <token> <output>` / `failure <token> <error> <cause>`.
#[derive(Debug, Default)]
pub struct FakeCallbacks {
    pub received: Mutex<Vec<String>>,
    /// When set, the next callback fails with this kind.
    pub failure: Mutex<Option<ErrorKind>>,
    /// When set, the next callback never answers, as when the process sending it dies: the
    /// caller's future is dropped mid-flight and nothing is delivered.
    pub lost: Mutex<bool>,
}

impl FakeCallbacks {
    pub fn calls(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }

    pub fn fail_next(&self, kind: ErrorKind) {
        *self.failure.lock().unwrap() = Some(kind);
    }

    pub fn lose_next(&self) {
        *self.lost.lock().unwrap() = true;
    }

    async fn deliver(&self, what: String) -> Result<()> {
        if std::mem::take(&mut *self.lost.lock().unwrap()) {
            std::future::pending::<()>().await;
        }
        if let Some(kind) = self.failure.lock().unwrap().take() {
            return Err(Error::new(kind, "SendTask*: failed"));
        }
        self.received.lock().unwrap().push(what);
        Ok(())
    }
}

impl TaskCallbacks for FakeCallbacks {
    async fn succeed(&self, token: &str, output: &str) -> Result<()> {
        self.deliver(format!("success {token} {output}")).await
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<()> {
        self.deliver(format!("failure {token} {error} {cause}"))
            .await
    }
}

/// Execution histories by execution ARN (an unknown ARN is `NotFound`).
#[derive(Debug, Default)]
pub struct FakeHistory {
    /// State events by execution ARN.
    pub histories: Mutex<BTreeMap<String, Vec<StateEvent>>>,
}

impl FakeHistory {
    pub fn set(&self, execution_arn: &str, events: Vec<StateEvent>) {
        self.histories
            .lock()
            .unwrap()
            .insert(execution_arn.to_string(), events);
    }
}

impl ExecutionHistory for FakeHistory {
    async fn state_events(&self, execution_arn: &str) -> Result<Vec<StateEvent>> {
        self.histories
            .lock()
            .unwrap()
            .get(execution_arn)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no execution {execution_arn}")))
    }
}
