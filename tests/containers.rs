//! The shipped Dockerfiles and compose.yaml, run for real with stand-in
//! daemons (docker/standins), checked the way an operator would notice: does
//! iguana authenticate to every chain, does a stop flush komodod or kill it,
//! what survives a restart and a new seed, does the image run under an
//! OpenShift uid on a read-only root, what a typo in the YAML does, who is
//! PID 1, and does any secret leak into `docker logs` or `docker inspect`.
//!
//! Needs a Docker engine and `docker compose` v2 (`.ci/run` installs it), and
//! runs where the engine runs (it reads the host's /proc). There is no
//! registry: nothing here pulls an image. The images are built once per run
//! (tests/container/mod.rs); the cases run in parallel, compose stacks one at
//! a time. Runs side by side on one engine do not meet: each has its own
//! names, image tags, compose project, subnets and host ports
//! (tests/container/mod.rs).

use std::time::Duration;

mod common;
mod container;
use common::TempDir;
use container::*;

const SEED: &str = "container-test-seed-not-a-real-one";

#[test]
fn the_compose_stack_authenticates_iguana_to_every_chain_and_stops_cleanly() {
    setup();
    let seed = SeedFile::new(SEED, IMAGE_UID);
    let stack = Stack::up(&seed);
    stack.assert_iguana_authenticated(1);

    // The monitor beside iguana: every chain up, every coin under dPoW but
    // LTC (which KMD notarises into), iguana up.
    let metrics = stack.metrics();
    for chain in &CHAINS {
        let up = format!("dokomodo_chain_up{{chain=\"{}\"}} 1", chain.name);
        assert!(metrics.contains(&up), "{up} not in:\n{metrics}");
    }
    for chain in ["KMD", "BEER", "PIZZA"] {
        let active = format!("dokomodo_dpow_active{{chain=\"{chain}\"}} 1");
        assert!(metrics.contains(&active), "{active} not in:\n{metrics}");
    }
    assert!(metrics.contains("dokomodo_iguana_up 1"), "{metrics}");
    // And what a real Prometheus makes of it, with the shipped rules loaded.
    let active = stack.prometheus_query("dokomodo_dpow_active");
    for chain in ["KMD", "BEER", "PIZZA"] {
        let series = format!("\"chain\":\"{chain}\"");
        let at = active.find(&series).unwrap_or_else(|| panic!("{active}"));
        assert!(
            active[at..]
                .split('}')
                .nth(1)
                .unwrap_or("")
                .contains("\"1\""),
            "{chain}: {active}"
        );
    }

    // compose.yaml's container ports, published (on a host port of Docker's
    // choice: docker/compose.test.yaml).
    for chain in &CHAINS {
        stack.published_port(chain.service, chain.p2p);
    }
    stack.published_port("iguana", IGUANA_P2P);

    // Rendered separately in each komodod container and in iguana's:
    // byte-identical, owned by the image's user and group 0, 0660
    // (src/render/files.rs: a non-root uid in group 0 shares with group 0 only, for
    // OpenShift's random uids), nothing for others.
    for (name, conf) in stack.confs_agree() {
        assert_eq!(
            (conf.uid, conf.gid, conf.mode),
            (u64::from(IMAGE_UID), 0, 0o660),
            "{name}'s conf"
        );
    }

    // docker compose stop: SIGTERM to dokomodo (PID 1), forwarded to komodod,
    // which flushes and leaves its marker; well inside the grace period.
    let started = std::time::Instant::now();
    run(&mut stack.compose(&["stop"]));
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "stop took {:?}",
        started.elapsed()
    );
    for chain in &CHAINS {
        match stack.file(chain.service, &chain.marker()) {
            Some(m) if m.text().contains("SIGTERM") => {}
            _ => stack.fail(&format!("{}: no clean shutdown marker", chain.name)),
        }
        assert_eq!(
            stack.container(chain.service).exit_code(),
            0,
            "{} exit status",
            chain.service
        );
    }

    let secrets = seed.secrets();
    for service in Stack::services() {
        stack.container(service).assert_no_secrets(&secrets);
    }
}

