//! alertmanager-webhook Lambda: Alertmanager's notifications on its own Function URL, decided
//! by the same library as alarm-to-failover. A function of its own, so that requests on a
//! public URL never take the reserved concurrency of the alarm and canary path.

use lifeboat_lambda::{Env, init_tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let handler = alarm_to_failover::wiring::from_env(&Env::process()).await?;
    lifeboat_lambda::serve(|event| handler.serve_url(event)).await
}
