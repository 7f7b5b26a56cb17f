//! alarm-to-failover Lambda: wiring only (policy lives in the library and lifeboat-core).

use lifeboat_lambda::{Env, init_tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let handler = alarm_to_failover::wiring::from_env(&Env::process()).await?;
    lifeboat_lambda::serve(|event| handler.handle(event)).await
}
