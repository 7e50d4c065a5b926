//! Every case of the official YAML test suite (yaml-test-suite, checked out
//! at `../shared/upstream/yaml-test-suite` beside the clone) against
//! src/yaml.rs. A case is a folder (some have numbered sub-folders) with an
//! `in.yaml`, and either an `error` file, or the expected value as JSON in
//! `in.json` (one JSON text per YAML document; none when the value cannot be
//! written in JSON, such as a mapping with a null or a list as a key):
//!
//! - an `error` case must be refused;
//! - a valid case must be read to exactly the value of its `in.json`, or be
//!   refused with a message that names one of the refusals README.md ("YAML
//!   syntax") documents (`REFUSALS`);
//! - a valid case without `in.json` is compared, the same way, with the
//!   value its `test.event` (the parse events) describes, when that value
//!   has only scalar keys (`from_events`).
//!
//! "Exactly" is as YAML values compare, with the README's resolution of
//! plain scalars (`Resolution`). Nothing is skipped, and a folder that cannot
//! be read fails the test. The summary is printed with
//! `cargo test --test yaml_suite -- --nocapture`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use dokomodo::config::yaml::{self, Node, Value};
use serde_json::Value as Json;

/// Where the suite is: beside the clone (so in CI too).
const SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/upstream/yaml-test-suite"
);

/// The refusals README.md ("YAML syntax") documents: its words, and a phrase
/// of the parser's error message that names it. A valid case refused with
/// any other message fails the test.
const REFUSALS: &[(&str, &str)] = &[
    ("tags", "YAML tags like"),
    (
        "directives",
        "YAML directives (`%YAML`, `%TAG`) are not supported",
    ),
    (
        "a second document",
        "a second YAML document (`---`) is not supported",
    ),
    // After `...`, YAML starts another document.
    (
        "a second document",
        "text after the end-of-document marker `...`",
    ),
    (
        "`? ` complex keys",
        "complex mapping keys (`? `) are not supported",
    ),
    (
        "an empty or null key",
        "a mapping entry without a key before its `:`",
    ),
    ("an empty or null key", "is null, not a name"),
    (
        "an empty or null key",
        "an empty (null) mapping key is not supported",
    ),
    (
        "an alias as a key",
        "an alias (`*name`) as a mapping key is not supported",
    ),
    ("a list as a key", "keys must be plain strings"),
    ("a key written twice", "duplicate key"),
    ("tabs in indentation", "a tab indents this line"),
    ("tabs in indentation", "a tab before a nested list item"),
    (
        "a line in brackets or quotes not indented deeper than its block",
        "indent it deeper than the block around",
    ),
    (
        "`.inf`, `.nan` and numbers too large for a float",
        "this number is infinite or not a number",
    ),
    (
        "a merge of anything but mappings",
        "a merge key (`<<`) takes a mapping or a list of mappings",
    ),
    (
        "keys longer than 1024 characters",
        "a key longer than 1024 characters",
    ),
    (
        "nesting deeper than 64 levels",
        "nesting deeper than 64 levels",
    ),
    ("more than 250,000 values", "YAML nodes"),
    (
        "more than 4 MiB of text copied by aliases",
        "too much text once aliases",
    ),
];

#[test]
fn every_case_of_the_yaml_test_suite() {
    let suite = Path::new(SUITE);
    assert!(
        suite.is_dir(),
        "the YAML test suite is not at {}: clone https://github.com/yaml/yaml-test-suite \
         (its `data` branch: a folder per case with in.yaml) there",
        suite.display()
    );
    let cases = cases(suite);
    assert!(
        cases.len() > 300,
        "only {} cases under {}: is the checkout complete?",
        cases.len(),
        suite.display()
    );
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        match run(suite, case) {
            Ok(outcome) => *outcomes.entry(outcome).or_default() += 1,
            Err(failure) => failures.push(failure),
        }
    }
    let mut summary = format!("YAML test suite: {} cases\n", cases.len());
    for (outcome, count) in &outcomes {
        let _ = writeln!(summary, "  {count:4}  {outcome}");
    }
    let _ = writeln!(summary, "  {:4}  FAILED", failures.len());
    println!("{summary}");
    assert!(
        failures.is_empty(),
        "{summary}\n{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The folders holding an `in.yaml`, sorted.
fn cases(suite: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![suite.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() && !name.starts_with('.') {
                stack.push(path);
            } else if name == "in.yaml" {
                found.push(dir.clone());
            }
        }
    }
    found.sort();
    found
}

