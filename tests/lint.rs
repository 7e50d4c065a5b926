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
        "Dockerfile.litecoind",
        "docker/standins/Dockerfile",
    ]));
}

/// `docker compose` with what compose.yaml asks of an operator set.
fn compose() -> Command {
    let mut cmd = Command::new("docker");
    cmd.arg("compose")
        .env("IGUANA_IMAGE", "example/iguana")
        .env("DOKOMODO_MYIPADDR", "203.0.113.10");
    cmd
}

#[test]
fn compose_accepts_the_stack_and_its_test_override() {
    check(compose().args(["-f", "compose.yaml", "config", "--quiet"]));
    check(compose().args([
        "-f",
        "compose.yaml",
        "-f",
        "docker/compose.test.yaml",
        "config",
        "--quiet",
    ]));
}

/// A newcomer's `docker compose up` without what only they can give says
/// what to set, before anything is built or started.
#[test]
fn compose_says_what_an_operator_must_set() {
    for (missing, says) in [
        (
            "IGUANA_IMAGE",
            "set IGUANA_IMAGE to an image with iguana on PATH",
        ),
        (
            "DOKOMODO_MYIPADDR",
            "set DOKOMODO_MYIPADDR to this notary's public IPv4 address",
        ),
    ] {
        let out = compose()
            .env_remove(missing)
            .args(["-f", "compose.yaml", "config", "--quiet"])
            .current_dir(ROOT)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{missing} unset was accepted");
        assert!(stderr.contains(says), "{missing}: {stderr}");
    }
}
