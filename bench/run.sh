#!/usr/bin/env bash
# The dokomodo benchmark suite: one command, run from anywhere in the repo.
#
#   bench/run.sh
#
# Measures what an operator sees, dokomodo beside tini-static, catatonit and
# dumb-init (and, for a restart, the 2018 shell entrypoint in
# bench/old-entrypoint.sh), all on this machine in the same run:
#   - `INIT -- /bin/true`, start to exit;
#   - wake-ups in 10 s while the child sleeps;
#   - RssAnon (the init's own memory) while supervising;
#   - the time from the main child's exit to the init's exit;
#   - a 60-chain `dokomodo run komodod` restart;
# plus render scaling, 1000 orphans, a signal storm and binary sizes. It prints
# the report and rewrites BENCHMARKS.md at the top of the repo.
#
# Needs (Debian/Ubuntu): apt-get install -y hyperfine jq tini catatonit dumb-init
# file util-linux, and cargo/rustc (https://rustup.rs). It installs nothing: a
# missing tool is named with the command that installs it. Not part of
# `cargo test`. Takes 2-3 minutes; needs root (or unprivileged user
# namespaces) for the PID-namespace runs.
#
# Knobs (environment): BENCH_ROUNDS (default 20) rounds of each hyperfine
# group, interleaved to spread load drift over every command, and rounds of
# the exit measurement; BENCH_RUNS (default 50) runs per command per round.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${BENCH_ROUNDS:-20}
RUNS=${BENCH_RUNS:-50}

# ---------------------------------------------------------------- tools
missing_apt=()
missing_other=()
for tool in hyperfine jq unshare file; do
    command -v "$tool" >/dev/null || case $tool in
        unshare) missing_apt+=(util-linux) ;;
        *) missing_apt+=("$tool") ;;
    esac
