//! The plan, the run lock and the run state, kept in a [`ParameterStore`].

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::plan::ValidPlan;
use crate::ports::{Created, ParameterStore, WorkflowStarter};
use crate::run::{
    Lease, LockRecord, RunId, RunRequest, RunState, decode, encode, lease, lock_parameter,
    state_parameter,
};

/// Read and validate the plan stored under `name`.
pub async fn load_plan<P: ParameterStore>(params: &P, name: &str) -> Result<ValidPlan> {
    let text = params
        .get(name)
        .await?
        .ok_or_else(|| Error::not_found(format!("no plan at parameter {name}")))?;
    ValidPlan::parse(&text).map_err(|e| Error::from(e).context(format!("plan {name}")))
}

/// Who holds the run lock, if anyone.
pub async fn read_lock<P: ParameterStore>(params: &P, app: &str) -> Result<Option<LockRecord>> {
    let name = lock_parameter(app);
    match params.get(&name).await? {
        Some(text) => decode(&name, &text).map(Some),
        None => Ok(None),
    }
}

/// The recorded run state, if any run was ever recorded.
pub async fn read_state<P: ParameterStore>(params: &P, app: &str) -> Result<Option<RunState>> {
    let name = state_parameter(app);
    match params.get(&name).await? {
        Some(text) => decode(&name, &text).map(Some),
        None => Ok(None),
    }
}

/// What the lock says, judged by the lease rule ([`crate::run::lease`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockView {
    Free,
    /// Held for an execution that runs (or is being started).
    Live(LockRecord),
    /// Held, but nothing runs under it: to be reported and taken over.
    Stale(StaleLock),
}

impl LockView {
    /// The lock, when it still protects a run.
    pub fn live(&self) -> Option<&LockRecord> {
        match self {
            LockView::Live(l) => Some(l),
            _ => None,
        }
    }

    pub fn stale(&self) -> Option<&StaleLock> {
        match self {
            LockView::Stale(s) => Some(s),
            _ => None,
        }
    }
}

/// A lock whose execution no longer runs, and why it is stale.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StaleLock {
    pub lock: LockRecord,
    pub why: String,
}

/// Read the lock and judge its lease: the status of the execution it names, through
/// `workflows` (any lifeboat workflow's execution, by ARN).
///
/// A lock is stale only if it is still there, unchanged, after its execution was seen ended: a
/// run releases its lock in its last step and then its execution closes, so a run that ends
/// between the two reads left no stale lock (it is `Free`); a lock taken or renewed meanwhile
/// has a live holder (`Live`).
pub async fn inspect_lock<P: ParameterStore, W: WorkflowStarter>(
    params: &P,
    workflows: &W,
    app: &str,
    now: OffsetDateTime,
) -> Result<LockView> {
    let Some(lock) = read_lock(params, app).await? else {
        return Ok(LockView::Free);
    };
    let status = match &lock.execution_arn {
        Some(arn) => workflows.status(arn).await?,
        None => None,
    };
    let why = match lease(&lock, status, now) {
        Lease::Live => return Ok(LockView::Live(lock)),
        Lease::Stale { why } => why,
    };
    Ok(match read_lock(params, app).await? {
        Some(again) if again == lock => LockView::Stale(StaleLock { lock, why }),
        Some(changed) => LockView::Live(changed),
        None => LockView::Free,
    })
}

/// Remove a stale lock, if it is still exactly the one judged stale (a lock taken meanwhile by
/// another run is left alone). The audit line names the run that takes over.
pub async fn remove_stale_lock<P: ParameterStore>(
    params: &P,
    app: &str,
    stale: &StaleLock,
    taken_over_by: &RunId,
) -> Result<()> {
    if read_lock(params, app).await?.as_ref() == Some(&stale.lock) {
        tracing::warn!(
            stale_run = %stale.lock.run_id,
            stale_execution = stale.lock.execution_arn.as_deref().unwrap_or("-"),
            why = %stale.why,
            taken_over_by = %taken_over_by,
            "AUDIT: stale run lock taken over"
        );
        params.delete(&lock_parameter(app)).await?;
    }
    Ok(())
}

