//! Seed the example two-region shop into a running emulator.
//!
//!     cargo run -p lifeboat-tests --bin lifeboat-seed -- http://127.0.0.1:5005 [LAG_MS]
//!
//! Prints the failover state machine's ARN, the hosted zone id and the inbox queue as JSON.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let endpoint = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:5005".to_string());
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "the emulator runs on loopback only"
    );
    let lag_ms: f64 = args
        .next()
        .map(|a| a.parse().expect("LAG_MS is a number"))
        .unwrap_or(800.0);
    let seeded = lifeboat_tests::Seeded::into_endpoint(&endpoint, lag_ms).await;
    println!(
        "{}",
        serde_json::json!({
            "state_machine_arn": seeded.state_machine_arn,
            "zone_id": seeded.zone_id,
            "inbox_url": seeded.inbox_url,
            "home_inbox_url": seeded.home_inbox_url,
        })
    );
}