#[test]
fn with_a_daemon_down_iguana_is_unhealthy_and_names_it_until_it_answers() {
    setup();
    let seed = SeedFile::new(SEED, IMAGE_UID);
    let stack = Stack::up(&seed);
    stack.assert_iguana_authenticated(1);

    // PIZZA's daemon goes away and iguana starts again: its start-up adds
    // every other coin and keeps waiting for PIZZA, and health says so.
    run(&mut stack.compose(&["stop", "pizza"]));
    run(&mut stack.compose(&["restart", "iguana"]));
    let iguana = stack.container("iguana");
    let unhealthy = poll(Duration::from_secs(120), || {
        let out = iguana.exec(&["dokomodo", "health"]);
        let stderr = text(&out.stderr);
        let others_ready = !["KMD ", "LTC ", "BEER "]
            .iter()
            .any(|c| stderr.contains(&format!("; {c}")) || stderr.contains(&format!(": {c}")));
        (out.status.code() == Some(1) && stderr.contains("PIZZA waiting") && others_ready)
            .then_some(stderr)
    });
    let Some(stderr) = unhealthy else {
        let out = iguana.exec(&["dokomodo", "health"]);
        stack.fail(&format!(
            "iguana's health does not name PIZZA alone: {} {}",
            text(&out.stdout),
            text(&out.stderr)
        ));
    };
    assert!(stderr.contains("1 of 4 coin(s) not ready"), "{stderr}");

    // Back: the same start-up finishes PIZZA, and iguana is healthy.
    run(&mut stack.compose(&["start", "pizza"]));
    let healthy = poll(Duration::from_secs(180), || {
        iguana
            .exec(&["dokomodo", "health"])
            .status
            .success()
            .then_some(())
    });
    if healthy.is_none() {
        let out = iguana.exec(&["dokomodo", "health"]);
        stack.fail(&format!(
            "iguana never became healthy: {}",
            text(&out.stderr)
        ));
    }
}

#[test]
fn compose_down_stops_every_komodod_cleanly_within_the_grace() {
    setup();
    let seed = SeedFile::new(SEED, IMAGE_UID);
    let stack = Stack::up(&seed);
    // Every daemon answered iguana: all are up, their SIGTERM handling armed.
    stack.assert_iguana_authenticated(1);

    let since = docker_now();
    let started = std::time::Instant::now();
    run(&mut stack.compose(&["down"]));
    let took = started.elapsed();
    // stop_grace_period is 330 s, dokomodo's grace 300 s; the stand-in
    // flushes for 2 s. Anything near the grace means someone was killed.
    assert!(
        took < Duration::from_secs(120),
        "compose down took {took:?}"
    );

    let exit_codes = stack.exit_codes_since(&since);
    for chain in &CHAINS {
        let name = stack.container(chain.service).name.clone();
        assert_eq!(
            exit_codes.get(&name),
            Some(&0),
            "{name}'s exit status (all: {exit_codes:?})"
        );
        // The containers are gone; their volumes are not (no --volumes).
        let marker = stack.volume_file(&format!("{}-data", chain.service), &chain.marker());
        assert!(
            marker.is_some_and(|m| m.text().contains("SIGTERM")),
            "{}: no clean shutdown marker in its volume after compose down",
            chain.name
        );
    }
}

#[test]
fn a_restart_rewrites_nothing_and_a_new_seed_gives_every_container_new_credentials() {
    setup();
    let mut seed = SeedFile::new(SEED, IMAGE_UID);
    let stack = Stack::up(&seed);
    stack.assert_iguana_authenticated(1);
    let first = stack.confs_agree();

    // Same YAML, same seed: every file is left as it is, not rewritten.
    let restarted = docker_now();
    run(&mut stack.compose(&["restart"]));
    stack.assert_iguana_authenticated(2);
    let second = stack.confs_agree();
    for chain in &CHAINS {
        let (before, after) = (&first[chain.name], &second[chain.name]);
        assert_eq!(
            before.text(),
            after.text(),
            "{}: conf changed on restart",
            chain.name
        );
        assert_eq!(
            before.mtime, after.mtime,
            "{}: conf rewritten on restart",
            chain.name
        );
    }
    for service in Stack::services() {
        let logs = stack.container(service).logs_since(&restarted);
        for chain in CHAINS
            .iter()
            .filter(|c| service == "iguana" || c.service == service)
        {
            let line = format!("dokomodo: info: unchanged {}", chain.conf_path());
            assert!(
                logs.contains(&line),
                "{service} after restart: no {line:?} in\n{logs}"
            );
        }
        assert!(
            !logs.contains(" created ") && !logs.contains(" replaced "),
            "{service} rewrote files on restart:\n{logs}"
        );
    }

    // The operator rotates the seed in place and restarts: every container
    // renders the new credentials, and they still agree with iguana's.
    let old_passwords = seed.secrets();
    seed.rewrite("a-rotated-container-test-seed");
    let restarted = docker_now();
    run(&mut stack.compose(&["restart"]));
    stack.assert_iguana_authenticated(3);
    let third = stack.confs_agree();
    for chain in &CHAINS {
        let conf = third[chain.name].text();
        let (user, password) = seed.creds(chain.name);
        assert!(
            conf.contains(&format!("rpcuser={user}\n"))
                && conf.contains(&format!("rpcpassword={password}\n")),
            "{}: the new seed's credentials are not in\n{conf}",
            chain.name
        );
        assert!(
            !old_passwords.iter().any(|p| conf.contains(p.as_str())),
            "{}: an old password survived",
            chain.name
        );
        let logs = stack.container(chain.service).logs_since(&restarted);
        assert!(
            logs.contains(&format!("replaced {}", chain.conf_path())),
            "{}: no `replaced` in\n{logs}",
            chain.service
        );
    }
    let iguana = stack.container("iguana").logs_since(&restarted);
    for chain in &CHAINS {
        let line = format!("replaced {}", chain.conf_path());
        assert!(iguana.contains(&line), "iguana: no {line:?} in\n{iguana}");
    }
    let mut secrets = seed.secrets();
    secrets.extend(old_passwords);
    for service in Stack::services() {
        stack.container(service).assert_no_secrets(&secrets);
    }
}

