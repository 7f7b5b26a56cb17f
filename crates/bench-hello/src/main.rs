//! The floor `make bench` measures lifeboat's functions against: the Lambda Rust runtime's basic
//! example (tracing to stdout, one handler echoing a greeting), nothing else.

use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use serde_json::{Value, json};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let name = event
        .payload
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("world");
    Ok(json!({ "message": format!("hello, {name}") }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(handler)).await
}
