//! Contract tests between the code, the state machine (infra/statemachine/*.asl.json) and the
//! SAM template (infra/template.yaml). No emulator needed.
//!
//! * Every `errorType` the ASL matches on is one our code produces (or a `States.*` /
//!   `Lambda.*` error of the service); only our transient kinds are retried.
//! * Every Task either catches or sits in a Parallel that catches: no state ends a run silently.
//! * Every function in the template is a function crate of the workspace, and vice versa; each
//!   is built by cargo-lambda for arm64 / provided.al2023 and gets the environment it requires.
//! * The ASL's `${...}` placeholders and the template's `DefinitionSubstitutions` are the same set.
//! * IAM: no wildcard actions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

use lifeboat_core::ErrorKind;
use lifeboat_tests::repo_root;
use serde_json::Value as Json;
use serde_norway::Value as Yaml;

fn asl_files() -> Vec<(String, Json)> {
    let dir = repo_root().join("infra/statemachine");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("infra/statemachine") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().ends_with(".asl.json") {
            let text = std::fs::read_to_string(&path).expect("read");
            let json = serde_json::from_str(&text).expect("ASL is JSON");
            out.push((path.display().to_string(), json));
        }
    }
    assert!(!out.is_empty(), "no state machines in {}", dir.display());
    out
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).expect("template");
    serde_norway::from_str(&text).expect("template is YAML")
}

/// Every state of a definition, with whether an enclosing Parallel catches `States.ALL`.
fn states(definition: &Json, parent_catches: bool, out: &mut Vec<(String, Json, bool)>) {
    let Some(map) = definition.get("States").and_then(Json::as_object) else {
        return;
    };
    for (name, state) in map {
        out.push((name.clone(), state.clone(), parent_catches));
        if let Some(branches) = state.get("Branches").and_then(Json::as_array) {
            let catches = parent_catches || catches_all(state);
            for b in branches {
                states(b, catches, out);
            }
        }
    }
}

fn catches_all(state: &Json) -> bool {
    state
        .get("Catch")
        .and_then(Json::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c["ErrorEquals"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|x| x == "States.ALL"))
            })
        })
}