/// A new execution of the run that holds the lock (a resumption under a new execution name)
/// renews the lease: the lock names that execution from now on. Returns whether `run_id` holds
/// the lock.
pub async fn renew_lease<P: ParameterStore>(
    params: &P,
    app: &str,
    run_id: &RunId,
    execution_arn: &str,
) -> Result<bool> {
    match read_lock(params, app).await? {
        Some(mut holder) if holder.run_id == *run_id => {
            if holder.execution_arn.as_deref() != Some(execution_arn) {
                holder.execution_arn = Some(execution_arn.to_string());
                params.put(&lock_parameter(app), &encode(&holder)?).await?;
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// A run's step may act only while the run holds the lock: renews the lease with the step's
/// execution (when it names one), then `PreconditionFailed` naming the holder if this run does
/// not hold it. The one check every workflow's Assess makes before anything moves.
pub async fn hold_lock<P: ParameterStore>(
    params: &P,
    app: &str,
    run_id: &RunId,
    execution_arn: Option<&str>,
) -> Result<()> {
    if let Some(arn) = execution_arn {
        renew_lease(params, app, run_id, arn).await?;
    }
    match read_lock(params, app).await? {
        Some(holder) if holder.run_id == *run_id => Ok(()),
        other => Err(Error::precondition(format!(
            "run {run_id} does not hold the run lock ({}): it must not move anything",
            other.map_or("nobody does".to_string(), |h| format!(
                "run {} does",
                h.run_id
            ))
        ))),
    }
}

/// What became of an attempt to take the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// We hold it now.
    Acquired,
    /// The same run held it already (an earlier event of the same incident, or a retry).
    AlreadyOurs,
    /// Another run holds it.
    HeldBy(LockRecord),
}

/// Take the run lock for `run_id` (create-only: exactly one creator wins).
pub async fn acquire_lock<P: ParameterStore>(
    params: &P,
    app: &str,
    run_id: &RunId,
    target_region: &str,
    execution_arn: Option<String>,
    now: OffsetDateTime,
) -> Result<LockOutcome> {
    let record = LockRecord {
        run_id: run_id.clone(),
        target_region: target_region.to_string(),
        acquired_at: now,
        execution_arn,
    };
    match params
        .create(&lock_parameter(app), &encode(&record)?)
        .await?
    {
        Created::Created => Ok(LockOutcome::Acquired),
        Created::AlreadyExists => match read_lock(params, app).await? {
            Some(holder) if holder.run_id == *run_id => Ok(LockOutcome::AlreadyOurs),
            Some(holder) => Ok(LockOutcome::HeldBy(holder)),
            // Released between our create and our read: the caller may try again later.
            None => Err(Error::new(
                crate::ErrorKind::Transient,
                "the run lock changed hands while being taken",
            )),
        },
    }
}

/// Release the lock if (and only if) `run_id` holds it.
pub async fn release_lock<P: ParameterStore>(
    params: &P,
    app: &str,
    run_id: &RunId,
) -> Result<bool> {
    match read_lock(params, app).await? {
        Some(holder) if holder.run_id == *run_id => {
            params.delete(&lock_parameter(app)).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// What became of an attempt to start a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStart {
    /// The workflow runs (`duplicate`: this run's execution was running already).
    Started {
        /// The run that runs: the one asked for, or a later attempt of it under a new name
        /// when a closed execution held the name.
        run_id: RunId,
        execution_arn: String,
        duplicate: bool,
        /// A stale lock this start took over (announce it).
        took_over: Option<StaleLock>,
    },
    /// Another run holds the lock and its execution runs: nothing was started.
    HeldBy(LockRecord),
}

/// Whether the recorded run state says `run_id` has ended.
async fn recorded_as_ended<P: ParameterStore>(
    params: &P,
    app: &str,
    run_id: &RunId,
) -> Result<bool> {
    Ok(read_state(params, app)
        .await?
        .and_then(|s| s.last_run)
        .is_some_and(|r| r.run_id == *run_id && r.ended_at.is_some()))
}

/// Attempts of one run under distinct names before giving up (each closed by then).
const MAX_ATTEMPTS: u32 = 20;

/// Take the run lock and start the workflow with the run as input (`{"run": ...}`), the run id
/// as the execution name.
///
/// * A lock held by another run whose execution runs: `HeldBy`, nothing started.
/// * A stale lock (its execution closed, or none after the grace period): taken over, with an
///   audit line, and reported in `took_over`.
/// * The name taken by a RUNNING execution: that is this run, `duplicate`.
/// * The name taken by a closed execution the run state records as ended: this is a new attempt
///   (the decision has seen the end); it runs as `<run>-a2`, `-a3`, ... and the lock never stays
///   with the closed execution. Closed but not recorded yet: it is this incident's run
///   (`duplicate`), never a second one.
/// * When the start fails for good and this call took the lock, the lock is released.
pub async fn start_run<P: ParameterStore, W: WorkflowStarter>(
    params: &P,
    workflow: &W,
    request: &RunRequest,
    now: OffsetDateTime,
) -> Result<RunStart> {
    let app = request.app.as_str();
    let mut request = request.clone();
    let mut took_over = None;
    for attempt in 1..=MAX_ATTEMPTS {
        let run_id = request.run_id.clone();
        match inspect_lock(params, workflow, app, now).await? {
            LockView::Free => {}
            LockView::Live(holder) if holder.run_id == run_id => {}
            LockView::Live(holder) => return Ok(RunStart::HeldBy(holder)),
            // This incident's own run: not a takeover (its name decides below).
            LockView::Stale(stale) if stale.lock.run_id == run_id => {}
            LockView::Stale(stale) => {
                remove_stale_lock(params, app, &stale, &run_id).await?;
                took_over = Some(stale);
            }
        }
        let arn = workflow.execution_arn(run_id.as_str())?;
        let acquired = match acquire_lock(
            params,
            app,
            &run_id,
            &request.target_region,
            Some(arn.clone()),
            now,
        )
        .await?
        {
            LockOutcome::Acquired => true,
            LockOutcome::AlreadyOurs => false,
            LockOutcome::HeldBy(holder) => return Ok(RunStart::HeldBy(holder)),
        };
        let input = encode(&serde_json::json!({ "run": &request }))?;
        match workflow.start(run_id.as_str(), &input).await {
            Ok(execution) => match execution.existing {
                None => {
                    return Ok(RunStart::Started {
                        run_id,
                        execution_arn: execution.arn,
                        duplicate: !acquired,
                        took_over,
                    });
                }
                Some(status) if status.is_running() => {
                    return Ok(RunStart::Started {
                        run_id,
                        execution_arn: execution.arn,
                        duplicate: true,
                        took_over,
                    });
                }
                Some(_) if !recorded_as_ended(params, app, &run_id).await? => {
                    // This incident's run ended and is not recorded yet (the safety net records
                    // it): it is this run, not a reason for a second one (one run per incident).
                    return Ok(RunStart::Started {
                        run_id,
                        execution_arn: execution.arn,
                        duplicate: true,
                        took_over,
                    });
                }
                Some(status) => {
                    // A closed, recorded execution holds the name: a new attempt, decided on
                    // after it (the minimum interval has seen it); never leave the lock with it.
                    tracing::info!(run_id = %run_id, %status, attempt, "the run's name is taken by a closed execution: a new attempt under a new name");
                    release_lock(params, app, &run_id).await?;
                    request.run_id = run_id.attempt(attempt + 1);
                }
            },
            Err(e) if !e.kind().is_retryable() && acquired => {
                // Nothing started and retrying cannot help: free the lock for the next attempt.
                if let Err(release) = release_lock(params, app, &run_id).await {
                    tracing::error!(error = %release, "could not release the run lock");
                }
                return Err(e.context(format!("starting run {run_id}")));
            }
            Err(e) => return Err(e.context(format!("starting run {run_id}"))),
        }
    }
    Err(Error::internal(format!(
        "run {}: {MAX_ATTEMPTS} attempts found their names taken by closed executions",
        request.run_id
    )))
}

#[cfg(all(test, feature = "fakes"))]
mod tests {
    use super::*;
    use crate::fakes::FakeParameters;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 03:00 UTC);

    #[tokio::test]
    async fn one_lock_one_holder() {
        let p = FakeParameters::default();
        let a = RunId::parse("shop-a").expect("id");
        let b = RunId::parse("shop-b").expect("id");
        assert_eq!(
            acquire_lock(&p, "shop", &a, "us-west-2", None, NOW)
                .await
                .expect("ok"),
            LockOutcome::Acquired
        );
        assert_eq!(
            acquire_lock(&p, "shop", &a, "us-west-2", None, NOW)
                .await
                .expect("ok"),
            LockOutcome::AlreadyOurs
        );
        assert!(matches!(
            acquire_lock(&p, "shop", &b, "us-west-2", None, NOW).await.expect("ok"),
            LockOutcome::HeldBy(h) if h.run_id == a
        ));
        assert!(
            !release_lock(&p, "shop", &b).await.expect("ok"),
            "b cannot release a's lock"
        );
        assert!(release_lock(&p, "shop", &a).await.expect("ok"));
        assert_eq!(read_lock(&p, "shop").await.expect("ok"), None);
    }

    #[tokio::test]
    async fn a_missing_or_broken_plan_is_a_typed_error() {
        let p = FakeParameters::with("/lifeboat/shop/plan", "version: 1\napp: shop\n");
        let err = load_plan(&p, "/lifeboat/shop/plan")
            .await
            .expect_err("invalid");
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(
            err.to_string().starts_with("plan /lifeboat/shop/plan"),
            "{err}"
        );
        let err = load_plan(&p, "/nope").await.expect_err("missing");
        assert_eq!(err.kind(), crate::ErrorKind::NotFound);
    }

    /// A run that releases its lock and ends between our read of the lock and our look at its
    /// execution (its last step releases the lock, then the execution closes).
    struct EndsWhileWeLook<'a> {
        params: &'a FakeParameters,
        status: crate::ports::ExecutionStatus,
    }

    impl WorkflowStarter for EndsWhileWeLook<'_> {
        async fn start(&self, _: &str, _: &str) -> Result<crate::ports::Execution> {
            Err(Error::internal("not started here"))
        }
        fn execution_arn(&self, name: &str) -> Result<String> {
            Ok(crate::fakes::FakeWorkflow::arn(name))
        }
        async fn status(&self, _: &str) -> Result<Option<crate::ports::ExecutionStatus>> {
            self.params.delete(&lock_parameter("shop")).await?;
            Ok(Some(self.status))
        }
    }

    #[tokio::test]
    async fn a_lock_released_by_a_run_that_ended_while_we_looked_is_free_not_stale() {
        // GIVEN run a holds the lock for its execution
        let p = FakeParameters::default();
        let a = RunId::parse("shop-a").expect("id");
        let arn = crate::fakes::FakeWorkflow::arn("shop-a");
        acquire_lock(&p, "shop", &a, "us-west-2", Some(arn), NOW)
            .await
            .expect("taken");
        // WHEN the run releases the lock and its execution ends while the lock is inspected
        for status in [
            crate::ports::ExecutionStatus::Succeeded,
            crate::ports::ExecutionStatus::Failed,
        ] {
            let ends = EndsWhileWeLook { params: &p, status };
            let view = inspect_lock(&p, &ends, "shop", NOW).await.expect("read");
            // THEN nothing is stale: the run ended with its lock released (no notice, no takeover)
            assert_eq!(view, LockView::Free, "{status:?}");
            let arn = crate::fakes::FakeWorkflow::arn("shop-a");
            acquire_lock(&p, "shop", &a, "us-west-2", Some(arn), NOW)
                .await
                .expect("taken again");
        }
    }

    #[tokio::test]
    async fn a_lock_left_by_an_ended_execution_is_stale() {
        // GIVEN run a's lock names an execution that has ended, and the lock is still there
        let p = FakeParameters::default();
        let w = crate::fakes::FakeWorkflow::default();
        let a = RunId::parse("shop-a").expect("id");
        acquire_lock(
            &p,
            "shop",
            &a,
            "us-west-2",
            Some(crate::fakes::FakeWorkflow::arn("shop-a")),
            NOW,
        )
        .await
        .expect("taken");
        w.close("shop-a", crate::ports::ExecutionStatus::Failed);
        // WHEN the lock is inspected THEN it is stale, naming why
        let view = inspect_lock(&p, &w, "shop", NOW).await.expect("read");
        let stale = view.stale().expect("stale");
        assert_eq!(stale.lock.run_id, a);
        assert!(stale.why.contains("has ended (FAILED)"), "{}", stale.why);
    }
}
