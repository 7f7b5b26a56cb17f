//! lifeboat-aws: the adapters that implement lifeboat-core's ports over the AWS SDK, and the
//! one place that builds `SdkConfig`.
//!
//! * [`config`]: [`config::AwsSettings`] (retry mode, timeouts, endpoint override) and
//!   [`config::Regional`], which makes one client per region from one shared `SdkConfig`.
//! * [`error`]: SDK errors classified by kind, keeping the original error as `source()`.
//! * Adapters: [`rds`], [`cloudwatch`], [`ssm`], [`sfn`], [`sns`], [`compute`] (ECS, Auto
//!   Scaling), [`route53`] (records, health checks, ARC routing controls), [`events`], [`s3`]
//!   (bucket versioning and replication, for readiness).

pub mod cloudwatch;
pub mod compute;
pub mod config;
pub mod eks;
pub mod error;
pub mod events;
pub mod rds;
pub mod route53;
pub mod s3;
pub mod sfn;
pub mod sns;
pub mod ssm;

pub use config::{AwsSettings, DEFAULT_PROBE_TIMEOUT, Regional};
