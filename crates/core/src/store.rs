//! The plan, the run lock and the run state, kept in a [`ParameterStore`].

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::plan::ValidPlan;
use crate::ports::{Created, ParameterStore, WorkflowStarter};
use crate::run::{
    LockRecord, RunId, RunRequest, RunState, decode, encode, lock_parameter, state_parameter,
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
    now: OffsetDateTime,
) -> Result<LockOutcome> {
    let record = LockRecord {
        run_id: run_id.clone(),
        target_region: target_region.to_string(),
        acquired_at: now,
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
    /// The workflow runs (`duplicate`: this run had been started, or was being started, already).
    Started {
        execution_arn: String,
        duplicate: bool,
    },
    /// Another run holds the lock: nothing was started.
    HeldBy(LockRecord),
}

/// Take the run lock (unless `resumed`: the run holds it already) and start the workflow with the
/// run as input (`{"run": ...}`), the run id as the execution name. When the start fails for good
/// and this call took the lock, the lock is released so that a later attempt can try again.
pub async fn start_run<P: ParameterStore, W: WorkflowStarter>(
    params: &P,
    workflow: &W,
    request: &RunRequest,
    resumed: bool,
    now: OffsetDateTime,
) -> Result<RunStart> {
    let run_id = &request.run_id;
    let app = request.app.as_str();
    let duplicate = if resumed {
        true
    } else {
        match acquire_lock(params, app, run_id, &request.target_region, now).await? {
            LockOutcome::Acquired => false,
            LockOutcome::AlreadyOurs => true,
            LockOutcome::HeldBy(holder) => return Ok(RunStart::HeldBy(holder)),
        }
    };
    let input = encode(&serde_json::json!({ "run": request }))?;
    match workflow.start(run_id.as_str(), &input).await {
        Ok(execution) => Ok(RunStart::Started {
            execution_arn: execution.arn,
            duplicate: duplicate || execution.already_existed,
        }),
        Err(e) if !e.kind().is_retryable() && !duplicate => {
            // Nothing started and retrying cannot help: free the lock for the next attempt.
            if let Err(release) = release_lock(params, app, run_id).await {
                tracing::error!(error = %release, "could not release the run lock");
            }
            Err(e.context(format!("starting run {run_id}")))
        }
        Err(e) => Err(e.context(format!("starting run {run_id}"))),
    }
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
            acquire_lock(&p, "shop", &a, "us-west-2", NOW)
                .await
                .expect("ok"),
            LockOutcome::Acquired
        );
        assert_eq!(
            acquire_lock(&p, "shop", &a, "us-west-2", NOW)
                .await
                .expect("ok"),
            LockOutcome::AlreadyOurs
        );
        assert!(matches!(
            acquire_lock(&p, "shop", &b, "us-west-2", NOW).await.expect("ok"),
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
}
