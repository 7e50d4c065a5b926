//! `dokomodo import`: the season's chain list, read from upstream's own data.
//!
//! dPoW publishes the notarised assetchains in `iguana/assetchains.json`, and
//! komodo keeps `src/assetchains.json`: a JSON list of objects with `ac_name`,
//! the `-ac_*` parameters as strings, `addnode`, and a few launch flags
//! (`addressindex`, `spentindex`, `earlytxid`, `datadir`). komodo's `ac.json`
//! (an object of objects keyed by name) is read too. JSON is YAML's flow
//! syntax, so our own YAML parser reads these files, with positions for the
//! error messages.
//!
//! The result is a notary YAML: the upstream chains, merged into a base YAML
//! (the operator's current one, or a template) whose top-level keys, comments,
//! non-assetchain coins (KMD, LTC) and each kept chain's own keys stay.
//! Everything here is pure: text in, text and notes out. The command line
//! reads the files and prints.

use std::collections::BTreeMap;
use std::path::Path;

use super::acparams::{self, Kind};
use super::yaml::{self, Node, Pos, Value};
use super::{Chain, ConfigError};

/// What an import produced: the YAML, and what the operator should know
/// (chains dropped, added or changed, flags not imported), one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub yaml: String,
    pub notes: Vec<String>,
}

/// The base used when the operator gives none: the top-level keys a notary
/// YAML needs, with what to edit, and KMD (which upstream's lists leave out).
pub const TEMPLATE: &str = "\
# A notary YAML made by `dokomodo import` from upstream's list of assetchains.
# Edit what is marked EDIT, then run `dokomodo --config THIS_FILE check`.
# Rerun `dokomodo --config THIS_FILE import NEW_LIST.json` each season: your
# keys and comments stay, chains no longer listed are dropped (and named).

# EDIT: your notary pubkey (66 hex characters), passed as -pubkey= to every komodod.
# pubkey: 02xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

# EDIT: who may call a daemon's RPC from outside its container (the compose network).
rpc:
  allow: [172.20.0.0/16]

chains:
  # Komodo itself: not in upstream's list of assetchains.
  KMD: {}
";

/// Launch flags upstream lists beside the `-ac_*` parameters that are not
/// part of a chain's identity: they become the chain's `args`.
const FLAGS: &[&str] = &["addressindex", "spentindex", "timestampindex", "earlytxid"];

/// The comment written above a top-level `addnode` the import adds.
const SEEDS_COMMENT: &str =
    "# Seeds common to every imported chain; each chain's own seeds come first.\n";

