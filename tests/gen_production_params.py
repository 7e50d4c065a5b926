#!/usr/bin/env python3
"""Regenerate tests/data/production_params.json from examples/all-chains.yaml
(every chain notarised since 2018; the file was examples/production.yaml until
`dokomodo import` made that one the current season's list).

PyYAML is not available, so this reads only the YAML subset that
all-chains.yaml uses: block mappings, one-line flow mappings of scalars and
flow lists, flow lists, comments,
anchors (&a), aliases (*a) and merge keys (<<). Anything else is an error, so
the JSON can never silently drift from the YAML.

    python3 tests/gen_production_params.py          # rewrite the JSON
    python3 tests/gen_production_params.py --check  # fail if it is stale
"""

import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YAML = os.path.join(ROOT, "examples", "all-chains.yaml")
OUT = os.path.join(ROOT, "tests", "data", "production_params.json")

# Every -ac_* flag komodod's komodo_args reads (KomodoPlatform/komodo).
KNOWN_AC = {
    "ac_name", "ac_supply", "ac_end", "ac_reward", "ac_halving", "ac_decay",
    "ac_notarypay", "ac_eras", "ac_perc", "ac_founders", "ac_founders_reward",
    "ac_pubkey", "ac_script", "ac_cc", "ac_ccenable", "ac_cclib",
    "ac_ccactivate", "ac_ccactivateht", "ac_staked", "ac_public",
    "ac_private", "ac_txpow", "ac_algo", "ac_blocktime", "ac_sapling",
    "ac_overwinter", "ac_cbmaturity", "ac_adaptivepow", "ac_snapshot",
    "ac_timelockgte", "ac_timeunlockfrom", "ac_timeunlockto", "ac_import",
    "ac_beam", "ac_coda", "ac_mineropret", "ac_nk", "ac_earlytxidcontract",
    "ac_cbopret", "ac_prices", "ac_stocks", "ac_veruspos",
}
OTHER_KEYS = {"addnode", "datadir", "host", "args"}


class Reader:
    def __init__(self, text):
        self.lines = []
        for n, raw in enumerate(text.splitlines(), start=1):
            line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
            if line.strip():
                self.lines.append((n, len(line) - len(line.lstrip()), line.strip()))
        self.pos = 0
        self.anchors = {}

    def error(self, n, msg):
        raise SystemExit("%s:%d: %s" % (YAML, n, msg))

    def scalar(self, s, n):
        s = s.strip()
        if s.startswith("*"):
            if s[1:] not in self.anchors:
                self.error(n, "unknown alias " + s)
            return self.anchors[s[1:]]
        if s.startswith("[") or s.startswith("{"):
            value, rest = self.flow(s, n)
            if rest.strip():
                self.error(n, "trailing text " + rest)
            return value
        if re.fullmatch(r"-?\d+", s):
            return int(s)
        if s[:1] in "'\"&!|>%@`":
            self.error(n, "unsupported scalar " + s)
        return s

    def flow(self, s, n):
        """Parse one flow list at the start of s; return (value, rest)."""
        if s[0] != "[":
            self.error(n, "flow mapping here is not supported")
        items, s = [], s[1:].lstrip()
        while not s.startswith("]"):
            m = re.match(r"[^,\]\[{}]*", s)
            if not m.group(0).strip():
                self.error(n, "bad flow list")
            items.append(self.scalar(m.group(0), n))
            s = s[m.end():].lstrip()
            if s.startswith(","):
                s = s[1:].lstrip()
            elif not s.startswith("]"):
                self.error(n, "bad flow list")
        return items, s[1:]

    def block(self, indent):
        out = {}
        explicit = set()
        while self.pos < len(self.lines):
            n, ind, text = self.lines[self.pos]
            if ind < indent:
                break
            if ind > indent:
                self.error(n, "unexpected indentation")
            self.pos += 1
            m = re.match(r"([^:\s][^:]*?):(?:\s+(.*))?$", text)
            if not m:
                self.error(n, "expected 'key: value'")
            key, rest = m.group(1), (m.group(2) or "").strip()
            anchor = None
            if rest.startswith("&"):
                anchor, _, rest = rest[1:].partition(" ")
                rest = rest.strip()
            if rest:
                value = self.scalar(rest, n)
            else:
                if self.pos < len(self.lines) and self.lines[self.pos][1] > indent:
                    value = self.block(self.lines[self.pos][1])
                else:
                    value = None
            if anchor:
                self.anchors[anchor] = value
            if key == "<<":
                merged = dict(value)
                merged.update(out)
                out = merged
            else:
                if key in explicit:
                    self.error(n, "duplicate key " + key)
                explicit.add(key)
                out[key] = value
        return out


def tokenize_flow_mapping(s):
    """'{a: 1, b: [x, y]}' -> [('a','1'), ('b','[x, y]')]"""
    assert s[0] == "{" and s[-1] == "}"
    body, parts, depth, cur = s[1:-1], [], 0, ""
    for ch in body:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    out = []
    for p in parts:
        k, _, v = p.partition(":")
        out.append((k.strip(), v.strip()))
    return out


def build():
    reader = Reader(open(YAML).read())
    # Pre-pass: rewrite one-line flow mappings into the block form the reader
    # handles, keeping line numbers for errors.
    expanded = []
    for n, ind, text in reader.lines:
        m = re.match(r"([^:\s][^:]*?):\s+(&\S+\s+)?(\{.*\})$", text)
        if m:
            head = m.group(1) + ":" + (" " + m.group(2).strip() if m.group(2) else "")
            expanded.append((n, ind, head))
            for k, v in tokenize_flow_mapping(m.group(3)):
                expanded.append((n, ind + 2, "%s: %s" % (k, v)))
        else:
            expanded.append((n, ind, text))
    reader.lines = expanded
    doc = reader.block(0)
    chains = doc.get("chains")
    if not isinstance(chains, dict):
        raise SystemExit("all-chains.yaml: no chains mapping")
    out = []
    for key, params in chains.items():
        params = dict(params or {})
        for k in params:
            if k not in KNOWN_AC and k not in OTHER_KEYS:
                raise SystemExit("all-chains.yaml: chain %s: unknown key %s" % (key, k))
        entry = {"key": key, "ac_name": params.pop("ac_name", key)}
        for k, v in params.items():
            if k.startswith("ac_"):
                entry[k] = v
        if "datadir" in params:
            entry["datadir"] = params["datadir"]
        out.append(entry)
    return out


def main(argv):
    data = json.dumps(build(), indent=1) + "\n"
    if "--check" in argv[1:]:
        with open(OUT) as f:
            if f.read() != data:
                print("tests/data/production_params.json is stale; rerun tests/gen_production_params.py")
                return 1
        print("production_params.json matches all-chains.yaml")
        return 0
    with open(OUT, "w") as f:
        f.write(data)
    print("wrote %s (%d chains)" % (os.path.relpath(OUT, ROOT), len(json.loads(data))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
