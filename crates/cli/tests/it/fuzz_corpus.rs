//! Replays the corpus the fuzzer kept (`fuzz/corpus/<target>/`) and the seeds (`fuzz/seeds/<target>/`: inputs
//! written by hand, and those that once broke a check, which minimising the corpus would drop) through the same
//! checks the fuzz targets run, so that `cargo test` (and CI, which never builds cargo-fuzz) keeps every one passing.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// A fuzz target's check: panics when an input breaks one of its properties.
type Check = fn(&[u8]);

/// Each fuzz target in `fuzz/fuzz_targets/` and the check it calls.
const TARGETS: [(&str, Check); 4] = [
    ("codice_fiscale", sportello_domain::fuzzing::codice_fiscale),
    ("iban", sportello_domain::fuzzing::iban),
    ("registry_row", sportello::fuzzing::registry_extract),
    ("form", sportello_web::fuzzing::form),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries.map(|e| e.expect("a directory entry").path()).collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_target_has_its_check_here() {
    let mut targets: Vec<String> = files(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    targets.sort();
    let mut replayed: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    replayed.sort();
    assert_eq!(targets, replayed, "a fuzz target without a corpus replay (or the other way round)");
}

#[test]
fn the_kept_corpus_passes_every_check() {
    let mut failures = Vec::new();
    for (target, check) in TARGETS {
        let mut inputs = Vec::new();
        for kind in ["corpus", "seeds"] {
            let found = files(&fuzz_dir().join(kind).join(target));
            assert!(!found.is_empty(), "fuzz/{kind}/{target} is empty: the replay would check nothing");
            inputs.extend(found);
        }
        for input in inputs {
            let data = std::fs::read(&input).unwrap_or_else(|e| panic!("cannot read {}: {e}", input.display()));
            if panic::catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                failures.push(input.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "inputs failing their check (messages above): {failures:#?}");
}
