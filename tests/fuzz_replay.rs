//! The fuzz targets' checks (`fuzz/src/lib.rs`) on stable, in `make test`: every seed the
//! fuzzers start from (`events/`, `examples/`) and every finding kept as a regression
//! (`fuzz/regressions/<target>/`), through every target.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../fuzz/src/lib.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_seed_and_every_kept_finding_passes_every_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seeds = Vec::new();
    files(&root.join("events"), &mut seeds);
    files(&root.join("examples"), &mut seeds);
    assert!(seeds.len() >= 20, "the seeds: {seeds:?}");
    let mut ran = 0;
    for (name, check) in checks::TARGETS {
        let mut inputs = seeds.clone();
        files(&root.join("fuzz/regressions").join(name), &mut inputs);
        for path in inputs {
            let data = std::fs::read(&path).expect("readable");
            check(&data);
            ran += 1;
        }
    }
    assert!(ran >= 6 * 20);
}