#[test]
fn docker_stop_flushes_komodod_and_exits_0_long_before_the_grace() {
    setup();
    let seed = SeedFile::new(SEED, IMAGE_UID);
    let komodod = KomododRun::new("stop", "BEER", &seed).start();
    komodod.wait_ready();

    // dokomodo's grace is 300 s and Docker's timeout 60 s: a SIGKILL from
    // either would show as 137 and a stop lasting 60 s or more.
    let took = komodod.stop(60);
    assert!(took < Duration::from_secs(45), "docker stop took {took:?}");
    assert_eq!(komodod.exit_code(), 0, "exit status after docker stop");
    assert_eq!(komodod.inspect("{{.State.OOMKilled}}"), "false");
    match komodod.file(&chain("BEER").marker()) {
        Some(m) if m.text().contains("SIGTERM") => {}
        other => komodod.fail(&format!("no clean shutdown marker: {other:?}")),
    }
    let logs = komodod.logs();
    assert!(
        logs.contains("dokomodo: info: `komodod` exited with status 0"),
        "{logs}"
    );
    komodod.assert_no_secrets(&seed.secrets());
}

#[test]
fn a_komodod_that_ignores_sigterm_is_killed_by_dokomodo_after_the_grace() {
    setup();
    let seed = SeedFile::new(SEED, IMAGE_UID);
    let komodod = KomododRun::new("sigkill", "BEER", &seed)
        .env("STANDIN_IGNORE_TERM", "1")
        .env("DOKOMODO_GRACE", "3")
        .start();
    komodod.wait_ready();

    // Docker would SIGKILL after 30 s; dokomodo must after its own 3 s.
    let took = komodod.stop(30);
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(20),
        "docker stop took {took:?}"
    );
    assert_eq!(
        komodod.exit_code(),
        137,
        "exit status of a daemon killed after the grace"
    );
    let logs = komodod.logs();
    assert!(
        logs.contains("`komodod` still running 3s after the stop signal: sending SIGKILL"),
        "{logs}"
    );
    assert!(
        komodod.file(&chain("BEER").marker()).is_none(),
        "a killed daemon left a clean shutdown marker"
    );
    komodod.assert_no_secrets(&seed.secrets());
}