/// One chain as upstream lists it.
#[derive(Debug, Clone)]
struct Entry {
    /// The key under `chains:`: the datadir when it differs from the ac_name
    /// (GLEEC_OLD), else the ac_name.
    key: String,
    ac_name: String,
    /// The directory under ~/.komodo, when upstream gives `-datadir`.
    datadir: Option<String>,
    /// `-ac_*` parameters in upstream's order, as komodod reads them.
    params: Vec<(&'static acparams::Param, String)>,
    seeds: Vec<String>,
    args: Vec<String>,
}

impl Entry {
    fn dir(&self) -> &str {
        self.datadir.as_deref().unwrap_or(&self.ac_name)
    }
}

/// Imports upstream's `list` (read from `list_path`) into `base` (the
/// operator's YAML and its path), or into `TEMPLATE` without one.
pub fn import(
    list_path: &Path,
    list: &str,
    base: Option<(&Path, &str)>,
) -> Result<Import, ConfigError> {
    let mut notes = Vec::new();
    let entries = read_list(list_path, list, &mut notes)?;
    let (base_path, base_text) = base.unwrap_or((Path::new("(template)"), TEMPLATE));
    let config = super::parse(base_path, base_text)?;
    // The validation above has parsed this text once: it parses.
    let root = yaml::parse(base_text)
        .map_err(|e| content(base_path, base_text, e.pos, None, e.message))?;
    let list_name = list_path.file_name().map_or_else(
        || list_path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let merged = Merge {
        base_path,
        base_text,
        root: &root,
        chains: &config.chains,
        entries: &entries,
        report: base.is_some(),
        list_name: &list_name,
    }
    .run(&mut notes)?;
    // What is printed must pass `check`: a combination komodod refuses, or
    // two upstream chains on one port, is an error here and not in a
    // container's restart loop.
    super::parse(Path::new("(imported YAML)"), &merged).map_err(|mut e| {
        e.message = format!("the imported YAML would not pass `check`: {}", e.message);
        e
    })?;
    Ok(Import {
        yaml: merged,
        notes,
    })
}

fn content(file: &Path, text: &str, pos: Pos, chain: Option<&str>, message: String) -> ConfigError {
    ConfigError {
        file: file.to_owned(),
        pos: Some(pos),
        field: chain.map(|c| format!("chain {c}")),
        message,
        source_line: (pos.line > 0)
            .then(|| text.lines().nth(pos.line as usize - 1))
            .flatten()
            .map(str::to_owned),
    }
}

/// Reads upstream's list: a JSON array of chain objects (assetchains.json),
/// or an object of them keyed by ac_name (ac.json).
fn read_list(path: &Path, text: &str, notes: &mut Vec<String>) -> Result<Vec<Entry>, ConfigError> {
    let err =
        |pos: Pos, chain: Option<&str>, message: String| content(path, text, pos, chain, message);
    let root = yaml::parse(text).map_err(|e| err(e.pos, None, e.message))?;
    let mut objects: Vec<(Option<String>, &Node)> = Vec::new();
    match &root.value {
        Value::Seq(items) => objects.extend(items.iter().map(|n| (None, n))),
        Value::Map(entries) => {
            objects.extend(entries.iter().map(|(k, n)| (Some(k.name.clone()), n)))
        }
        other => {
            return Err(err(
                root.pos,
                None,
                format!(
                    "expected a JSON list of chains (assetchains.json) or an object of them (ac.json), found {}",
                    other.kind()
                ),
            ));
        }
    }
    if objects.is_empty() {
        return Err(err(root.pos, None, "lists no chain".to_owned()));
    }
    let mut entries: Vec<Entry> = Vec::new();
    for (key, node) in objects {
        let Value::Map(members) = &node.value else {
            return Err(err(
                node.pos,
                key.as_deref(),
                format!("expected a chain object, found {}", node.value.kind()),
            ));
        };
        let ac_name = match members.iter().find(|(k, _)| k.name == "ac_name") {
            Some((_, v)) => match &v.value {
                Value::Str(s) => s.clone(),
                other => {
                    return Err(err(
                        v.pos,
                        key.as_deref(),
                        format!("`ac_name` is {}, expected a string", other.kind()),
                    ));
                }
            },
            None => match &key {
                Some(k) => k.clone(),
                None => return Err(err(node.pos, None, "a chain without `ac_name`".to_owned())),
            },
        };
        if !super::is_name(&ac_name) {
            return Err(err(
                node.pos,
                None,
                format!(
                    "`{}` is not a chain name komodod and dokomodo accept",
                    ac_name.escape_debug()
                ),
            ));
        }
        let name = ac_name.as_str();
        let mut entry = Entry {
            key: ac_name.clone(),
            ac_name: ac_name.clone(),
            datadir: None,
            params: Vec::new(),
            seeds: Vec::new(),
            args: Vec::new(),
        };
        for (k, v) in members {
            let scalar = || match &v.value {
                Value::Str(s) => Ok(s.clone()),
                Value::Int(i) => Ok(i.to_string()),
                other => Err(err(
                    v.pos,
                    Some(name),
                    format!(
                        "`{}` is {}, expected a string or a number",
                        k.name,
                        other.kind()
                    ),
                )),
            };
            match k.name.as_str() {
                "ac_name" => {}
                n if n.starts_with("ac_") => {
                    let Some(param) = acparams::lookup(n) else {
                        return Err(err(
                            k.pos,
                            Some(name),
                            format!("`{n}` is not an -ac_* parameter komodod knows (it would ignore it silently and start another chain)"),
                        ));
                    };
                    let value = scalar()?;
                    acparams::check(param, &value).map_err(|expected| {
                        err(v.pos, Some(name), format!("{n} `{}` is not valid: expected {expected}", value.escape_debug()))
                    })?;
                    entry.params.push((param, value));
                }
                "addnode" => {
                    let Value::Seq(items) = &v.value else {
                        return Err(err(v.pos, Some(name), format!("`addnode` is {}, expected a list", v.value.kind())));
                    };
                    for item in items {
                        match &item.value {
                            Value::Str(s) if !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                                // Upstream repeats seeds (NINJA lists two twice); komodod needs one each.
                                if !entry.seeds.contains(s) {
                                    entry.seeds.push(s.clone());
                                }
                            }
                            _ => return Err(err(item.pos, Some(name), "a seed is not a host or IP address".to_owned())),
                        }
                    }
                }
                "datadir" => {
                    let value = scalar()?;
                    let dir = ["${HOME}/.komodo/", "$HOME/.komodo/", "~/.komodo/"]
                        .iter()
                        .find_map(|prefix| value.strip_prefix(prefix))
                        .map(|d| d.trim_end_matches('/'))
                        .filter(|d| super::is_name(d));
                    let Some(dir) = dir else {
                        return Err(err(
                            v.pos,
                            Some(name),
                            format!("datadir `{}` is not a directory directly under ~/.komodo, where dokomodo keeps every chain", value.escape_debug()),
                        ));
                    };
                    if dir != ac_name {
                        entry.key = dir.to_owned();
                        entry.datadir = Some(dir.to_owned());
                    }
                }
                n if FLAGS.contains(&n) => {
                    let value = scalar()?;
                    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        return Err(err(v.pos, Some(name), format!("`{n}` has a value komodod cannot take as a flag")));
                    }
                    entry.args.push(format!("-{n}={value}"));
                }
                other => notes.push(format!(
                    "{}: chain {name}: `{}` is not imported (not a chain parameter dokomodo knows); add it to the chain's `args` if komodod needs it",
                    path.display(),
                    other.escape_debug()
                )),
            }
        }
        if let Some(first) = entries.iter().find(|e| e.key == entry.key) {
            let why = if first.ac_name == entry.ac_name {
                " (two chains with one ac_name need different datadirs)"
            } else {
                ""
            };
            return Err(err(
                node.pos,
                Some(name),
                format!("chain {} is listed twice{why}", entry.key),
            ));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Whether a base chain is one of upstream's assetchains, which the import
/// owns, or another coin the notary runs (KMD, LTC), which it keeps as is.
fn is_assetchain(chain: &Chain) -> bool {
    chain.is_assetchain()
}

/// The seeds every entry lists, in the first entry's order.
fn common_seeds(entries: &[Entry]) -> Vec<String> {
    entries[0]
        .seeds
        .iter()
        .filter(|s| entries.iter().all(|e| e.seeds.contains(s)))
        .cloned()
        .collect()
}

struct Merge<'a> {
    base_path: &'a Path,
    base_text: &'a str,
    root: &'a Node,
    chains: &'a [Chain],
    entries: &'a [Entry],
    /// Whether the base is the operator's (drops and additions are news).
    report: bool,
    list_name: &'a str,
}

/// One chain as it will be written: comments above its key, a comment on
/// its key's line, and its keys with their values as YAML text.
struct OutChain {
    comments: Vec<String>,
    trailing: Option<String>,
    name: String,
    keys: Vec<(String, String)>,
}

impl Merge<'_> {
    fn run(&self, notes: &mut Vec<String>) -> Result<String, ConfigError> {
        let Value::Map(top) = &self.root.value else {
            unreachable!("a valid config is a mapping");
        };
        let lines: Vec<&str> = self.base_text.lines().collect();
        // Each top-level key's text runs from its line to the next key's; the
        // keys must each start a line, in order, so the text can be kept.
        let mut starts = Vec::with_capacity(top.len());
        for (key, _) in top {
            let line = key.pos.line as usize;
            if key.pos.column != 1 || starts.last().is_some_and(|&(l, _)| l >= line) {
                return Err(content(
                    self.base_path,
                    self.base_text,
                    key.pos,
                    None,
                    "import keeps the base YAML's text: write its top level as a block mapping, one key per line".to_owned(),
                ));
            }
            starts.push((line, key.name.as_str()));
        }
        let common = common_seeds(self.entries);
        let chains_node = top.iter().find(|(k, _)| k.name == "chains").map(|(_, n)| n);
        let old_top_seeds = top
            .iter()
            .find(|(k, _)| k.name == "addnode")
            .map(|(_, n)| strings(n))
            .unwrap_or_default();
        let chains_block = self.chains_block(chains_node, &common, &old_top_seeds, notes)?;
        let seeds_line = format!("addnode: {}\n", flow_list(&common));

        let mut out = String::new();
        let first_key_line = starts.first().map_or(lines.len() + 1, |s| s.0);
        for line in &lines[..first_key_line - 1] {
            out.push_str(line);
            out.push('\n');
        }
        for (i, &(line, name)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(lines.len() + 1, |s| s.0);
            let segment = &lines[line - 1..end - 1];
            // Comments and blank lines at the end of a segment belong to
            // what follows; they stay where they are.
            let body_len = segment.len()
                - segment
                    .iter()
                    .rev()
                    .take_while(|l| l.trim().is_empty() || l.starts_with('#'))
                    .count();
            match name {
                "addnode" => out.push_str(&seeds_line),
                "chains" => {
                    if !common.is_empty()
                        && old_top_seeds.is_empty()
                        && !starts.iter().any(|s| s.1 == "addnode")
                    {
                        out.push_str(SEEDS_COMMENT);
                        out.push_str(&seeds_line);
                        out.push('\n');
                    }
                    out.push_str(&chains_block);
                }
                _ => {
                    for l in &segment[..body_len] {
                        out.push_str(l);
                        out.push('\n');
                    }
                }
            }
            for l in &segment[body_len..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        Ok(out)
    }

    fn chains_block(
        &self,
        chains_node: Option<&Node>,
        common: &[String],
        old_top_seeds: &[String],
        notes: &mut Vec<String>,
    ) -> Result<String, ConfigError> {
        let base_entries: &[(yaml::Key, Node)] = match chains_node.map(|n| &n.value) {
            Some(Value::Map(entries)) => entries,
            _ => &[],
        };
        let lines: Vec<&str> = self.base_text.lines().collect();
        let mut out_chains = Vec::new();
        let mut matched = vec![false; self.entries.len()];
        let mut dropped = Vec::new();
        for (chain, (key, node)) in self.chains.iter().zip(base_entries) {
            let own = match &node.value {
                Value::Map(m) => m.as_slice(),
                _ => &[],
            };
            let own_seeds = own
                .iter()
                .find(|(k, _)| k.name == "addnode")
                .map(|(_, n)| strings(n))
                .unwrap_or_default();
            let (comments, trailing) = comments_of(&lines, key.pos);
            let mut out = OutChain {
                comments,
                trailing,
                name: chain.name.clone(),
                keys: Vec::new(),
            };
            if !is_assetchain(chain) {
                // Kept as written; its seeds are what they were, now that the
                // top-level list is the upstream chains' common one.
                // A coin (LTC) never took the top-level seeds: they are Komodo's.
                let mut seeds = own_seeds.clone();
                for s in old_top_seeds.iter().filter(|_| chain.coin.is_none()) {
                    if !seeds.contains(s) && !common.contains(s) {
                        seeds.push(s.clone());
                    }
                }
                for (k, v) in own {
                    if k.name == "addnode" {
                        continue;
                    }
                    out.keys.push((k.name.clone(), flow(v)));
                }
                if !seeds.is_empty() {
                    let at = own
                        .iter()
                        .position(|(k, _)| k.name == "addnode")
                        .unwrap_or(out.keys.len());
                    out.keys.insert(
                        at.min(out.keys.len()),
                        ("addnode".to_owned(), flow_list(&seeds)),
                    );
                }
                out_chains.push(out);
                continue;
            }
            let dir = chain.datadir.as_deref().unwrap_or(&chain.ac_name);
            let Some(index) = self
                .entries
                .iter()
                .position(|e| e.ac_name == chain.ac_name && e.dir() == dir)
            else {
                dropped.push(chain.name.clone());
                continue;
            };
            matched[index] = true;
            let entry = &self.entries[index];
            let changes = param_changes(chain, entry);
            if !changes.is_empty() {
                notes.push(format!(
                    "chain {}: -ac_* parameters changed: {}",
                    chain.name,
                    changes.join(", ")
                ));
            }
            // The operator's own seeds stay, unless the chain changed: a
            // chain with other parameters is another network.
            let mut extra: Vec<String> = own_seeds
                .iter()
                .filter(|s| !entry.seeds.contains(s))
                .cloned()
                .collect();
            if !extra.is_empty() {
                let what = if changes.is_empty() {
                    "kept its own seeds that"
                } else {
                    "dropped its own seeds (they served the old parameters) that"
                };
                notes.push(format!(
                    "chain {}: {what} {} does not list: {}",
                    chain.name,
                    self.list_name,
                    extra.join(", ")
                ));
                if !changes.is_empty() {
                    extra.clear();
                }
            }
            // The base chain's own keys stay; identity, seeds and upstream's
            // flags come from upstream.
            let mut rest = Vec::new();
            let mut args = strings_of(own, "args");
            for (k, v) in own {
                match k.name.as_str() {
                    "ac_name" | "datadir" | "addnode" | "args" | "<<" => {}
                    n if n.starts_with("ac_") => {}
                    "p2p_port" | "rpc_port" => {
                        let derived = super::ports::derive(
                            &entry.ac_name,
                            &entry
                                .params
                                .iter()
                                .map(|(p, v)| (p.name.to_owned(), v.clone()))
                                .collect(),
                        );
                        let port = if k.name == "p2p_port" {
                            chain.p2p_override.unwrap_or(derived.p2p)
                        } else {
                            chain.rpc_override.unwrap_or(derived.rpc)
                        };
                        if matches!(v.value, Value::Int(i) if i == i128::from(port)) {
                            rest.push((k.name.clone(), flow(v)));
                        } else {
                            notes.push(format!(
                                "chain {}: dropped `{}: {}`: komodod derives {port} from {}'s parameters",
                                chain.name,
                                k.name,
                                flow(v),
                                self.list_name
                            ));
                        }
                    }
                    _ => rest.push((k.name.clone(), flow(v))),
                }
            }
            for flag in &entry.args {
                let name = flag.split('=').next().unwrap_or(flag);
                match args.iter().position(|a| a.split('=').next() == Some(name)) {
                    Some(i) if &args[i] != flag => {
                        notes.push(format!(
                            "chain {}: args: {} replaces {}",
                            chain.name, flag, args[i]
                        ));
                        args[i] = flag.clone();
                    }
                    Some(_) => {}
                    None => args.push(flag.clone()),
                }
            }
            let mut seeds: Vec<String> = entry
                .seeds
                .iter()
                .filter(|s| !common.contains(s))
                .cloned()
                .collect();
            seeds.extend(extra);
            out.keys = self.identity(&chain.name, entry, chain.datadir.as_deref(), &seeds);
            out.keys.extend(rest);
            if !args.is_empty() {
                out.keys.push(("args".to_owned(), flow_list(&args)));
            }
            out_chains.push(out);
        }
        let mut added = Vec::new();
        for (entry, _) in self.entries.iter().zip(&matched).filter(|(_, m)| !**m) {
            if let Some(clash) = out_chains.iter().find(|c| c.name == entry.key) {
                return Err(content(
                    self.base_path,
                    self.base_text,
                    Pos::default(),
                    Some(&clash.name),
                    format!(
                        "{} lists a chain {} with another ac_name or datadir than the base's; rename the base's chain",
                        self.list_name, entry.key
                    ),
                ));
            }
            let seeds: Vec<String> = entry
                .seeds
                .iter()
                .filter(|s| !common.contains(s))
                .cloned()
                .collect();
            let mut keys = self.identity(&entry.key, entry, None, &seeds);
            if !entry.args.is_empty() {
                keys.push(("args".to_owned(), flow_list(&entry.args)));
            }
            added.push(entry.key.clone());
            out_chains.push(OutChain {
                comments: Vec::new(),
                trailing: None,
                name: entry.key.clone(),
                keys,
            });
        }
        if self.report {
            if !dropped.is_empty() {
                notes.push(format!(
                    "dropped {} chain(s) no longer in {}: {}",
                    dropped.len(),
                    self.list_name,
                    dropped.join(", ")
                ));
            }
            if !added.is_empty() {
                notes.push(format!(
                    "added {} chain(s) new in {}: {}",
                    added.len(),
                    self.list_name,
                    added.join(", ")
                ));
            }
        }
        let mut out = String::from("chains:\n");
        for (i, chain) in out_chains.iter().enumerate() {
            if i > 0 && !chain.comments.is_empty() {
                out.push('\n');
            }
            for c in &chain.comments {
                out.push_str("  ");
                out.push_str(c);
                out.push('\n');
            }
            out.push_str("  ");
            out.push_str(&key_text(&chain.name));
            out.push(':');
            if chain.keys.is_empty() {
                out.push_str(" {}");
            }
            if let Some(c) = &chain.trailing {
                out.push_str("  ");
                out.push_str(c);
            }
            out.push('\n');
            for (k, v) in &chain.keys {
                out.push_str("    ");
                out.push_str(&key_text(k));
                out.push_str(": ");
                out.push_str(v);
                out.push('\n');
            }
        }
        Ok(out)
    }

    /// A chain's identity and seeds, as written under its key.
    fn identity(
        &self,
        name: &str,
        entry: &Entry,
        base_dir: Option<&str>,
        seeds: &[String],
    ) -> Vec<(String, String)> {
        let mut keys = Vec::new();
        if name != entry.ac_name {
            keys.push(("ac_name".to_owned(), scalar(&entry.ac_name)));
        }
        let dir = entry
            .datadir
            .as_deref()
            .or(base_dir)
            .filter(|d| *d != entry.ac_name);
        if let Some(dir) = dir {
            keys.push(("datadir".to_owned(), scalar(dir)));
        }
        for (param, value) in &entry.params {
            let text = match param.kind {
                Kind::Int if value.parse::<i64>().is_ok() => value.clone(),
                Kind::IntList => format!("[{}]", value.split(',').collect::<Vec<_>>().join(", ")),
                _ => scalar(value),
            };
            keys.push((param.name.to_owned(), text));
        }
        if !seeds.is_empty() {
            keys.push(("addnode".to_owned(), flow_list(seeds)));
        }
        keys
    }
}

/// What differs between a base chain's parameters and upstream's.
fn param_changes(chain: &Chain, entry: &Entry) -> Vec<String> {
    let new: BTreeMap<&str, &str> = entry
        .params
        .iter()
        .map(|(p, v)| (p.name, v.as_str()))
        .collect();
    let mut changes = Vec::new();
    for (name, old) in &chain.params {
        match new.get(name.as_str()) {
            None => changes.push(format!("{name} {old} removed")),
            Some(v) if v != old => changes.push(format!("{name} {old} -> {v}")),
            Some(_) => {}
        }
    }
    for (name, v) in &new {
        if !chain.params.contains_key(*name) {
            changes.push(format!("{name} {v} added"));
        }
    }
    changes
}

/// The comment lines directly above a chain's key (up to a blank or other
/// line), and the comment after it on its line.
fn comments_of(lines: &[&str], pos: Pos) -> (Vec<String>, Option<String>) {
    let Some(index) = (pos.line as usize).checked_sub(1) else {
        return (Vec::new(), None);
    };
    let mut above = Vec::new();
    for line in lines[..index.min(lines.len())].iter().rev() {
        let t = line.trim_start();
        if !t.starts_with('#') {
            break;
        }
        above.push(t.trim_end().to_owned());
    }
    above.reverse();
    let trailing = lines.get(index).and_then(|l| trailing_comment(l));
    (above, trailing)
}

/// The `# comment` ending a line, outside quotes.
fn trailing_comment(line: &str) -> Option<String> {
    let mut quote = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') if previous.is_whitespace() => {
                return Some(line[i..].trim_end().to_owned());
            }
            _ => {}
        }
        previous = c;
    }
    None
}