/// Runs one case: the outcome to count, or why it failed.
fn run(suite: &Path, dir: &Path) -> Result<String, String> {
    let id = dir.strip_prefix(suite).unwrap_or(dir).display().to_string();
    let title = std::fs::read_to_string(dir.join("===")).unwrap_or_default();
    let fail = |why: String| Err(format!("{id} ({}): {why}", title.trim()));
    let bytes = std::fs::read(dir.join("in.yaml"))
        .unwrap_or_else(|err| panic!("cannot read {id}/in.yaml: {err}"));
    // dokomodo reads its config as UTF-8 text (config.rs): other bytes are
    // refused before the parser sees them.
    let parsed = match String::from_utf8(bytes) {
        Ok(text) => yaml::parse(&text).map_err(|err| err.message),
        Err(_) => Err("not UTF-8".to_owned()),
    };
    if dir.join("error").exists() {
        return match parsed {
            Err(_) => Ok("error case, refused".to_owned()),
            Ok(node) => fail(format!("an error case, accepted as {}", show(&node))),
        };
    }
    let expected = match std::fs::read_to_string(dir.join("in.json")) {
        Ok(json) => Some(
            serde_json::Deserializer::from_str(&json)
                .into_iter::<Json>()
                .collect::<Result<Vec<_>, _>>()
                .unwrap_or_else(|err| panic!("{id}/in.json: {err}")),
        ),
        Err(_) => None,
    };
    let node = match parsed {
        Err(message) => {
            return match REFUSALS.iter().find(|(_, phrase)| message.contains(phrase)) {
                Some((reason, _)) => Ok(format!("refused: {reason}")),
                None => fail(format!(
                    "refused for a reason the README does not list: {message}"
                )),
            };
        }
        Ok(node) => node,
    };
    let (documents, source) = match expected {
        Some(documents) => (documents, ""),
        None => {
            let events = std::fs::read_to_string(dir.join("test.event"))
                .unwrap_or_else(|err| panic!("cannot read {id}/test.event: {err}"));
            match from_events(&events) {
                Some(documents) => (documents, " (from test.event)"),
                None => {
                    return fail(format!(
                        "accepted as {}, but the case's value has a collection as a key: nothing to compare with",
                        show(&node)
                    ));
                }
            }
        }
    };
    let resolution = match documents.as_slice() {
        // No document at all: the parser reads an empty text as null.
        [] if matches!(node.value, Value::Null) => Resolution::Exact,
        [] => return fail(format!("no document, but read as {}", show(&node))),
        [document] => compare(document, &node),
        _ => {
            return fail(format!(
                "{} documents, but read as one: {}",
                documents.len(),
                show(&node)
            ));
        }
    };
    match resolution {
        Resolution::Exact => Ok(format!("read exactly{source}")),
        Resolution::Plain => Ok(format!(
            "read exactly, with the README's plain scalars{source}"
        )),
        Resolution::Differs(why) => fail(format!(
            "read as {}, expected {}: {why}",
            show(&node),
            serde_json::to_string(&documents[0]).unwrap_or_default()
        )),
    }
}

/// How a tree compares with the expected JSON value.
enum Resolution {
    Exact,
    /// Equal but for plain scalars the suite (YAML 1.2's core schema) reads
    /// as strings and the README as booleans or numbers (`yes`, `on`,
    /// `1_000`): each such string, read on its own, is the value in the
    /// tree.
    Plain,
    Differs(String),
}