fn error_names(state: &Json, key: &str) -> Vec<String> {
    state
        .get(key)
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .flat_map(|r| r["ErrorEquals"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

#[test]
fn every_error_the_asl_matches_on_is_one_our_code_produces() {
    let ours: BTreeSet<&str> = ErrorKind::ALL
        .iter()
        .map(|k| k.as_str())
        .chain([failover_approval::REJECTED_ERROR])
        .collect();
    for (file, asl) in asl_files() {
        let mut all = Vec::new();
        states(&asl, false, &mut all);
        for (name, state, _) in &all {
            for e in error_names(state, "Retry")
                .into_iter()
                .chain(error_names(state, "Catch"))
            {
                assert!(
                    ours.contains(e.as_str())
                        || LOST_INVOCATION.contains(&e.as_str())
                        || e.starts_with("States.")
                        || e.starts_with("Lambda."),
                    "{file}: state '{name}' matches on '{e}', which no lifeboat code produces"
                );
            }
        }
    }
}

#[test]
fn only_transient_errors_are_retried_and_every_task_retries_them() {
    let retryable: BTreeSet<&str> = ErrorKind::ALL
        .iter()
        .filter(|k| k.is_retryable())
        .map(|k| k.as_str())
        .collect();
    for (file, asl) in asl_files() {
        let mut all = Vec::new();
        states(&asl, false, &mut all);
        for (name, state, _) in &all {
            if state["Type"] != "Task" {
                continue;
            }
            let retried: BTreeSet<String> = error_names(state, "Retry").into_iter().collect();
            for kind in &retryable {
                assert!(
                    retried.contains(*kind),
                    "{file}: task '{name}' does not retry {kind}"
                );
            }
            for e in &retried {
                assert!(
                    retryable.contains(e.as_str())
                        || LOST_INVOCATION.contains(&e.as_str())
                        || e.starts_with("Lambda."),
                    "{file}: task '{name}' retries '{e}', which retrying cannot fix"
                );
            }
        }
    }
}

/// What Lambda reports when an invocation is lost with its sandbox: the runtime process exited
/// (killed, out of memory) or the function timed out. Step Functions matches on these names.
const LOST_INVOCATION: [&str; 2] = ["Runtime.ExitError", "Sandbox.Timedout"];

#[test]
fn every_task_retries_an_invocation_lost_with_its_sandbox() {
    // Every step is idempotent (a resumed run repeats them), so a step whose function's process
    // died is run again rather than failing the run (make chaos kills them mid-step).
    for (file, asl) in asl_files() {
        let mut all = Vec::new();
        states(&asl, false, &mut all);
        for (name, state, _) in &all {
            if state["Type"] != "Task" {
                continue;
            }
            let retried: BTreeSet<String> = error_names(state, "Retry").into_iter().collect();
            for lost in LOST_INVOCATION {
                assert!(
                    retried.contains(lost),
                    "{file}: task '{name}' does not retry {lost}"
                );
            }
        }
    }
}

#[test]
fn no_task_can_end_a_run_without_the_failure_path() {
    for (file, asl) in asl_files() {
        let mut all = Vec::new();
        states(&asl, false, &mut all);
        for (name, state, parent_catches) in &all {
            if state["Type"] == "Task" || state["Type"] == "Parallel" {
                assert!(
                    catches_all(state) || *parent_catches,
                    "{file}: '{name}' has no Catch for States.ALL (nor does an enclosing Parallel)"
                );
            }
        }
    }
}

/// Function crates: workspace members with a `main.rs` that run under the Lambda runtime (but
/// not those marked `[package.metadata.lifeboat] deployed = false`, e.g. the bench's floor).
/// The Lambda binaries of the workspace: each function crate's own (named after its directory)
/// and each of its `src/bin/*.rs` (alertmanager-webhook in alarm-to-failover).
fn function_binaries() -> BTreeSet<String> {
    let root = repo_root();
    let manifest: toml_like::Members = toml_like::members(&root.join("Cargo.toml"));
    let mut out = BTreeSet::new();
    for m in manifest {
        let dir = root.join(&m);
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        if !(dir.join("src/main.rs").exists()
            && cargo.contains("lambda_runtime")
            && !cargo.contains("deployed = false"))
        {
            continue;
        }
        out.insert(
            Path::new(&m)
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string(),
        );
        for bin in std::fs::read_dir(dir.join("src/bin"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = bin.path();
            if path.extension().is_some_and(|e| e == "rs") {
                out.insert(
                    path.file_stem()
                        .expect("stem")
                        .to_string_lossy()
                        .to_string(),
                );
            }
        }
    }
    out
}

mod toml_like {
    /// The `members = [...]` list of the workspace manifest.
    pub type Members = Vec<String>;

    pub fn members(path: &std::path::Path) -> Members {
        let text = std::fs::read_to_string(path).expect("Cargo.toml");
        let start = text.find("members = [").expect("members");
        let rest = &text[start + "members = [".len()..];
        let end = rest.find(']').expect("end of members");
        rest[..end]
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

fn resources(t: &Yaml) -> Vec<(String, Yaml)> {
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .map(|(k, v)| (k.as_str().expect("logical id").to_string(), v.clone()))
        .collect()
}

#[test]
fn the_template_deploys_exactly_the_workspaces_functions() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], Yaml::from("provided.al2023"));
    assert_eq!(globals["Architectures"][0], Yaml::from("arm64"));
    let mut in_template = BTreeSet::new();
    for (id, r) in resources(&t) {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        assert_eq!(
            r["Metadata"]["BuildMethod"],
            Yaml::from("rust-cargolambda"),
            "{id}"
        );
        let binary = r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} names no Binary"))
            .to_string();
        assert!(
            in_template.insert(binary.clone()),
            "{binary} deployed twice"
        );
    }
    let binaries = function_binaries();
    assert_eq!(
        in_template, binaries,
        "functions in infra/template.yaml vs the Lambda binaries of the workspace"
    );
}

/// The crate a Lambda binary is built from: `crates/<binary>`, or the crate whose
/// `src/bin/<binary>.rs` it is.
fn crate_of(binary: &str) -> std::path::PathBuf {
    let crates = repo_root().join("crates");
    if crates.join(binary).join("src/main.rs").exists() {
        return crates.join(binary);
    }
    std::fs::read_dir(&crates)
        .expect("crates")
        .flatten()
        .map(|e| e.path())
        .find(|dir| dir.join("src/bin").join(format!("{binary}.rs")).exists())
        .unwrap_or_else(|| panic!("no crate builds the binary {binary}"))
}

/// The environment variables a crate's code requires (`env.required("...")`).
fn required_env(crate_dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(crate_dir.join("src")).expect("src") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        // Production code only: what precedes the unit tests.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for part in code.split("required(\"").skip(1) {
            if let Some(end) = part.find('"') {
                out.insert(part[..end].to_string());
            }
        }
        // `Env::peer_region` requires the other copy's region.
        if code.contains("env.peer_region(") {
            out.insert("LIFEBOAT_PEER_REGION".to_string());
        }
    }
    out
}