fn strings(node: &Node) -> Vec<String> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .filter_map(|n| match &n.value {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn strings_of(map: &[(yaml::Key, Node)], key: &str) -> Vec<String> {
    map.iter()
        .find(|(k, _)| k.name == key)
        .map(|(_, n)| strings(n))
        .unwrap_or_default()
}

fn flow_list(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| scalar(s)).collect();
    format!("[{}]", parts.join(", "))
}

/// A value in flow style, as our parser reads it back.
fn flow(node: &Node) -> String {
    match &node.value {
        Value::Null => "~".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Str(s) => scalar(s),
        Value::Seq(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", key_text(&k.name), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A string as a plain scalar when it reads back as the same string in a
/// flow list, else double-quoted.
fn scalar(s: &str) -> String {
    let plain = yaml::parse(&format!("[{s}]"))
        .ok()
        .is_some_and(|n| matches!(&n.value, Value::Seq(items) if items.len() == 1 && matches!(&items[0].value, Value::Str(t) if t == s)));
    if plain { s.to_owned() } else { quoted(s) }
}

fn key_text(s: &str) -> String {
    let plain = yaml::parse(&format!("{s}: 1"))
        .ok()
        .is_some_and(|n| matches!(&n.value, Value::Map(m) if m.len() == 1 && m[0].0.name == s));
    if plain { s.to_owned() } else { quoted(s) }
}

fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"[
  {"ac_name": "AAA", "ac_supply": "1000", "ac_end": "1", "addnode": ["1.1.1.1", "2.2.2.2", "3.3.3.3"]},
  {"ac_name": "BBB", "ac_supply": "2000", "addressindex": "1", "addnode": ["2.2.2.2", "1.1.1.1"]},
  {"ac_name": "AAA", "ac_supply": "5000", "datadir": "${HOME}/.komodo/AAA_OLD", "addnode": ["1.1.1.1", "2.2.2.2"]}
]"#;

    fn run(list: &str, base: Option<&str>) -> Result<Import, ConfigError> {
        import(
            Path::new("list.json"),
            list,
            base.map(|b| (Path::new("base.yaml"), b)),
        )
    }

    #[test]
    fn import_without_a_base_uses_the_template() {
        let out = run(LIST, None).unwrap();
        let expected = TEMPLATE.replace(
            "chains:\n",
            "# Seeds common to every imported chain; each chain's own seeds come first.\n\
             addnode: [1.1.1.1, 2.2.2.2]\n\nchains:\n",
        ) + "  AAA:\n    ac_supply: 1000\n    ac_end: [1]\n    addnode: [3.3.3.3]\n\
             \x20 BBB:\n    ac_supply: 2000\n    args: [-addressindex=1]\n\
             \x20 AAA_OLD:\n    ac_name: AAA\n    datadir: AAA_OLD\n    ac_supply: 5000\n";
        assert_eq!(out.yaml, expected);
        assert!(out.notes.is_empty(), "{:?}", out.notes);
    }

    #[test]
    fn import_twice_is_the_same() {
        let once = run(LIST, None).unwrap().yaml;
        let twice = run(LIST, Some(&once)).unwrap();
        assert_eq!(twice.yaml, once);
        assert!(twice.notes.is_empty(), "{:?}", twice.notes);
    }

    #[test]
    fn import_keeps_the_base_and_reports_drops() {
        let base = "\
# my notary
pubkey: 02aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
addnode: [9.9.9.9]
rpc: {allow: [10.0.0.0/8]}
chains:
  KMD: {}   # the main chain
  LTC: {}
  # gone
  OLD: {ac_supply: 7}
  bbb:   # mine
    ac_name: BBB
    ac_supply: 2000
    host: 127.0.0.1
    addnode: [8.8.8.8]
    args: [-addressindex=0]
  AAA: {ac_supply: 999, addnode: [7.7.7.7]}
user: komodo
";
        let out = run(LIST, Some(base)).unwrap();
        assert_eq!(
            out.yaml,
            "\
# my notary
pubkey: 02aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
addnode: [1.1.1.1, 2.2.2.2]
rpc: {allow: [10.0.0.0/8]}
chains:
  KMD:  # the main chain
    addnode: [9.9.9.9]
  LTC: {}
  bbb:  # mine
    ac_name: BBB
    ac_supply: 2000
    addnode: [8.8.8.8]
    host: 127.0.0.1
    args: [-addressindex=1]
  AAA:
    ac_supply: 1000
    ac_end: [1]
    addnode: [3.3.3.3]
  AAA_OLD:
    ac_name: AAA
    datadir: AAA_OLD
    ac_supply: 5000
user: komodo
"
        );
        assert_eq!(
            out.notes,
            [
                "chain bbb: kept its own seeds that list.json does not list: 8.8.8.8",
                "chain bbb: args: -addressindex=1 replaces -addressindex=0",
                "chain AAA: -ac_* parameters changed: ac_supply 999 -> 1000, ac_end 1 added",
                "chain AAA: dropped its own seeds (they served the old parameters) that list.json does not list: 7.7.7.7",
                "dropped 1 chain(s) no longer in list.json: OLD",
                "added 1 chain(s) new in list.json: AAA_OLD",
            ]
        );
        assert_eq!(run(LIST, Some(&out.yaml)).unwrap().yaml, out.yaml);
    }

    #[test]
    fn import_refuses_an_unknown_ac_parameter() {
        let err = run("[{\"ac_name\": \"ZZZ\",\n  \"ac_suply\": \"5\"}]", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "list.json:2:3: chain ZZZ: `ac_suply` is not an -ac_* parameter komodod knows \
             (it would ignore it silently and start another chain)"
        );
    }

    #[test]
    fn import_reports_flags_it_does_not_know() {
        let out = run(
            r#"[{"ac_name": "ZZZ", "ac_supply": "5", "gen": "1"}]"#,
            None,
        )
        .unwrap();
        assert_eq!(
            out.notes,
            [
                "list.json: chain ZZZ: `gen` is not imported (not a chain parameter dokomodo knows); add it to the chain's `args` if komodod needs it"
            ]
        );
    }

    #[test]
    fn import_reads_an_object_keyed_by_name() {
        let out = run(r#"{"ZZZ": {"ac_supply": "5"}}"#, None).unwrap();
        assert!(
            out.yaml.ends_with("  KMD: {}\n  ZZZ:\n    ac_supply: 5\n"),
            "{}",
            out.yaml
        );
    }

    #[test]
    fn import_quotes_what_would_not_read_back() {
        assert_eq!(scalar("1.2.3.4"), "1.2.3.4");
        assert_eq!(scalar("-earlytxid=ab"), "-earlytxid=ab");
        assert_eq!(scalar("0123"), "\"0123\"");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("a, b"), "\"a, b\"");
        assert_eq!(
            trailing_comment("  A: {x: '#'}  # c"),
            Some("# c".to_owned())
        );
    }
}
