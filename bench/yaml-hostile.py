#!/usr/bin/env python3
"""Hostile YAML against the parser's budgets: peak memory and time.

Writes texts of up to the largest config dokomodo reads (4 MiB,
config::MAX_SIZE) built to make a parse take memory or time (anchors nested
in anchors, aliases of long strings, an alias bomb, 250,000 small
collections), runs `dokomodo --config FILE check` on each under
/usr/bin/time -v, and prints peak memory and wall time. Each must stay
under 64 MB and 1 s (issue 10, section 3); the exit status says whether all
did.

    cargo build --release
    bench/yaml-hostile.py target/*/release/dokomodo
"""

import os
import re
import subprocess
import sys
import tempfile

MAX_SIZE = 4 << 20
MAX_KB = 64 * 1024
MAX_SECONDS = 1.0


def nested_anchors(levels, items, item="abcdefg"):
    opened = "".join(f"&a{i} [" for i in range(levels))
    return "x: " + opened + ",".join([item] * items) + "]" * levels + "\n"


def texts():
    """(name, text) of each hostile input, each at most MAX_SIZE bytes."""
    long = "x" * (MAX_SIZE // 2)
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
    for prev, name in zip("abcdefgh", "bcdefghi"):
        bomb += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]\n"
    yield "anchors nested in anchors (2 MB)", nested_anchors(62, 230_000)
    yield "anchors nested in anchors (4 MiB)", nested_anchors(62, 245_000, "abcdefghijklmnop")
    yield "anchors nested within the budget", nested_anchors(62, 3_900)
    yield "aliases of a 2 MiB string", f'a: &a "{long}"\nb: [' + ",".join(["*a"] * 1000) + "]\n"
    yield "an alias bomb", bomb
    yield "250,000 empty mappings", "[" + ",".join(["{}"] * 249_990) + "]\n"
    yield "one-entry mappings in lists", "[" + ",".join(["{a: 1}"] * 83_000) + "]\n"
    unit = "[" * 63 + "x" + "]" * 63
    yield "one-item lists nested 64 deep", "[" + ",".join([unit] * 3_900) + "]\n"
    unit = "{a: " * 63 + "x" + "}" * 63
    yield "one-entry mappings nested 64 deep", "[" + ",".join([unit] * 1_950) + "]\n"
    yield "125,000 keys", "".join(f"k{i}: {i}\n" for i in range(124_990))
    yield "one 4 MiB string", 'a: "' + "x" * (MAX_SIZE - 16) + '"\n'


def measure(binary, path):
    run = subprocess.run(
        ["/usr/bin/time", "-v", binary, "--config", path, "check"],
        capture_output=True,
        text=True,
    )
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", run.stderr)
    hours, minutes, seconds = wall.groups()
    seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    first = run.stderr.splitlines()[0] if run.stderr else ""
    return kb, seconds, first


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'input':36} {'bytes':>8} {'peak MB':>8} {'seconds':>8}  dokomodo says")
        for name, text in texts():
            assert len(text) <= MAX_SIZE, name
            path = os.path.join(tmp, "config.yaml")
            with open(path, "w") as f:
                f.write(text)
            kb, seconds, says = measure(binary, path)
            within = kb < MAX_KB and seconds < MAX_SECONDS
            ok &= within
            says = says.replace(path, "FILE")[:70]
            print(f"{name:36} {len(text):8} {kb / 1024:8.1f} {seconds:8.2f}  {says}{'' if within else '  OVER'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