#[test]
fn the_komodod_image_runs_as_an_openshift_random_uid_on_a_read_only_root() {
    const UID: u32 = 1_000_123_456;
    setup();
    // The host reaches the container from the network's gateway, inside the
    // example YAML's rpc.allow (172.20.0.0/16).
    let network = Network::new("openshift");
    let seed = SeedFile::new(SEED, UID);
    let komodod = KomododRun::new("openshift", "KMD", &seed)
        .option(&format!("--user={UID}:0"))
        .option("--read-only")
        .option("--tmpfs=/tmp")
        .option(&format!("--network={}", network.name))
        .start();
    komodod.wait_ready();

    let (user, password) = seed.creds("KMD");
    let addr = format!("{}:7771", komodod.ip());
    let (status, body) = rpc(&addr, &user, &password, "getinfo")
        .unwrap_or_else(|e| komodod.fail(&format!("{addr}: {e}")));
    assert_eq!(status, 200, "getinfo with the rendered credentials: {body}");
    assert!(body.contains(r#""name":"KMD""#), "{body}");

    // On the HOME volume, not in /tmp; the uid's own, shared with group 0.
    let conf = komodod
        .file(&chain("KMD").conf_path())
        .unwrap_or_else(|| komodod.fail("no komodo.conf in HOME"));
    assert_eq!(
        (conf.uid, conf.gid, conf.mode),
        (u64::from(UID), 0, 0o660),
        "komodo.conf"
    );
    let datadir = komodod
        .file(&chain("KMD").datadir())
        .unwrap_or_else(|| komodod.fail("no .komodo"));
    assert_eq!(
        (datadir.uid, datadir.gid, datadir.mode),
        (u64::from(UID), 0, 0o770),
        ".komodo"
    );
    assert!(
        !komodod.logs().contains("nothing persists"),
        "{}",
        komodod.logs()
    );

    assert!(komodod.stop(60) < Duration::from_secs(45));
    assert_eq!(komodod.exit_code(), 0);
    komodod.assert_no_secrets(&seed.secrets());
}

#[test]
fn a_typo_in_the_yaml_exits_78_with_the_whole_message_and_starts_nothing() {
    setup();
    let dir = TempDir::new("typo-yaml");
    let yaml = dir.write(
        "notary.yaml",
        "chains:\n  KMD: {}\n  BEER:\n    ac_suply: 100000000\n",
    );
    // Readable by the container's uid whatever the umask.
    std::fs::set_permissions(
        &yaml,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644),
    )
    .unwrap();
    let seed = SeedFile::new(SEED, IMAGE_UID);
    let komodod = KomododRun::new("typo", "BEER", &seed).yaml(&yaml).start();

    assert_eq!(
        komodod.wait_exit(Duration::from_secs(60)),
        78,
        "exit status"
    );
    let logs = komodod.logs();
    let message = "dokomodo: error: /etc/dokomodo/notary.yaml:4:5: chains.BEER.ac_suply: \
                   unknown key `ac_suply` (did you mean `ac_supply`?)\n";
    assert!(logs.contains(message), "docker logs:\n{logs}");
    assert!(
        logs.contains("4 |     ac_suply: 100000000"),
        "the line itself is shown:\n{logs}"
    );
    assert!(
        !logs.contains("komodod-standin") && !logs.contains("started `komodod`"),
        "{logs}"
    );
    let beer = chain("BEER");
    assert!(
        komodod
            .file(&format!("{}/standin.log", beer.datadir()))
            .is_none(),
        "the daemon ran"
    );
    assert!(
        komodod.file(&beer.conf_path()).is_none(),
        "a file was written"
    );
    komodod.assert_no_secrets(&seed.secrets());
}

#[test]
fn dokomodo_is_pid_1_and_reaps_what_docker_exec_leaves_behind() {
    setup();
    let seed = SeedFile::new(SEED, IMAGE_UID);
    let komodod = KomododRun::new("pid1", "KMD", &seed).start();
    komodod.wait_ready();

    let init = komodod.host_pid();
    assert_eq!(
        cmdline(init),
        ["/usr/local/bin/dokomodo", "run", "komodod"],
        "the container's init"
    );
    assert_eq!(
        ns_pids(init).last(),
        Some(&1),
        "dokomodo is PID 1 in the container"
    );

    // Three children that outlive the exec'd process by 8 s (time to see
    // them adopted, even on a loaded machine): orphans, which the kernel
    // hands to PID 1. A PID 1 that does not reap keeps them as zombies for as
    // long as the container runs.
    let out = run(&mut docker(&[
        "exec",
        &komodod.name,
        "/usr/local/bin/komodod",
        "orphans",
        "3",
        "8000",
    ]));
    let orphans: Vec<u32> = text(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(orphans.len(), 3, "{}", text(&out.stdout));
    let adopted = children_of(init)
        .iter()
        .filter(|p| p.comm == "komodod")
        .count();
    assert_eq!(
        adopted,
        4,
        "komodod and its 3 orphans under PID 1: {:?}",
        children_of(init)
    );
    let reaped = poll(Duration::from_secs(40), || {
        let left = children_of(init);
        (left.len() == 1).then_some(left)
    });
    match reaped {
        Some(left) => assert_ne!(left[0].state, 'Z', "{left:?}"),
        None => komodod.fail(&format!("not reaped: {:?}", children_of(init))),
    }

    // The daemon itself is untouched: still running, and stops cleanly.
    assert!(komodod.running());
    assert!(
        !komodod.logs().contains("exited with status"),
        "{}",
        komodod.logs()
    );
    komodod.stop(60);
    assert_eq!(komodod.exit_code(), 0);
    komodod.assert_no_secrets(&seed.secrets());
}