#[test]
fn every_function_gets_the_environment_its_code_requires() {
    let t = template();
    let global: BTreeSet<String> = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .expect("global variables")
        .keys()
        .map(|k| k.as_str().expect("name").to_string())
        .collect();
    // PlanConfig (lifeboat-lambda) requires the plan parameter of every function.
    let shared = required_env(&repo_root().join("crates/lambda"));
    for (id, r) in resources(&t) {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("binary");
        let mut set = global.clone();
        if let Some(vars) = r["Properties"]["Environment"]["Variables"].as_mapping() {
            set.extend(vars.keys().map(|k| k.as_str().expect("name").to_string()));
        }
        let needed: BTreeSet<String> = required_env(&crate_of(binary))
            .into_iter()
            .chain(shared.iter().cloned())
            .filter(|v| v != "AWS_REGION") // set by Lambda itself
            .collect();
        for v in needed {
            assert!(
                set.contains(&v),
                "{id} ({binary}) requires {v}, which the template does not set"
            );
        }
    }
}

#[test]
fn definition_substitutions_and_asl_placeholders_are_the_same_set() {
    let t = template();
    for (id, r) in resources(&t) {
        if r["Type"] != "AWS::Serverless::StateMachine" {
            continue;
        }
        let uri = r["Properties"]["DefinitionUri"]
            .as_str()
            .expect("DefinitionUri");
        let text = std::fs::read_to_string(repo_root().join("infra").join(uri)).expect("asl");
        let placeholders: BTreeSet<String> = text
            .split("${")
            .skip(1)
            .filter_map(|p| p.find('}').map(|e| p[..e].to_string()))
            .collect();
        let substitutions: BTreeSet<String> = r["Properties"]["DefinitionSubstitutions"]
            .as_mapping()
            .expect("DefinitionSubstitutions")
            .keys()
            .map(|k| k.as_str().expect("key").to_string())
            .collect();
        assert_eq!(placeholders, substitutions, "{id}: {uri}");
    }
}

fn actions(v: &Yaml, out: &mut Vec<String>) {
    match v {
        Yaml::Mapping(m) => {
            for (k, val) in m {
                if k.as_str() == Some("Action") {
                    match val {
                        Yaml::String(s) => out.push(s.clone()),
                        Yaml::Sequence(seq) => {
                            out.extend(seq.iter().filter_map(|a| a.as_str().map(str::to_string)))
                        }
                        _ => {}
                    }
                }
                actions(val, out);
            }
        }
        Yaml::Sequence(seq) => seq.iter().for_each(|x| actions(x, out)),
        Yaml::Tagged(t) => actions(&t.value, out),
        _ => {}
    }
}

#[test]
fn iam_lists_actions_never_wildcards() {
    let mut all = Vec::new();
    actions(&template(), &mut all);
    assert!(all.len() > 20, "found only {} actions", all.len());
    for a in all {
        assert!(!a.contains('*'), "wildcard action {a}");
    }
}

#[test]
fn every_task_has_a_timeout_and_every_machine_the_timeout_plan_validation_assumes() {
    for (file, asl) in asl_files() {
        assert_eq!(
            asl["TimeoutSeconds"].as_u64(),
            Some(u64::from(lifeboat_core::plan::EXECUTION_TIMEOUT_SECONDS)),
            "{file}: the execution timeout plan validation checks against"
        );
        let mut all = Vec::new();
        states(&asl, false, &mut all);
        for (name, state, _) in all {
            if state["Type"] == "Task" {
                assert!(
                    state.get("TimeoutSeconds").is_some()
                        || state.get("TimeoutSecondsPath").is_some(),
                    "{file}: Task '{name}' has no timeout: it could wait forever"
                );
            }
        }
    }
}

