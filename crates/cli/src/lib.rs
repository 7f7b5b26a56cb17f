//! The `lifeboat` operator CLI: thin commands over the same library code the functions run.
//!
//! * `plan validate FILE`: the plan's schema and cross-field rules, every problem named.
//! * `readiness [--to REGION]`: would a failover into REGION work now (lifeboat-core's
//!   readiness checks against the live account).
//! * `status`: active region, writer, replication lag, runs in progress, the last run.
//! * `failover --to REGION [--dry-run]`: the same decision alarm-to-failover makes, with an
//!   operator as the trigger; `--dry-run` prints every action in order and changes nothing.
//! * `report RUN [--html FILE]`: a run's recorded timeline, RTO and RPO.
//! * `drill [ARGS]`: the local drill (`scripts/drill.py`), from a lifeboat checkout.
//!
//! AWS is reached with the standard credential chain (`--profile`, `AWS_PROFILE`, SSO, roles) or
//! the emulator (`--endpoint-url`). Exit codes: see [`Exit`].

pub mod commands;
pub mod html;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use lifeboat_aws::AwsSettings;
use lifeboat_core::{Error, ErrorKind, Result};

/// How the process ends (documented in docs/cli.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done; ready (perhaps with warnings); the run succeeded.
    Ok = 0,
    /// AWS could not be reached or answered with an error (transient, throttled, denied, a
    /// bug); a run that failed.
    Failed = 1,
    /// Bad usage or input (an invalid plan, a malformed option).
    Invalid = 2,
    /// Not ready, refused or not started: critical readiness findings, a failover lifeboat
    /// would refuse or ignore (also under `--dry-run`).
    NotReady = 3,
    /// Something named does not exist (the plan parameter, a run, the state machine).
    NotFound = 4,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The exit code for an error, by its kind.
    pub fn for_error(e: &Error) -> Exit {
        match e.kind() {
            ErrorKind::InvalidInput => Exit::Invalid,
            ErrorKind::NotFound => Exit::NotFound,
            ErrorKind::PreconditionFailed => Exit::NotReady,
            _ => Exit::Failed,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "lifeboat",
    version,
    about = "Human-gated region failover and failback for e-commerce stacks on AWS",
    after_help = "Exit codes: 0 ok/ready, 1 AWS error or failed run, 2 invalid usage or input, \
                  3 not ready/refused, 4 not found."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The app (the plan's `app`); names the parameters `/lifeboat/<app>/...`.
    #[arg(long, global = true, env = "LIFEBOAT_APP", default_value = "shop")]
    pub app: String,
    /// The SSM parameter holding the plan [default: /lifeboat/<app>/plan].
    #[arg(long, global = true, env = "LIFEBOAT_PLAN_PARAMETER")]
    pub plan_parameter: Option<String>,
    /// The region whose copy of lifeboat is read (its SSM parameters, state machine).
    #[arg(long, global = true, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Send every AWS request here (the emulator), e.g. http://127.0.0.1:5000.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// A named profile from the shared AWS config files.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with plan files.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Check the plan against the live account: would a failover work now?
    Readiness {
        /// The region a failover would go into [default: --region].
        #[arg(long)]
        to: Option<String>,
        /// The SecureString that signs approval links
        /// [default: /lifeboat/<app>/approval-link-secret].
        #[arg(long)]
        link_secret_parameter: Option<String>,
    },
    /// Active region, writer, replication lag, runs in progress, the last run.
    Status,
    /// Start a failover into a region (an operator's decision: no approval step).
    Failover {
        /// The region to fail over into.
        #[arg(long)]
        to: String,
        /// Print every action, in order, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Accept data loss beyond the plan's RPO guard (unplanned failover with lag above it).
        #[arg(long)]
        allow_data_loss: bool,
        /// The failover state machine [default: the one named lifeboat-<app>-failover].
        #[arg(long)]
        state_machine_arn: Option<String>,
        /// Follow the run until it ends (progress on the terminal).
        #[arg(long)]
        wait: bool,
    },
    /// Bring the shop home (the plan's primary region) from the region serving it (--region):
    /// a planned switchover, refused with every unmet condition named.
    Failback {
        /// Print every action, in order, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// The failback state machine [default: the one named lifeboat-<app>-failback].
        #[arg(long)]
        state_machine_arn: Option<String>,
        /// Follow the run until it ends (progress on the terminal).
        #[arg(long)]
        wait: bool,
    },
    /// Show a run's report (timeline, RTO, RPO); optionally write it as HTML.
    Report {
        /// The run id (its execution name), e.g. shop-to-us-west-2-1795309200.
        run: String,
        /// Write the HTML report (with the timeline chart) here.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Run the local drill against the emulated AWS (from a lifeboat checkout).
    Drill {
        /// Arguments for the drill, e.g. --scenario promotion-fails --time-scale 0.1.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Validate a plan file (YAML or JSON): every problem, with the field it is in.
    Validate { file: PathBuf },
}

impl Global {
    pub fn plan_parameter(&self) -> String {
        self.plan_parameter
            .clone()
            .unwrap_or_else(|| lifeboat_core::params::plan(&self.app))
    }

    /// The region to read from; required for everything that talks to AWS.
    pub fn region(&self) -> Result<String> {
        self.region.clone().ok_or_else(|| {
            Error::invalid_input("no region: pass --region or set AWS_REGION (e.g. us-west-2)")
        })
    }

    /// Settings for the SDK: the environment's, this endpoint and profile.
    pub fn settings(&self) -> Result<AwsSettings> {
        let mut s = AwsSettings::from_env()?;
        if let Some(url) = &self.endpoint_url {
            s.endpoint_url = Some(url.clone());
        }
        s.profile = self.profile.clone();
        Ok(s)
    }
}

/// What a command produced: what to print, and how to exit.
#[derive(Debug)]
pub struct Output {
    pub text: String,
    pub json: serde_json::Value,
    pub exit: Exit,
}
