//! The contract-checked DNS fakes (tests/vendor, Python) driven from a Rust test: started through
//! tests/vendor/serve_fake.py, asked over stdin/stdout. Needs the project's Python environment
//! (`make setup`; `make test` does it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

pub struct Fake {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub base_url: String,
}

impl Fake {
    /// `vendor`: `digitalocean` or `linode`; `domains`: domain name -> its records.
    pub fn start(vendor: &str, token: &str, domains: Value) -> Fake {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `make setup` (the contract-checked fakes are Python)",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(root.join("tests/vendor/serve_fake.py"))
            .arg(vendor)
            .arg(token)
            .arg(domains.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start the {vendor} fake: {e}"));
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let base_url = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the fake said {line:?}"))
            .to_string();
        Fake {
            child,
            stdin,
            stdout,
            base_url,
        }
    }

    pub fn ask(&mut self, command: &str) -> Value {
        writeln!(self.stdin, "{command}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }

    /// The fake's records of `domain` as (name, type, value, ttl), sorted, read from the
    /// vendor's fields for the value and the TTL.
    pub fn held(
        &mut self,
        domain: &str,
        value: &str,
        ttl: &str,
    ) -> Vec<(String, String, String, u64)> {
        let mut held: Vec<_> = self
            .ask(&format!("records {domain}"))
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_string(),
                    r["type"].as_str().unwrap().to_string(),
                    r[value].as_str().unwrap().to_string(),
                    r[ttl].as_u64().unwrap(),
                )
            })
            .collect();
        held.sort();
        held
    }

    pub fn assert_no_violations(&mut self) {
        assert_eq!(
            self.ask("violations"),
            json!([]),
            "requests the spec rejects"
        );
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
