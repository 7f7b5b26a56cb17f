//! Integration tests: the real handlers, with the real AWS adapters, over HTTP against the
//! emulated two-region AWS (moto + lifeboat's extensions). Each test starts its own emulator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod alarm_to_failover_it;
mod approval_it;
mod db_failover_it;
mod steps_it;

use std::time::Duration;

use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_redis::RedisSentinel;
use lifeboat_tests::{EAST, PLAN_PARAMETER, Shop, WEST};

pub type AlarmHandler = alarm_to_failover::wiring::AwsHandler;

pub type DbHandler = db_failover::Handler<
    lifeboat_aws::rds::Databases,
    CloudWatch,
    SsmParameterStore,
    RedisSentinel,
    lifeboat_core::ports::SystemClock,
>;

/// alarm-to-failover as `main.rs` wires it, in us-west-2, talking to the emulator.
pub fn alarm_handler(shop: &Shop) -> AlarmHandler {
    let config = alarm_to_failover::Config {
        plan: lifeboat_lambda::PlanConfig {
            plan_parameter: PLAN_PARAMETER.into(),
            region: WEST.into(),
        },
        state_machine_arn: shop.state_machine_arn.clone(),
        peer_region: EAST.into(),
    };
    alarm_to_failover::wiring::over_aws(config, &shop.west, &shop.east, Duration::from_secs(2))
        .expect("wiring")
}

/// db-failover as `main.rs` wires it, in us-west-2, talking to the emulator.
pub fn db_handler(shop: &Shop) -> DbHandler {
    let sdk = &shop.west;
    db_failover::Handler {
        config: db_failover::Config {
            plan_parameter: PLAN_PARAMETER.into(),
            region: WEST.into(),
        },
        ports: db_failover::Ports {
            db: lifeboat_aws::rds::databases(sdk, Duration::from_secs(2)).expect("databases"),
            lag: CloudWatch::new(sdk),
            params: SsmParameterStore::new(sdk),
            cache: RedisSentinel::default(),
            clock: lifeboat_core::ports::SystemClock,
        },
    }
}

/// An EventBridge "CloudWatch Alarm State Change" event for the plan's alarm, as AWS sends it.
pub fn alarm_event() -> serde_json::Value {
    let text = std::fs::read_to_string(
        lifeboat_tests::repo_root().join("events/alarm-to-failover/alarm-state-change.json"),
    )
    .expect("sample event");
    let mut event: serde_json::Value = serde_json::from_str(&text).expect("json");
    // Now, so that the incident window and the minimum interval see a fresh incident.
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    event["detail"]["state"]["timestamp"] = now.clone().into();
    event["time"] = now.into();
    event
}