done
TINI=/usr/bin/tini-static
CATATONIT=$(command -v catatonit || true)
DUMB_INIT=$(command -v dumb-init || true)
[ -x "$TINI" ] || missing_apt+=(tini)
[ -n "$CATATONIT" ] || missing_apt+=(catatonit)
[ -n "$DUMB_INIT" ] || missing_apt+=(dumb-init)
command -v cargo >/dev/null || missing_other+=("cargo (https://rustup.rs)")
command -v rustc >/dev/null || missing_other+=("rustc (https://rustup.rs)")
if [ ${#missing_apt[@]} -gt 0 ] || [ ${#missing_other[@]} -gt 0 ]; then
    echo "bench/run.sh: missing tools; nothing was installed." >&2
    if [ ${#missing_apt[@]} -gt 0 ]; then echo "  Debian/Ubuntu: apt-get install -y ${missing_apt[*]}" >&2; fi
    for m in "${missing_other[@]}"; do echo "  $m" >&2; done
    exit 1
fi
GOSU=$(command -v gosu || true)
if [ "$(id -u)" = 0 ]; then
    PIDNS=(unshare --pid --fork --mount-proc)
else
    PIDNS=(unshare --user --map-root-user --pid --fork --mount-proc)
fi
"${PIDNS[@]}" true || { echo "bench/run.sh: cannot create a PID namespace (${PIDNS[*]}): run as root" >&2; exit 1; }

WORK=$(mktemp -d /tmp/dokomodo-bench.XXXXXX)
SHM=$(mktemp -d /dev/shm/dokomodo-bench.XXXXXX)
declare -a BACKGROUND=()
cleanup() {
    local p
    for p in "${BACKGROUND[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$WORK" "$SHM"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
echo "== building dokomodo (release) and the bench helper" >&2
cargo build --release --quiet
DOKOMODO=$ROOT/target/x86_64-unknown-linux-gnu/release/dokomodo
[ -x "$DOKOMODO" ] || { echo "bench/run.sh: no binary at $DOKOMODO" >&2; exit 1; }
HELPER=$WORK/helper
rustc --edition 2024 -O -o "$HELPER" bench/helper.rs

export DOKOMODO_SEED=bench-seed-not-a-secret-0123456789
unset DOKOMODO_SEED_FILE DOKOMODO_CONFIG DOKOMODO_CHAIN DOKOMODO_USER DOKOMODO_GRACE DOKOMODO_STOP_SIGNAL

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date +%s)

# ---------------------------------------------------------------- helpers
OUT=$WORK/report.md
: > "$OUT"
say() { printf '%s\n' "$*" >> "$OUT"; }

# bench GROUP [hyperfine options...] -- NAME CMD NAME CMD ...
# Runs every command RUNS times per round, ROUNDS rounds, interleaved; the
# statistics are over all runs of all rounds. Writes $WORK/GROUP.tsv:
# name, median ms, min ms, runs.
bench() {
    local group=$1; shift
    local opts=()
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    local cmds=()
    while [ $# -gt 0 ]; do cmds+=(-n "$1" "$2"); shift 2; done
    local r
    for r in $(seq "$ROUNDS"); do
        hyperfine -N --style none --warmup 3 "${opts[@]}" \
            --export-json "$WORK/$group.$r.json" "${cmds[@]}" >/dev/null 2>"$WORK/$group.err" \
            || { echo "bench/run.sh: hyperfine failed in group $group:" >&2; cat "$WORK/$group.err" >&2; exit 1; }
    done
    jq -s -r '
        [.[].results[]] | group_by(.command) | map(
          (map(.times[]) | sort) as $t | ($t | length) as $n
          | [ .[0].command,
              (if $n % 2 == 1 then $t[($n-1)/2] else ($t[$n/2-1] + $t[$n/2]) / 2 end) * 1000,
              $t[0] * 1000, $n ] | @tsv) | .[]' "$WORK/$group".*.json > "$WORK/$group.tsv"
}
# figure GROUP NAME COLUMN (2 median, 3 min, 4 runs)
figure() {
    local v
    v=$(awk -F'\t' -v n="$2" -v c="$3" '$1 == n { print $c }' "$WORK/$1.tsv")
    [ -n "$v" ] || { echo "bench/run.sh: no figure for '$2' in group $1" >&2; exit 1; }
    printf '%s\n' "$v"
}
ms() { printf '%.3f' "$1"; }
ms2() { printf '%.2f' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
times_() { awk -v a="$1" -v f="$2" 'BEGIN { print a * f }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
verdict() { if le "$1" "$2"; then echo PASS; else echo MISS; fi; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

PEERS=(tini-static catatonit dumb-init)
INITS=(dokomodo "${PEERS[@]}")
declare -A INIT_CMD=(
    [dokomodo]="$DOKOMODO init --"
    [tini-static]="$TINI --"
    [catatonit]="$CATATONIT --"
    [dumb-init]="$DUMB_INIT --"
)

# ---------------------------------------------------------------- 1. init start-up
echo "== 1/7 start-up: INIT -- /bin/true" >&2
bench init --runs "$RUNS" -- \
    /bin/true /bin/true \
    dokomodo "$DOKOMODO init -- /bin/true" \
    tini-static "$TINI -- /bin/true" \
    catatonit "$CATATONIT -- /bin/true" \
    dumb-init "$DUMB_INIT -- /bin/true"
FLOOR=$(figure init /bin/true 2)
FASTEST=""; FASTEST_NAME=""
for p in "${PEERS[@]}"; do
    m=$(figure init "$p" 2)
    if [ -z "$FASTEST" ] || le "$m" "$FASTEST"; then FASTEST=$m; FASTEST_NAME=$p; fi
done
DOK_INIT=$(figure init dokomodo 2)
INIT_LIMIT=$(times_ "$FASTEST" 1.5)

# ---------------------------------------------------------------- 2. run komodod
echo "== 2/7 start-up: dokomodo run komodod vs the 2018 shell entrypoint" >&2
YAML60=$WORK/production60.yaml
cp examples/all-chains.yaml "$YAML60"
# examples/all-chains.yaml has 59 chains (KMD included) and ends with the
# chains mapping: one more made-up chain makes 60.
printf '  BENCH60: {ac_supply: 60606060, addnode: [78.47.196.146]}\n' >> "$YAML60"
NCHAINS=$("$DOKOMODO" --config "$YAML60" check | sed -n '1s/.*: \([0-9]*\) chain(s).*/\1/p')
[ -n "$NCHAINS" ] || { echo "bench/run.sh: \`dokomodo check\` did not report a chain count" >&2; exit 1; }
CHAIN=BEER
export DOKOMODO_KOMODOD=/bin/true
RUN="$DOKOMODO --config $YAML60 run komodod --chain $CHAIN --home"

# The old entrypoint's inputs, made from what dokomodo renders, so both write
# the same bytes: templates with placeholders, credentials and port in the
# environment, launch parameters as arguments.
REF=$WORK/ref
mkdir -p "$REF" "$WORK/templates"
DOKOMODO_KOMODOD=/bin/echo $RUN "$REF" > "$WORK/args" 2>/dev/null
read -r -a CHAIN_ARGS < "$WORK/args"
kv() { sed -n "s/^$1=//p" "$2"; }
export ASSETCHAIN=$CHAIN TEMPLATES=$WORK/templates KOMODOD=/bin/true
RPCUSER=$(kv rpcuser "$REF/.komodo/$CHAIN/$CHAIN.conf")
RPCPASSWORD=$(kv rpcpassword "$REF/.komodo/$CHAIN/$CHAIN.conf")
RPCPORT=$(kv rpcport "$REF/.komodo/$CHAIN/$CHAIN.conf")
export RPCUSER RPCPASSWORD RPCPORT
to_template() { sed -e 's/^rpcuser=.*/rpcuser=RPCUSER/' -e 's/^rpcpassword=.*/rpcpassword=RPCPASSWORD/' -e 's/^rpcport=.*/rpcport=RPCPORT/' "$1"; }
# dokomodo no longer writes KMD's conf into an assetchain's home (issue 12:
# it was never read there and only spread KMD's password); the old entrypoint
# gets a KMD template only if dokomodo rendered one, so both write the same.
if [ -f "$REF/.komodo/komodo.conf" ]; then
    KMD_RPCUSER=$(kv rpcuser "$REF/.komodo/komodo.conf")
    KMD_RPCPASSWORD=$(kv rpcpassword "$REF/.komodo/komodo.conf")
    export KMD_RPCUSER KMD_RPCPASSWORD
    to_template "$REF/.komodo/komodo.conf" > "$WORK/templates/komodo.conf.tpl"
fi
to_template "$REF/.komodo/$CHAIN/$CHAIN.conf" > "$WORK/templates/$CHAIN.conf.tpl"
OLD="$ROOT/bench/old-entrypoint.sh ${CHAIN_ARGS[*]}"
mkdir -p "$WORK/oldcheck"
HOME=$WORK/oldcheck bash bench/old-entrypoint.sh "${CHAIN_ARGS[@]}"
SAME=no
{ [ ! -e "$REF/.komodo/komodo.conf" ] && [ ! -e "$WORK/oldcheck/.komodo/komodo.conf" ] \
    || cmp -s "$REF/.komodo/komodo.conf" "$WORK/oldcheck/.komodo/komodo.conf"; } \
    && cmp -s "$REF/.komodo/$CHAIN/$CHAIN.conf" "$WORK/oldcheck/.komodo/$CHAIN/$CHAIN.conf" && SAME=yes

for d in "$WORK/d-first" "$SHM/d-first" "$WORK/o-first" "$SHM/o-first" "$WORK/d-again" "$WORK/o-again"; do mkdir -p "$d"; done
$RUN "$WORK/d-again" 2>/dev/null
HOME=$WORK/o-again bash bench/old-entrypoint.sh "${CHAIN_ARGS[@]}"
fresh() { echo "sh -c 'rm -rf $1 && mkdir $1'"; }
# The restart and every reference run in the same interleaved rounds, so the
# goal compares figures taken under the same load. The old script reads
# HOME, which hyperfine passes on; dokomodo is given --home and the inits
# ignore it.
HOME=$WORK/o-again bench restart --runs "$RUNS" -- \
    "dokomodo run" "$RUN $WORK/d-again" \
    "old entrypoint" "$OLD" \
    tini-static "$TINI -- /bin/true" \
    catatonit "$CATATONIT -- /bin/true" \
    dumb-init "$DUMB_INIT -- /bin/true"
DOK_RESTART=$(figure restart "dokomodo run" 2)
OLD_RESTART=$(figure restart "old entrypoint" 2)
TINI_RESTART=$(figure restart tini-static 2)
RESTART_LIMIT=$(times_ "$TINI_RESTART" 2)
bench run-first --runs $((RUNS / 4)) --prepare "$(fresh "$WORK/d-first")" -- \
    "dokomodo run, first start (disk)" "$RUN $WORK/d-first"
bench run-first-shm --runs $((RUNS / 4)) --prepare "$(fresh "$SHM/d-first")" -- \
    "dokomodo run, first start (tmpfs)" "$RUN $SHM/d-first"
HOME=$WORK/o-first bench old-first --runs $((RUNS / 4)) --prepare "$(fresh "$WORK/o-first")" -- \
    "old entrypoint, first start (disk)" "$OLD"
HOME=$SHM/o-first bench old-first-shm --runs $((RUNS / 4)) --prepare "$(fresh "$SHM/o-first")" -- \
    "old entrypoint, first start (tmpfs)" "$OLD"
unset ASSETCHAIN TEMPLATES KOMODOD RPCUSER RPCPASSWORD RPCPORT KMD_RPCUSER KMD_RPCPASSWORD

# ---------------------------------------------------------------- 3. idle
echo "== 3/7 idle: wake-ups and own memory while the child sleeps (10 s)" >&2
printf '#!/bin/sh\nexec sleep 14\n' > "$WORK/fake-komodod"
chmod +x "$WORK/fake-komodod"
declare -A IDLE_PID
for i in "${INITS[@]}"; do
    ${INIT_CMD[$i]} sleep 14 > /dev/null 2>&1 &
    IDLE_PID[$i]=$!
    BACKGROUND+=("$!")
done
mkdir -p "$WORK/idle-run"
DOKOMODO_KOMODOD=$WORK/fake-komodod $RUN "$WORK/idle-run" > /dev/null 2>&1 &
IDLE_PID[dokomodo-run]=$!
BACKGROUND+=("$!")
IDLE_NAMES=("${INITS[@]}" dokomodo-run)
sleep 1.5
# One forwarded signal each (the child, sleep, ignores SIGWINCH), so the
# memory read next includes what handling a signal touches, not only start-up.
for i in "${IDLE_NAMES[@]}"; do kill -WINCH "${IDLE_PID[$i]}"; done
sleep 0.3
switches() { awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { s += $2 } END { print s }' "/proc/$1/status"; }
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
declare -A SW0 SW1 WAKE ANON
for i in "${IDLE_NAMES[@]}"; do
    p=${IDLE_PID[$i]}
    [ -r "/proc/$p/status" ] || { echo "bench/run.sh: $i exited before the idle window" >&2; exit 1; }
    SW0[$i]=$(switches "$p"); ANON[$i]=$(kb "$p" RssAnon)
done
t0=$(date +%s%N)
sleep 10
t1=$(date +%s%N)
for i in "${IDLE_NAMES[@]}"; do
    SW1[$i]=$(switches "${IDLE_PID[$i]}")
    WAKE[$i]=$(( ${SW1[$i]} - ${SW0[$i]} ))
done
IDLE_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
for i in "${IDLE_NAMES[@]}"; do kill -TERM "${IDLE_PID[$i]}" 2>/dev/null || true; done
for i in "${IDLE_NAMES[@]}"; do wait "${IDLE_PID[$i]}" 2>/dev/null || true; done
BACKGROUND=()

# ---------------------------------------------------------------- 4. exit
echo "== 4/7 exit: from the main child's exit to the init's exit ($ROUNDS rounds)" >&2
# Each round starts the four inits at once; each one's child sleeps, stamps
# CLOCK_MONOTONIC and _exits; the helper, the inits' parent, stamps the
# moment waitpid returns for the init. The children live SETTLE ms, so every
# init is idle in its supervising loop as under a real komodod (tini's 1 s
# timeout has fired, anything an init defers after start-up has happened),
# and exit GAP ms apart in an order that rotates each round, so no two exits
# overlap and none is always first.
SETTLE=1500; GAP=60
mkdir -p "$SHM/exit"
lag_args=()
for i in "${INITS[@]}"; do lag_args+=("$i=${INIT_CMD[$i]}"); done
"$HELPER" exit-lag "$SHM/exit" "$ROUNDS" "$SETTLE" "$GAP" "${lag_args[@]}" > "$WORK/exit-lag" 2> "$WORK/exit-lag.err" \
    || { echo "bench/run.sh: the exit measurement failed:" >&2; tail -5 "$WORK/exit-lag.err" >&2; exit 1; }
declare -A LAG LAG_MIN LAG_MAX
for i in "${INITS[@]}"; do
    us=$(awk -v n="$i" '$1 == n { for (f = 2; f <= NF; f++) print $f }' "$WORK/exit-lag")
    [ -n "$us" ] || { echo "bench/run.sh: no exit figures for $i" >&2; exit 1; }
    LAG[$i]=$(median <<< "$us" | awk '{ print $1 / 1000 }')
    LAG_MIN[$i]=$(sort -g <<< "$us" | head -1 | awk '{ print $1 / 1000 }')
    LAG_MAX[$i]=$(sort -g <<< "$us" | tail -1 | awk '{ print $1 / 1000 }')
done

# ---------------------------------------------------------------- 5. render scaling
echo "== 5/7 render scaling: iguana role, 1/10/100/1000 chains" >&2
# 1000 distinct chains C0001..C1000 differing in ac_supply. Supply-only
# chains share 7777 p2p ports (8000 + magic % 7777), so some supplies collide;
# dokomodo refuses a YAML where two chains share a port and names the line:
# give that chain the next supply and check again until the YAML is valid.
Y1000=$WORK/chains-all.yaml
{
    printf 'rpc:\n  allow: [172.20.0.0/16]\nchains:\n'
    for i in $(seq 1000); do printf '  C%04d: {ac_supply: %d}\n' "$i" $((1000000 + i)); done
} > "$Y1000"
next_supply=1001001
retries=0
while ! "$DOKOMODO" --config "$Y1000" check > /dev/null 2> "$WORK/check.err"; do
    line=$(sed -n '1s/^dokomodo: error: [^:]*:\([0-9]*\):[0-9]*: chains\.C[0-9]*: its .* port .*/\1/p' "$WORK/check.err")
    [ -n "$line" ] || { echo "bench/run.sh: unexpected error from check:" >&2; cat "$WORK/check.err" >&2; exit 1; }
    sed -i "${line}s/ac_supply: [0-9]*/ac_supply: $next_supply/" "$Y1000"
    next_supply=$((next_supply + 1))
    retries=$((retries + 1))
    [ "$retries" -lt 2000 ] || { echo "bench/run.sh: could not find 1000 chains with distinct ports" >&2; exit 1; }
done
SIZES=(1 10 100 1000)
for n in "${SIZES[@]}"; do
    head -n $((3 + n)) "$Y1000" > "$WORK/chains$n.yaml"
    "$DOKOMODO" --config "$WORK/chains$n.yaml" check > /dev/null
    mkdir -p "$SHM/again$n" "$WORK/again$n"
    "$DOKOMODO" --config "$WORK/chains$n.yaml" render iguana --home "$SHM/again$n" > /dev/null
    "$DOKOMODO" --config "$WORK/chains$n.yaml" render iguana --home "$WORK/again$n" > /dev/null
done
FILES1000=$(find "$SHM/again1000" -type f | wc -l)
for n in "${SIZES[@]}"; do
    bench "render-first-$n" --runs $((n >= 1000 ? RUNS / 10 : RUNS / 4)) --prepare "$(fresh "$SHM/first$n")" -- \
        "first" "$DOKOMODO --config $WORK/chains$n.yaml render iguana --home $SHM/first$n"
    bench "render-again-$n" --runs $((n >= 1000 ? RUNS / 10 : RUNS / 4)) -- \
        "again" "$DOKOMODO --config $WORK/chains$n.yaml render iguana --home $WORK/again$n"
    bench "check-$n" --runs $((n >= 1000 ? RUNS / 10 : RUNS / 4)) -- \
        "check" "$DOKOMODO --config $WORK/chains$n.yaml check"
done

# ---------------------------------------------------------------- 6. orphans and signals
echo "== 6/7 reaping 1000 orphans, and a storm of 10000 signals" >&2
REPS=3
declare -A REAP TOTAL LEFT STORM SEND SEEN ALIVE STATUS
for i in "${INITS[@]}"; do
    reaps=(); totals=(); lefts=()
    for r in $(seq $REPS); do
        s=$(date +%s%N)
        line=$("${PIDNS[@]}" ${INIT_CMD[$i]} "$HELPER" orphans 1000 2>/dev/null)
        e=$(date +%s%N)
        reaps+=("$(sed -n 's/.*reap_ms=\([0-9.]*\).*/\1/p' <<< "$line")")
        lefts+=("$(sed -n 's/.*left=\([0-9]*\).*/\1/p' <<< "$line")")
        totals+=("$(awk -v a="$s" -v b="$e" 'BEGIN { print (b - a) / 1e6 }')")
    done
    REAP[$i]=$(printf '%s\n' "${reaps[@]}" | median)
    TOTAL[$i]=$(printf '%s\n' "${totals[@]}" | median)
    LEFT[$i]=$(printf '%s\n' "${lefts[@]}" | sort -n | tail -1)

    storms=(); sends=(); seens=(); alive=yes; status=""
    for r in $(seq $REPS); do
        report=$WORK/storm.$i.$r
        ${INIT_CMD[$i]} "$HELPER" storm-child "$report" > /dev/null 2>&1 &
        ip=$!
        BACKGROUND=("$ip")
        for _ in $(seq 500); do grep -q ready "$report" 2>/dev/null && break; sleep 0.01; done
        sent=$("$HELPER" storm-send "$ip" 10000)
        for _ in $(seq 500); do grep -q marker "$report" && break; sleep 0.01; done
        kill -0 "$ip" 2>/dev/null || alive=no
        kill -TERM "$ip" 2>/dev/null || true
        st=0; wait "$ip" || st=$?
        BACKGROUND=()
        status="$status$st "
        start=$(sed -n 's/.*start_ns=\([0-9]*\).*/\1/p' <<< "$sent")
        sentat=$(sed -n 's/.*sent_ns=\([0-9]*\).*/\1/p' <<< "$sent")
        marker=$(sed -n 's/^marker_ns=//p' "$report")
        storms+=("$(awk -v a="$start" -v b="${marker:-0}" 'BEGIN { print (b > 0 ? (b - a) / 1e6 : -1) }')")
        sends+=("$(awk -v a="$start" -v b="$sentat" 'BEGIN { print (b - a) / 1e6 }')")
        seens+=("$(sed -n 's/^usr1_seen=//p' "$report")")
    done
    STORM[$i]=$(printf '%s\n' "${storms[@]}" | median)
    SEND[$i]=$(printf '%s\n' "${sends[@]}" | median)
    SEEN[$i]=$(printf '%s\n' "${seens[@]:-0}" | median)
    ALIVE[$i]=$alive
    STATUS[$i]=$status
done

# ---------------------------------------------------------------- 7. sizes
echo "== 7/7 binary sizes" >&2
kind() { file -L "$1" | sed -e 's/.*\(static-pie linked\|statically linked\|dynamically linked\).*/\1/'; }
stripped() { file -L "$1" | grep -q 'not stripped' && echo "not stripped" || echo stripped; }
size_row() { say "| $1 | ${2#"$ROOT"/} | $(stat -L -c %s "$2") | $(kind "$2"), $(stripped "$2") |"; }

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - STARTED ))

# ---------------------------------------------------------------- report
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || COMMIT="$COMMIT (with uncommitted changes to src)"

say "# Benchmarks"
say ""
say "Generated by \`bench/run.sh\`; do not edit by hand. To rerun (root, 2-3"
say "minutes; the script names any missing tool and its Debian package):"
say ""
say "    apt-get install -y hyperfine jq tini catatonit dumb-init"
say "    bench/run.sh"
say ""
say "Every figure comes from this one run on one machine: compare the columns"
say "with each other, not with another machine's numbers."
say ""
say "| | |"
say "|---|---|"
say "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
say "| machine | $(nproc) CPUs, $CPU, kernel $(uname -r) |"
say "| load average | $LOAD_BEFORE before, $LOAD_AFTER after (other work on the machine shows up as noise) |"
say "| dokomodo | $COMMIT, release build, $(stat -c %s "$DOKOMODO") bytes |"
say "| peers | $("$TINI" --version 2>&1 | head -1) (tini-static), catatonit $("$CATATONIT" --version 2>&1 | head -1 | awk '{print $NF}'), $("$DUMB_INIT" --version 2>&1 | head -1) |"
say "| settings | BENCH_ROUNDS=$ROUNDS, BENCH_RUNS=$RUNS, $(hyperfine --version); ${ELAPSED} s in all |"
say ""

say "## Goals"
say ""
say "What an operator sees of the init, dokomodo beside the other inits. Times"
say "are medians. The result is dokomodo's."
say ""
say "| | dokomodo | tini-static | catatonit | dumb-init | 2018 entrypoint | goal | result |"
say "|---|---:|---:|---:|---:|---:|---|---|"
say "| \`INIT -- /bin/true\`, start to exit, ms | $(ms2 "$DOK_INIT") | $(ms2 "$(figure init tini-static 2)") | $(ms2 "$(figure init catatonit 2)") | $(ms2 "$(figure init dumb-init 2)") | | at most 1.5x the fastest peer ($FASTEST_NAME): $(ms2 "$INIT_LIMIT") | $(verdict "$DOK_INIT" "$INIT_LIMIT") |"
both() { if [ "$(verdict "$1" "$3")" = PASS ] && [ "$(verdict "$2" "$3")" = PASS ]; then echo PASS; else echo MISS; fi; }
say "| wake-ups in ${IDLE_S} s, child asleep | ${WAKE[dokomodo]} (run: ${WAKE[dokomodo-run]}) | ${WAKE[tini-static]} | ${WAKE[catatonit]} | ${WAKE[dumb-init]} | | 0 | $(both "${WAKE[dokomodo]}" "${WAKE[dokomodo-run]}" 0) |"
say "| RssAnon while supervising, kB | ${ANON[dokomodo]} (run: ${ANON[dokomodo-run]}) | ${ANON[tini-static]} | ${ANON[catatonit]} | ${ANON[dumb-init]} | | at most 256 | $(both "${ANON[dokomodo]}" "${ANON[dokomodo-run]}" 256) |"
say "| main child's exit to the init's exit, ms | $(ms2 "${LAG[dokomodo]}") | $(ms2 "${LAG[tini-static]}") | $(ms2 "${LAG[catatonit]}") | $(ms2 "${LAG[dumb-init]}") | | at most 5 | $(verdict "${LAG[dokomodo]}" 5) |"
r=MISS; if le "$DOK_RESTART" "$RESTART_LIMIT" && lt "$DOK_RESTART" "$OLD_RESTART"; then r=PASS; fi
say "| $NCHAINS-chain restart, ms (peers: \`INIT -- /bin/true\`, same rounds) | $(ms2 "$DOK_RESTART") | $(ms2 "$TINI_RESTART") | $(ms2 "$(figure restart catatonit 2)") | $(ms2 "$(figure restart dumb-init 2)") | $(ms2 "$OLD_RESTART") | at most 2x tini-static ($(ms2 "$RESTART_LIMIT")) and under the 2018 entrypoint | $r |"
say ""
say "\"run\" is \`dokomodo run komodod\` supervising a stand-in komodod that sleeps;"
say "the other dokomodo figures are \`dokomodo init\`. The sections below say how"
say "each figure is taken."
say ""

say "## 1. Start-up: \`INIT -- /bin/true\`"
say ""
say "From exec of the init to its exit after \`/bin/true\` ran under it, \`hyperfine -N\`"
say "over $ROUNDS interleaved rounds (slow periods of a shared machine hit every"
say "command alike). \`/bin/true\` alone is the floor."
say ""
say "| command | median ms | fastest ms | runs | minus the floor ms |"
say "|---|---:|---:|---:|---:|"
for n in /bin/true "${INITS[@]}"; do
    m=$(figure init "$n" 2)
    say "| $n | $(ms "$m") | $(ms "$(figure init "$n" 3)") | $(figure init "$n" 4) | $(ms "$(awk -v a="$m" -v f="$FLOOR" 'BEGIN { print a - f }')") |"
done
say ""

say "## 2. \`dokomodo run komodod\` against the 2018 shell entrypoint"
say ""
say "Chain $CHAIN of a $NCHAINS-chain YAML (examples/all-chains.yaml plus one chain),"
say "stand-in komodod \`/bin/true\`. Restart: the files are there and unchanged;"
say "dokomodo reads the YAML, re-renders and compares the chain's files, starts"
say "komodod and exits with it. \`bench/old-entrypoint.sh\` renders the same two conf"
say "files from per-chain templates with sed, as the 2018 images did (identical"
say "bytes: $SAME), then execs the daemon; it runs no init. The inits' \`-- /bin/true\`"
say "ran in the same interleaved rounds as the restart. First start: a fresh HOME"
say "every run (hyperfine --prepare). dokomodo writes atomically and fsyncs each"
say "new file and changed directory; the shell script writes in place with no"
say "fsync, hence the tmpfs rows."
say ""
say "| command | median ms | fastest ms | runs |"
say "|---|---:|---:|---:|"
row2() { say "| $3 | $(ms "$(figure "$1" "$2" 2)") | $(ms "$(figure "$1" "$2" 3)") | $(figure "$1" "$2" 4) |"; }
row2 restart "dokomodo run" "dokomodo run, restart (disk)"
row2 restart "old entrypoint" "old entrypoint, restart (disk)"
for p in "${PEERS[@]}"; do row2 restart "$p" "$p -- /bin/true, same rounds"; done
row2 run-first "dokomodo run, first start (disk)" "dokomodo run, first start (disk)"
row2 old-first "old entrypoint, first start (disk)" "old entrypoint, first start (disk)"
row2 run-first-shm "dokomodo run, first start (tmpfs)" "dokomodo run, first start (tmpfs)"
row2 old-first-shm "old entrypoint, first start (tmpfs)" "old entrypoint, first start (tmpfs)"
say ""

say "## 3. Idle: wake-ups and own memory"
say ""
say "Each init supervises \`sleep\`; after it has forwarded one SIGWINCH (so what"
say "handling a signal touches is counted), RssAnon is read from /proc/PID/status:"
say "the init's own memory (heap, stack, written data), which no other process"
say "shares. Then, over $IDLE_S s, its context switches (voluntary + involuntary)"
say "count its wake-ups. \`dokomodo run\` supervises a stand-in komodod that sleeps."
say ""
say "| init | wake-ups | per second | RssAnon kB |"
say "|---|---:|---:|---:|"
for i in "${IDLE_NAMES[@]}"; do
    n=$i; [ "$i" = dokomodo-run ] && n="dokomodo run"
    say "| $n | ${WAKE[$i]} | $(awk -v w="${WAKE[$i]}" -v s="$IDLE_S" 'BEGIN { printf "%.2f", w / s }') | ${ANON[$i]} |"
done
say ""

say "## 4. From the main child's exit to the init's exit"
say ""
say "What a restart policy or \`docker stop\` waits for once the daemon is gone. The"
say "bench helper starts the four inits at once, each with the helper as its child;"
say "the child sleeps, writes CLOCK_MONOTONIC to a file and \`_exit\`s at once; the"
say "helper, parent of the inits, reads the clock as \`waitpid\` returns the init."
say "So each figure also holds the kernel's exit and the parent's wake-up, the same"
say "for every init. The children live $SETTLE ms (every init is idle in its loop, as"
say "under a long-running komodod) and exit $GAP ms apart in an order that rotates"
say "every round, so no two exits overlap; $ROUNDS rounds."
say ""
say "| init | median ms | fastest ms | slowest ms |"
say "|---|---:|---:|---:|"
for i in "${INITS[@]}"; do
    say "| $i | $(ms "${LAG[$i]}") | $(ms "${LAG_MIN[$i]}") | $(ms "${LAG_MAX[$i]}") |"
done
say ""

say "## 5. Render scaling: \`dokomodo render iguana\`"
say ""
say "Every chain's conf file and addcoin JSON ($FILES1000 files for 1000 chains)."
say "Chains C0001.. differ only in ac_supply; supplies whose ports collided were"
say "replaced ($retries retries) until \`dokomodo check\` accepted all 1000. First:"
say "fresh HOME on tmpfs (/dev/shm), so no disk flush is timed. Unchanged: the"
say "files are there (on disk) and nothing is rewritten. Check: parse and validate"
say "only. Medians over $ROUNDS interleaved rounds."
say ""
say "| chains | first ms | unchanged ms | check ms | first, per chain µs |"
say "|---:|---:|---:|---:|---:|"
for n in "${SIZES[@]}"; do
    f=$(figure "render-first-$n" first 2)
    say "| $n | $(ms "$f") | $(ms "$(figure "render-again-$n" again 2)") | $(ms "$(figure "check-$n" check 2)") | $(awk -v f="$f" -v n="$n" 'BEGIN { printf "%.1f", f * 1000 / n }') |"
done
say ""
slope() { awk -v a="$(figure "$1-$2" "$3" 2)" -v b="$(figure "$1-$4" "$3" 2)" -v n="$2" -v m="$4" 'BEGIN { printf "%.4f", (b - a) / (m - n) }'; }
S_LOW=$(slope render-first 10 first 100); S_HIGH=$(slope render-first 100 first 1000)
R1000=$(figure render-first-1000 first 2)
A1000=$(figure render-again-1000 again 2)
say "| goal | measured | result |"
say "|---|---|---|"
say "| first render of 1000 chains (tmpfs) under 50 ms | $(ms "$R1000") ms | $(verdict "$R1000" 50) |"
say "| unchanged render of 1000 chains under 50 ms | $(ms "$A1000") ms | $(verdict "$A1000" 50) |"
say "| linear: per-chain cost from 100 to 1000 chains at most 1.5x that from 10 to 100 | $S_HIGH vs $S_LOW ms/chain | $(verdict "$S_HIGH" "$(times_ "$S_LOW" 1.5)") |"
say ""

say "## 6. Reaping 1000 orphans, and 10000 signals"
say ""
say "Orphans: each init is PID 1 of a new PID namespace (\`${PIDNS[*]}\`). Its child"
say "forks a process that forks 1000 grandchildren (each exits at once) and exits"
say "without waiting for them, so 1000 zombies land on the init; the child then"
say "watches /proc until no process but the init and itself is left (timeout 10 s)."
say "\"reaped\" is the time from the first fork to that point; \"init exited\" is the"
say "whole run from the outside. Medians of $REPS."
say ""
say "Signals: the child blocks USR1 and counts it; 10000 SIGUSR1 are sent to the"
say "init with kill(2) as fast as one process can, then one SIGUSR2 as a marker."
say "\"drained\" is the time from the first kill to the child receiving the marker."
say "Standard signals do not queue, so the child sees fewer than were sent; what"
say "matters is that it sees them and the init survives and exits with the"
say "child's status (0) on SIGTERM. Medians of $REPS."
say ""
say "| init | reaped ms | init exited ms | zombies left | sending ms | drained ms | USR1 seen by child | init alive | exit statuses |"
say "|---|---:|---:|---:|---:|---:|---:|---|---|"
for i in "${INITS[@]}"; do
    say "| $i | $(printf '%.1f' "${REAP[$i]}") | $(printf '%.1f' "${TOTAL[$i]}") | ${LEFT[$i]} | $(printf '%.1f' "${SEND[$i]}") | $(printf '%.1f' "${STORM[$i]}") | ${SEEN[$i]} | ${ALIVE[$i]} | ${STATUS[$i]% } |"
done
say ""

say "## 7. Binary size"
say ""
say "| binary | path | bytes | linking |"
say "|---|---|---:|---|"
size_row dokomodo "$DOKOMODO"
size_row tini-static "$TINI"
size_row catatonit "$CATATONIT"
size_row dumb-init "$DUMB_INIT"
if [ -n "$GOSU" ]; then size_row gosu "$GOSU"; fi
say ""

NOTES=$ROOT/bench/NOTES.md
if [ -f "$NOTES" ]; then
    cat "$NOTES" >> "$OUT"
fi

cp "$OUT" "$ROOT/BENCHMARKS.md"
cat "$OUT"
echo "== wrote BENCHMARKS.md (${ELAPSED} s)" >&2
