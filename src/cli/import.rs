//! `dokomodo import PATH`: upstream's list of assetchains as a notary YAML,
//! merged into `--config`'s YAML when one is given (`config::import`).

use std::path::PathBuf;

use lexopt::prelude::*;

use super::{Global, Result, print};
use crate::config::{self, import};
use crate::error::Error;

pub(super) const USAGE: &str = "\
Usage: dokomodo [--config PATH] import LIST.json

Prints a notary YAML with the chains of upstream's list: dPoW's
iguana/assetchains.json, komodo's src/assetchains.json (or its ac.json).
With --config, that YAML is the base: its top-level keys, comments, KMD and
other non-assetchain coins, and each kept chain's own keys (host, overrides,
args, extra seeds) stay; assetchains no longer listed are dropped, new ones
added, and both are named on stderr. Without it, a template with KMD and the
keys to edit. Nothing is written: redirect stdout (not onto the base itself).
Exit 0 ok, 64 usage, 74 LIST unreadable, 78 bad content (an unknown -ac_*
parameter, a base that fails `check`, a result that would fail it).
";

pub(super) fn command(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let mut list = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return print(USAGE),
            Long("config") => global.config = Some(parser.value()?.into()),
            Value(path) if list.is_none() => list = Some(PathBuf::from(path)),
            other => return Err(other.unexpected().into()),
        }
    }
    let Some(list) = list else {
        return Err(Error::Usage {
            message: "import needs the path of an assetchains.json".to_owned(),
            help: "dokomodo import --help",
        });
    };
    let text = read(&list)?;
    // Only an explicit --config is a base: an import from a shell that has
    // DOKOMODO_CONFIG set for other commands still starts from the template
    // unless asked.
    let base = match &global.config {
        Some(path) => {
            // `load` reads and checks it with the messages every command gives.
            config::load(path)?;
            Some((path.clone(), read(path)?))
        }
        None => None,
    };
    let result = import::import(
        &list,
        &text,
        base.as_ref().map(|(p, t)| (p.as_path(), t.as_str())),
    )?;
    for note in &result.notes {
        info!("{note}");
    }
    print(&result.yaml)
}

fn read(path: &std::path::Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::Io(format!(
            "{}: cannot read: {}",
            path.display(),
            crate::describe_io(&e)
        ))
    })?;
    if bytes.len() as u64 > config::MAX_SIZE {
        return Err(Error::Config(not_a_list(
            path,
            format!(
                "is larger than {} MiB; not a list of chains",
                config::MAX_SIZE >> 20
            ),
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::Config(not_a_list(path, "the file is not UTF-8 text".to_owned())))
}

fn not_a_list(path: &std::path::Path, message: String) -> config::ConfigError {
    config::ConfigError {
        file: path.to_owned(),
        pos: None,
        field: None,
        message,
        source_line: None,
    }
}