fn compare(expected: &Json, node: &Node) -> Resolution {
    let differs = |why: &str| Resolution::Differs(why.to_owned());
    match (expected, &node.value) {
        (Json::Null, Value::Null) => Resolution::Exact,
        (Json::Bool(a), Value::Bool(b)) if a == b => Resolution::Exact,
        (Json::Number(n), Value::Int(i)) if n.as_i64().map(i128::from) == Some(*i) => {
            Resolution::Exact
        }
        (Json::Number(n), Value::Int(i)) if n.as_u64().map(i128::from) == Some(*i) => {
            Resolution::Exact
        }
        (Json::Number(n), Value::Float(f)) if n.as_f64() == Some(*f) => Resolution::Exact,
        (Json::String(a), Value::Str(b)) if a == b => Resolution::Exact,
        (
            Json::String(text),
            scalar @ (Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_)),
        ) => {
            // The README's resolution of the same plain scalar.
            match yaml::parse(text) {
                Ok(alone) if same_scalar(&alone.value, scalar) => Resolution::Plain,
                _ => differs(&format!("the string {text:?} is read as {}", scalar.kind())),
            }
        }
        (Json::Array(expected), Value::Seq(items)) => {
            if expected.len() != items.len() {
                return differs(&format!(
                    "a list of {} items, expected {}",
                    items.len(),
                    expected.len()
                ));
            }
            expected
                .iter()
                .zip(items)
                .map(|(e, item)| compare(e, item))
                .fold(Resolution::Exact, Resolution::and)
        }
        (Json::Object(expected), Value::Map(entries)) => {
            if expected.len() != entries.len() {
                return differs(&format!(
                    "a mapping of {} entries, expected {}",
                    entries.len(),
                    expected.len()
                ));
            }
            entries
                .iter()
                .map(|(key, value)| match expected.get(&key.name) {
                    Some(e) => compare(e, value),
                    None => differs(&format!("the key {:?} is not expected", key.name)),
                })
                .fold(Resolution::Exact, Resolution::and)
        }
        (_, value) => differs(&format!("{} where {expected} was expected", value.kind())),
    }
}

impl Resolution {
    fn and(self, other: Resolution) -> Resolution {
        match (self, other) {
            (Resolution::Differs(why), _) | (_, Resolution::Differs(why)) => {
                Resolution::Differs(why)
            }
            (Resolution::Plain, _) | (_, Resolution::Plain) => Resolution::Plain,
            _ => Resolution::Exact,
        }
    }
}

fn same_scalar(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Float(a), Value::Float(b)) => a == b,
        _ => false,
    }
}

