//! The shipped container files pass their linters: hadolint for the
//! Dockerfiles (ignores, if any, are justified inline), `docker compose
//! config` for compose.yaml alone and with the test override.

use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn check(cmd: &mut Command) {
    let out = cmd
        .current_dir(ROOT)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hadolint_accepts_the_dockerfiles() {
    check(Command::new("hadolint").args([
        "Dockerfile.komodod",
        "Dockerfile.iguana",
        "docker/standins/Dockerfile",
    ]));
}

#[test]
fn compose_accepts_the_stack_and_its_test_override() {
    check(Command::new("docker").args(["compose", "-f", "compose.yaml", "config", "--quiet"]));
    check(Command::new("docker").args([
        "compose",
        "-f",
        "compose.yaml",
        "-f",
        "docker/compose.test.yaml",
        "config",
        "--quiet",
    ]));
}