#[test]
fn no_recording_failure_ends_a_run_without_a_message() {
    for (file, asl) in asl_files() {
        let s = &asl["States"];
        let unrecorded = &s["Failed: notify without record"];
        assert_eq!(
            unrecorded["Type"], "Task",
            "{file}: recording failed must still notify"
        );
        assert_eq!(
            unrecorded["Parameters"]["Payload"]["action"], "notify_unrecorded",
            "{file}"
        );
        for record in ["Record", "Aborted: record", "Failed: record"] {
            let catches: Vec<&str> = s[record]["Catch"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c["Next"].as_str())
                .collect();
            assert_eq!(
                catches,
                ["Failed: notify without record"],
                "{file}: {record}"
            );
        }
    }
}

#[test]
fn closed_executions_reach_the_safety_net() {
    let t = template();
    let rule = &t["Resources"]["RunLedger"]["Properties"]["Events"]["ExecutionClosed"];
    let pattern = &rule["Properties"]["Pattern"];
    assert_eq!(pattern["source"][0].as_str(), Some("aws.states"));
    assert_eq!(
        pattern["detail-type"][0].as_str(),
        Some(run_ledger::EXECUTION_STATUS_CHANGE)
    );
    let statuses: BTreeSet<&str> = pattern["detail"]["status"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(statuses, BTreeSet::from(["ABORTED", "FAILED", "TIMED_OUT"]));
    assert_eq!(
        pattern["detail"]["stateMachineArn"]
            .as_sequence()
            .map(Vec::len),
        Some(2),
        "both machines"
    );
}

/// Silence is not an outage: the canary's alarm (the failover trigger) treats missing data as
/// not breaching; a separate alarm, never a trigger, tells a person when the canary is silent.
#[test]
fn silence_never_triggers_a_failover_and_a_silent_canary_pages_a_person() {
    let t = template();
    let r: std::collections::BTreeMap<String, Yaml> = resources(&t).into_iter().collect();
    let trigger = &r["PrimaryUnhealthyAlarm"]["Properties"];
    assert_eq!(trigger["TreatMissingData"].as_str(), Some("notBreaching"));
    let silent = &r["CanarySilentAlarm"]["Properties"];
    assert_eq!(silent["TreatMissingData"].as_str(), Some("breaching"));
    assert_eq!(silent["MetricName"].as_str(), Some("Probes"));
    assert_eq!(
        silent["ComparisonOperator"].as_str(),
        Some("LessThanThreshold")
    );
    assert!(
        silent["AlarmActions"]
            .as_sequence()
            .is_some_and(|a| !a.is_empty()),
        "the silent canary's alarm notifies the topic"
    );
    // the trigger rule matches the plan's alarms (a parameter), never the silent canary's alarm
    let rule = &r["AlarmToFailover"]["Properties"]["Events"]["AlarmEvent"]["Properties"]["Pattern"];
    let names = format!("{:?}", rule["detail"]["alarmName"]);
    assert!(!names.contains("canary-silent"), "{names}");
}

/// Every string in `v` (a `!Sub` / `!If` tagged value's strings too).
fn strings(v: &Yaml, out: &mut Vec<String>) {
    match v {
        Yaml::String(s) => out.push(s.clone()),
        Yaml::Mapping(m) => m.iter().for_each(|(_, x)| strings(x, out)),
        Yaml::Sequence(seq) => seq.iter().for_each(|x| strings(x, out)),
        Yaml::Tagged(t) => strings(&t.value, out),
        _ => {}
    }
}

/// (role, resources) of every IAM statement that allows reading a parameter's value.
fn parameter_readers(t: &Yaml) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (id, r) in resources(t) {
        if r["Type"] != "AWS::IAM::Role" {
            continue;
        }
        let Some(policies) = r["Properties"]["Policies"].as_sequence() else {
            continue;
        };
        for p in policies {
            for st in p["PolicyDocument"]["Statement"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                let mut acts = Vec::new();
                actions(st, &mut acts);
                if acts
                    .iter()
                    .any(|a| a == "ssm:GetParameter" || a == "ssm:GetParameters")
                {
                    let mut res = Vec::new();
                    strings(&st["Resource"], &mut res);
                    out.push((id.clone(), res));
                }
            }
        }
    }
    out
}