/// The tree as JSON-like text, for failure messages.
fn show(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Str(s) => format!("{s:?}"),
        Value::Seq(items) => format!(
            "[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(key, value)| format!("{:?}: {}", key.name, show(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The documents `test.event` describes, as JSON: plain scalars resolved as
/// YAML 1.2's core schema resolves them (as the suite's in.json files are
/// written), aliases replaced by what they refer to. None when a key is a
/// collection or a node has a tag: JSON cannot say that.
fn from_events(events: &str) -> Option<Vec<Json>> {
    /// A collection being read, its anchor, and a mapping's key waiting
    /// for its value.
    enum Open {
        Seq(Vec<Json>, Option<String>),
        Map(
            serde_json::Map<String, Json>,
            Option<String>,
            Option<String>,
        ),
    }
    let mut documents = Vec::new();
    let mut anchors = std::collections::HashMap::new();
    let mut stack = Vec::new();
    for line in events.lines() {
        let (event, mut rest) = line.split_once(' ').unwrap_or((line, ""));
        // The properties: a flow collection's brackets, an anchor, a tag.
        let mut anchor = None;
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix("{}").or(rest.strip_prefix("[]")) {
                rest = after;
            } else if let Some(name) = rest.strip_prefix('&') {
                let (name, after) = name.split_once(' ').unwrap_or((name, ""));
                anchor = Some(name.to_owned());
                rest = after;
            } else if rest.starts_with('<') {
                return None;
            } else {
                break;
            }
        }
        // The value, and a scalar's text as written.
        let (value, text) = match event {
            "+MAP" => {
                stack.push(Open::Map(serde_json::Map::new(), anchor, None));
                continue;
            }
            "+SEQ" => {
                stack.push(Open::Seq(Vec::new(), anchor));
                continue;
            }
            "-MAP" | "-SEQ" => {
                let (value, anchor) = match stack.pop()? {
                    Open::Map(map, anchor, _) => (Json::Object(map), anchor),
                    Open::Seq(items, anchor) => (Json::Array(items), anchor),
                };
                if let Some(anchor) = anchor {
                    anchors.insert(anchor, (value.clone(), None));
                }
                (value, None)
            }
            "=VAL" => {
                let (style, text) = rest.split_at(1);
                let text = unescape(text);
                let value = match style {
                    ":" => core_schema(&text),
                    _ => Json::String(text.clone()),
                };
                if let Some(anchor) = anchor {
                    anchors.insert(anchor, (value.clone(), Some(text.clone())));
                }
                (value, Some(text))
            }
            "=ALI" => anchors.get(rest.trim_start_matches('*'))?.clone(),
            _ => continue, // the stream's and documents' events
        };
        match stack.last_mut() {
            None => documents.push(value),
            Some(Open::Seq(items, _)) => items.push(value),
            // A key as it was written: keys are names.
            Some(Open::Map(_, _, key @ None)) => *key = Some(text?),
            Some(Open::Map(map, _, key)) => {
                map.insert(key.take()?, value);
            }
        }
    }
    Some(documents)
}

/// A plain scalar as YAML 1.2's core schema reads it.
fn core_schema(text: &str) -> Json {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Json::Null,
        "true" | "True" | "TRUE" => return Json::Bool(true),
        "false" | "False" | "FALSE" => return Json::Bool(false),
        _ => {}
    }
    let digits = text.trim_start_matches(['-', '+']);
    let number = if let Some(hex) = text.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok().map(Json::from)
    } else if let Some(octal) = text.strip_prefix("0o") {
        i64::from_str_radix(octal, 8).ok().map(Json::from)
    } else if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
        text.parse::<i64>().ok().map(Json::from)
    } else if digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits
            .bytes()
            .all(|c| c.is_ascii_digit() || b".eE+-".contains(&c))
    {
        text.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Json::Number)
    } else {
        None
    };
    number.unwrap_or_else(|| Json::String(text.to_owned()))
}

/// A scalar's text in test.event: `\\`, `\b`, `\n`, `\r` and `\t` escaped.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next() {
            Some('\\') => '\\',
            Some('b') => '\u{8}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            other => panic!("an escape test.event does not use: \\{other:?}"),
        });
    }
    out
}

/// `from_events` reads every case that has both files as its in.json says:
/// the reader the comparison relies on where in.json is missing is right.
#[test]
fn test_events_read_as_in_json_says() {
    let suite = Path::new(SUITE);
    let mut compared = 0;
    for dir in cases(suite) {
        let (Ok(json), Ok(events)) = (
            std::fs::read_to_string(dir.join("in.json")),
            std::fs::read_to_string(dir.join("test.event")),
        ) else {
            continue;
        };
        if dir.join("error").exists() {
            continue; // the events stop at the error
        }
        let expected: Vec<Json> = serde_json::Deserializer::from_str(&json)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|err| panic!("{}/in.json: {err}", dir.display()));
        if let Some(documents) = from_events(&events) {
            assert_eq!(documents, expected, "{}", dir.display());
            compared += 1;
        }
    }
    assert!(compared > 200, "only {compared} cases compared");
}
