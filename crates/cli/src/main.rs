//! `lifeboat`: parse the command line, run the command, print, exit with a documented code.

use clap::Parser;
use lifeboat_cli::{Cli, Command, Exit, PlanCommand, commands};

#[allow(clippy::print_stdout, reason = "a CLI prints its answer on stdout")]
fn print(text: &str) {
    println!("{}", text.trim_end());
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    // Diagnostics to stderr only (stdout is the answer); RUST_LOG to see more.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .init();
    let g = &cli.global;
    let result = match &cli.command {
        Command::Plan {
            command: PlanCommand::Validate { file },
        } => commands::plan_validate(file),
        Command::Readiness {
            to,
            link_secret_parameter,
        } => commands::readiness(g, to.as_deref(), link_secret_parameter.as_deref()).await,
        Command::Status => commands::status(g).await,
        Command::Failover {
            to,
            dry_run,
            allow_data_loss,
            state_machine_arn,
            wait,
        } => {
            commands::failover(
                g,
                to,
                *dry_run,
                *allow_data_loss,
                state_machine_arn.as_deref(),
                *wait,
            )
            .await
        }
        Command::Failback {
            dry_run,
            state_machine_arn,
            wait,
        } => commands::failback(g, *dry_run, state_machine_arn.as_deref(), *wait).await,
        Command::Report { run, html } => commands::report(g, run, html.as_deref()).await,
        Command::Drill { args } => match commands::drill(args) {
            Ok(exit) => std::process::exit(exit.code()),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(out) => {
            if g.json {
                // A `Value` always serialises (its keys are strings): the default is never used.
                print(&serde_json::to_string_pretty(&out.json).unwrap_or_default());
            } else {
                print(&out.text);
            }
            std::process::exit(out.exit.code());
        }
        Err(e) => {
            let exit = Exit::for_error(&e);
            if g.json {
                print(
                    &serde_json::json!({"error": {"kind": e.kind().as_str(), "message": e.to_string()}})
                        .to_string(),
                );
            }
            eprintln!("lifeboat: {} error: {e}", e.kind().as_str());
            std::process::exit(exit.code());
        }
    }
}