#[test]
fn secrets_are_readable_only_by_failover_approval() {
    // The link key, Slack's signing secret and webhook, and the stored task tokens (approvals/*)
    // all live under /lifeboat/<app>/ or are named by parameters: only FailoverApprovalRole may
    // read them; every other role names the parameters it reads.
    let readers = parameter_readers(&template());
    assert!(readers.len() >= 8, "{readers:?}");
    let mut approval_reads_secrets = false;
    let mut webhook_reads_token = false;
    for (role, res) in readers {
        let secret = |r: &String| {
            r.ends_with("/lifeboat/${AppName}/*")
                || r.contains("LinkSecretParameterName")
                || r.contains("SlackSigningSecretParameterName")
                || r.contains("/approvals/")
        };
        // Alertmanager's bearer token: the webhook's function alone reads it, and nothing else
        // of the secrets above.
        let token = |r: &String| r.contains("AlertmanagerTokenParameterName");
        if role == "FailoverApprovalRole" {
            approval_reads_secrets |= res.iter().any(secret);
            assert!(
                !res.iter().any(token),
                "{role} may read the Alertmanager token"
            );
            continue;
        }
        if role == "AlertmanagerWebhookRole" {
            webhook_reads_token |= res.iter().any(token);
        } else {
            assert!(
                !res.iter().any(token),
                "{role} may read the Alertmanager token"
            );
        }
        for r in &res {
            assert!(!secret(r), "{role} may read a secret: {r}");
        }
    }
    assert!(
        approval_reads_secrets,
        "failover-approval reads its secrets"
    );
    assert!(webhook_reads_token, "alertmanager-webhook reads its token");
}

/// The roles of every function that asks the database who writes: under MySQL they read
/// lifeboat's login and the servers' CA.
const MYSQL_LOGIN_READERS: &[&str] = &[
    "AlarmToFailoverRole",
    "AlertmanagerWebhookRole",
    "DbFailoverRole",
    "DnsFlipRole",
    "DrScaleUpRole",
    "FailbackOrchestratorRole",
    "ReadinessRole",
    "RunLedgerRole",
    "VerifyRole",
];

#[test]
fn provider_credentials_are_readable_only_by_the_functions_that_use_them() {
    // Each provider's secret parameter: exactly the roles whose functions read it, no other.
    let readers = parameter_readers(&template());
    for (parameter, allowed) in [
        (
            "PatroniPasswordParameterName",
            &["DbFailoverRole", "DrScaleUpRole"][..],
        ),
        (
            "CachePasswordParameterName",
            &["DbFailoverRole", "VerifyRole"][..],
        ),
        ("DnsProviderTokenParameterName", &["DnsFlipRole"][..]),
        // the Kubernetes clusters' tokens and CA certificates (compute.kubernetes)
        ("KubernetesParameterPath", &["DrScaleUpRole"][..]),
        // lifeboat's MySQL login: every function that asks the database who writes
        ("MysqlPasswordParameterName", MYSQL_LOGIN_READERS),
        // the MySQL servers' CA, read with that login
        ("MysqlCaParameterName", MYSQL_LOGIN_READERS),
        // the replication login: only where a server is made to follow the writer
        (
            "MysqlReplicationPasswordParameterName",
            &["DbFailoverRole", "DrScaleUpRole"][..],
        ),
    ] {
        let mut who: Vec<&str> = readers
            .iter()
            .filter(|(_, res)| res.iter().any(|r| r.contains(parameter)))
            .map(|(role, _)| role.as_str())
            .collect();
        who.sort_unstable();
        assert_eq!(who, allowed, "who may read {parameter}");
    }
}

#[test]
fn the_failover_path_has_reserved_concurrency_and_the_public_url_a_cap() {
    let t = template();
    let reserved = |id: &str| {
        t["Resources"][id]["Properties"]["ReservedConcurrentExecutions"]
            .as_u64()
            .unwrap_or_else(|| panic!("{id} has no ReservedConcurrentExecutions"))
    };
    // Every function the failover machine invokes, and the one that starts it.
    let (_, failover) = asl_files()
        .into_iter()
        .find(|(f, _)| f.contains("failover.asl"))
        .expect("failover machine");
    let text = failover.to_string();
    let mut on_path = vec!["AlarmToFailover".to_string()];
    for (placeholder, id) in [
        ("${RunLedgerFunctionArn}", "RunLedger"),
        ("${DbFailoverFunctionArn}", "DbFailover"),
        ("${DrScaleUpFunctionArn}", "DrScaleUp"),
        ("${DnsFlipFunctionArn}", "DnsFlip"),
        ("${VerifyFunctionArn}", "Verify"),
    ] {
        assert!(text.contains(placeholder), "{placeholder}");
        on_path.push(id.to_string());
    }
    for id in &on_path {
        assert!(reserved(id) >= 2, "{id}");
    }
    // The functions behind public URLs are capped below what the path reserves together, and
    // the path's functions have no public URL.
    let path_total: u64 = on_path.iter().map(|id| reserved(id)).sum();
    for public in ["FailoverApproval", "AlertmanagerWebhook"] {
        assert!(
            reserved(public) >= 1 && reserved(public) <= path_total,
            "{public}"
        );
        assert!(
            !t["Resources"][public]["Properties"]["FunctionUrlConfig"].is_null(),
            "{public} has its URL"
        );
    }
    for id in &on_path {
        assert!(
            t["Resources"][id.as_str()]["Properties"]["FunctionUrlConfig"].is_null(),
            "{id} is on the failover path: no public URL"
        );
    }
}

