//! Runs the Python compatibility suite (`tests/python/`: redis-py over RESP2 and RESP3, and a
//! real Celery worker) against the real binary.
//!
//! The suite needs a Python with the packages of `tests/python/requirements.txt`; `.ci/run`
//! creates that venv and points `FERRODIS_PYTHON` at it. Without it the test prints how to set it
//! up and passes — except in CI (`CI=true`), where a missing interpreter is a failure.

use std::process::Command;

#[test]
fn python_suite_passes_against_ferrodis() {
    let python = std::env::var("FERRODIS_PYTHON").ok().or_else(|| {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
        std::path::Path::new(venv)
            .exists()
            .then(|| venv.to_string())
    });
    let Some(python) = python else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must provide FERRODIS_PYTHON (see .ci/run)"
        );
        eprintln!(
            "SKIPPED python suite: run `python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt`"
        );
        return;
    };
    let status = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--timeout=300",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python"))
        .env("FERRODIS_BIN", env!("CARGO_BIN_EXE_ferrodis-server"))
        .status()
        .expect("run pytest");
    assert!(status.success(), "the Python compatibility suite failed");
}