#[test]
fn only_the_canary_speaks_for_the_canary() {
    let t = template();
    let r = &t["Resources"];
    // The rule that starts a run on a canary report listens on the canary's bus alone.
    let rule = &r["AlarmToFailover"]["Properties"]["Events"]["CanaryEvent"]["Properties"];
    assert_eq!(rule["Pattern"]["source"][0], Yaml::from("lifeboat.probe"));
    let mut bus = Vec::new();
    strings(&rule["EventBusName"], &mut bus);
    assert_eq!(bus, ["CanaryBus"], "the canary rule is on the canary bus");
    assert_eq!(r["CanaryBus"]["Type"], Yaml::from("AWS::Events::EventBus"));
    // The bus denies PutEvents to every principal but the canary's role.
    let st = &r["CanaryBusPolicy"]["Properties"]["Statement"];
    assert_eq!(st["Effect"], Yaml::from("Deny"));
    assert_eq!(st["Principal"], Yaml::from("*"));
    assert_eq!(st["Action"], Yaml::from("events:PutEvents"));
    let mut except = Vec::new();
    strings(
        &st["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
        &mut except,
    );
    assert_eq!(except, ["HealthProbeRole.Arn"]);
    // The canary puts its reports there (and may put nowhere else).
    let mut env = Vec::new();
    strings(
        &r["HealthProbe"]["Properties"]["Environment"]["Variables"]["LIFEBOAT_EVENT_BUS"],
        &mut env,
    );
    assert_eq!(env, ["CanaryBus"]);
    let mut allowed = Vec::new();
    for st in r["HealthProbeRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let mut acts = Vec::new();
        actions(st, &mut acts);
        if acts.iter().any(|a| a == "events:PutEvents") {
            strings(&st["Resource"], &mut allowed);
        }
    }
    assert_eq!(allowed, ["CanaryBus.Arn"]);
}

/// The canary's timeout and cadence in the template are the ones core's rules assume: plan
/// validation fits the rounds into `CANARY_TIMEOUT_SECONDS`, detection is computed on
/// `DEFAULT_CADENCE`.
#[test]
fn the_canary_runs_with_the_timeout_and_cadence_core_assumes() {
    let t = template();
    let (_, probe) = resources(&t)
        .into_iter()
        .find(|(_, r)| r["Metadata"]["BuildProperties"]["Binary"] == "health-probe")
        .expect("health-probe in the template");
    let props = &probe["Properties"];
    assert_eq!(
        props["Timeout"].as_u64(),
        Some(u64::from(lifeboat_core::plan::CANARY_TIMEOUT_SECONDS))
    );
    let env = &props["Environment"]["Variables"];
    let cadence = lifeboat_core::canary::DEFAULT_CADENCE;
    let ms = |v: &Yaml| v.as_str().and_then(|s| s.parse::<f64>().ok());
    assert_eq!(
        ms(&env["LIFEBOAT_PROBE_INTERVAL_MS"]),
        Some(cadence.interval_seconds * 1000.0)
    );
    assert_eq!(
        ms(&env["LIFEBOAT_CANARY_WATCH_MS"]),
        Some(cadence.watch_seconds * 1000.0)
    );
    // the watch ends within the timeout with a round to spare
    assert!(
        cadence.watch_seconds + cadence.interval_seconds
            <= f64::from(lifeboat_core::plan::CANARY_TIMEOUT_SECONDS)
    );
}
