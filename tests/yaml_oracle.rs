//! Differential tests of the YAML parser (src/yaml.rs) against serde-saphyr,
//! the parser dokomodo used before it (a dev-dependency for this only). The
//! inputs are the examples, the generated and mutated YAML of the property
//! tests (tests/yaml_inputs/), and generated YAML of every construct the
//! parser supports. For each text:
//!
//! - when serde-saphyr accepts it, src/yaml.rs gives the identical tree
//!   (every value, and the line and column of every key and value), or
//!   refuses a construct it deliberately does not support (`DELIBERATE`);
//! - when src/yaml.rs accepts it, serde-saphyr accepts it too, with the
//!   same tree: the new parser is never laxer.
//!
//! `difference` lists the exceptions, each with the reason (README.md, "The
//! YAML", documents them for operators). Cases: `PROPTEST_CASES` (256 by
//! default), as in tests/properties.rs.

use dokomodo::config::yaml::{self, Node, Value};
use proptest::prelude::*;

mod yaml_inputs;
use yaml_inputs::*;

// ---------------------------------------------------------------- the oracle

/// serde-saphyr as src/yaml.rs used it until it was replaced: the document
/// deserialized with `deserialize_any` into `Spanned` nodes.
mod oracle {
    use std::fmt;

    use dokomodo::config::yaml::{Key, Node, Pos, SyntaxError, Value};
    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_saphyr::Spanned;

    pub fn parse(text: &str) -> Result<Node, SyntaxError> {
        match serde_saphyr::from_str::<Spanned<Raw>>(text) {
            Ok(spanned) => Ok(node(spanned)),
            Err(err) => {
                let pos = err
                    .location()
                    .map(|l| Pos {
                        line: l.line(),
                        column: l.column(),
                    })
                    .unwrap_or_default();
                Err(SyntaxError {
                    pos,
                    message: err.without_snippet().to_string(),
                })
            }
        }
    }

    struct Raw(RawValue);

    enum RawValue {
        Null,
        Bool(bool),
        Int(i128),
        Float(f64),
        Str(String),
        Seq(Vec<Spanned<Raw>>),
        Map(Vec<(Spanned<String>, Spanned<Raw>)>),
    }

    fn pos(loc: &serde_saphyr::Location) -> Pos {
        Pos {
            line: loc.line(),
            column: loc.column(),
        }
    }

    fn node(s: Spanned<Raw>) -> Node {
        let value = match s.value.0 {
            RawValue::Null => Value::Null,
            RawValue::Bool(b) => Value::Bool(b),
            RawValue::Int(i) => Value::Int(i),
            RawValue::Float(f) => Value::Float(f),
            RawValue::Str(s) => Value::Str(s),
            RawValue::Seq(items) => Value::Seq(items.into_iter().map(node).collect()),
            RawValue::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                pos: pos(&k.referenced),
                                name: k.value,
                            },
                            node(v),
                        )
                    })
                    .collect(),
            ),
        };
        Node {
            pos: pos(&s.referenced),
            value,
        }
    }

    struct RawVisitor;

    impl<'de> Visitor<'de> for RawVisitor {
        type Value = Raw;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a YAML value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
            Ok(Raw(RawValue::Bool(v)))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
            Ok(Raw(RawValue::Int(v.into())))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
            Ok(Raw(RawValue::Int(v.into())))
        }
        fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
            Ok(Raw(RawValue::Int(v)))
        }
        fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
            i128::try_from(v)
                .map(|v| Raw(RawValue::Int(v)))
                .map_err(|_| E::custom("integer too large"))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
            Ok(Raw(RawValue::Float(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
            Ok(Raw(RawValue::Str(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Raw, E> {
            Ok(Raw(RawValue::Str(v)))
        }
        fn visit_unit<E>(self) -> Result<Raw, E> {
            Ok(Raw(RawValue::Null))
        }
        fn visit_none<E>(self) -> Result<Raw, E> {
            Ok(Raw(RawValue::Null))
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
            Raw::deserialize(d)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(Raw(RawValue::Seq(items)))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
            let mut entries = Vec::new();
            while let Some(key) = map.next_key::<Spanned<String>>()? {
                let value = map.next_value()?;
                entries.push((key, value));
            }
            Ok(Raw(RawValue::Map(entries)))
        }
    }

    impl<'de> Deserialize<'de> for Raw {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
            d.deserialize_any(RawVisitor)
        }
    }
}

// ---------------------------------------------------------------- the comparison

/// What src/yaml.rs refuses on purpose although serde-saphyr accepted it: a
/// phrase of the error message, and why.
const DELIBERATE: &[(&str, &str)] = &[
    (
        "complex mapping keys (`? `) are not supported",
        "explicit `? key` entries: never needed for a notary YAML",
    ),
    ("as a mapping key is not supported", "an alias as a key"),
    (
        "YAML tags like",
        "tags (serde-saphyr ignored unknown ones silently)",
    ),
    ("YAML directives", "`%YAML` and `%TAG`"),
    (
        "a tab indents this line",
        "a tab among a line's leading blanks, anywhere but in quoted and block scalars (serde-saphyr allowed one after spaces)",
    ),
    ("a tab before a nested list item", "same"),
    (
        "a merge key (`<<`) takes a mapping or a list of mappings",
        "YAML's merge-key spec: a list of mappings; serde-saphyr skipped nulls in it and flattened lists inside it",
    ),
    (
        "a comment needs a space before its `#`",
        "YAML 1.2: `#` is a comment after a blank only; serde-saphyr took `\"a\":#x` as one",
    ),
    (
        "a carriage return without a newline",
        "a lone CR: config.rs refuses it first, with the same message",
    ),
    (
        "a byte order mark (U+FEFF) is only allowed at the very start",
        "a BOM inside the text",
    ),
    (
        "this line is inside `[ ]` or `{ }`: indent it deeper",
        "YAML 1.2: the lines inside brackets are indented deeper than the block around them (yaml-test-suite 9C9N); serde-saphyr allowed the block's column",
    ),
    (
        "this line is inside a quoted string: indent it deeper",
        "YAML 1.2: the same for the lines of a quoted string (yaml-test-suite QB6E)",
    ),
];

/// Why the two parsers may differ on `text`, or None when they must agree.
fn difference(
    text: &str,
    ours: &Result<Node, yaml::SyntaxError>,
    theirs: &Result<Node, yaml::SyntaxError>,
) -> Option<&'static str> {
    match (ours, theirs) {
        (Err(err), Ok(tree)) => {
            if let Some((_, why)) = DELIBERATE
                .iter()
                .find(|(phrase, _)| err.message.contains(phrase))
            {
                return Some(why);
            }
            if err.message.starts_with("duplicate key") && keys_equal_as_names(tree) {
                return Some(
                    "keys are names: `1` and `\"1\"` (or `0x10` and `16`) are one key, which serde-saphyr told apart by type",
                );
            }
            // What serde-saphyr checked only when it read a value.
            const WHEN_READ: &[&str] = &[
                "duplicate key",
                "keys must be plain strings",
                "is null, not a name",
                "a mapping entry without a key",
                "an empty (null) mapping key",
                "a merge key (`<<`) takes",
                "is inside the node it refers to",
            ];
            if text.contains("<<")
                && WHEN_READ.iter().any(|phrase| err.message.contains(phrase))
                && !positions(tree).contains(&(err.pos.line, err.pos.column))
            {
                return Some(
                    "a merged entry an explicit key overrides is checked too; serde-saphyr never read it",
                );
            }
            None
        }
        (Ok(_), Err(err)) => {
            if err.message.contains("budget breached") && text.matches('*').count() >= 100 {
                return Some(
                    "serde-saphyr refused 100 aliases or more to 10 times fewer anchors; the node budget guards the expansion",
                );
            }
            if err.message.contains("non-finite") && text.contains("<<") && quoted_integer_key(text)
            {
                return Some(
                    "keys are names: an explicit `\"1\"` overrides a merged `1` and its value",
                );
            }
            None
        }
        (Ok(mine), Ok(tree)) if !same_node(mine, tree) && keys_equal_as_names(tree) => {
            Some("keys are names: a merged `1` does not come beside an explicit `\"1\"`")
        }
        _ => None,
    }
}

fn same_node(a: &Node, b: &Node) -> bool {
    a.pos == b.pos
        && match (&a.value, &b.value) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            (Value::Str(x), Value::Str(y)) => x == y,
            (Value::Seq(x), Value::Seq(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_node(a, b))
            }
            (Value::Map(x), Value::Map(y)) => {
                x.len() == y.len()
                    && x.iter().zip(y).all(|((ka, va), (kb, vb))| {
                        ka.pos == kb.pos && ka.name == kb.name && same_node(va, vb)
                    })
            }
            _ => false,
        }
}

/// The tree as text, one node per line: what a failure shows.
fn show(node: &Node) -> String {
    fn walk(node: &Node, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        let at = format!("@{}:{}", node.pos.line, node.pos.column);
        match &node.value {
            Value::Seq(items) => {
                out.push_str(&format!("{pad}list {at}\n"));
                items.iter().for_each(|item| walk(item, depth + 1, out));
            }
            Value::Map(entries) => {
                out.push_str(&format!("{pad}map {at}\n"));
                for (key, value) in entries {
                    out.push_str(&format!(
                        "{pad}  key {:?} @{}:{}\n",
                        key.name, key.pos.line, key.pos.column
                    ));
                    walk(value, depth + 2, out);
                }
            }
            other => out.push_str(&format!("{pad}{other:?} {at}\n")),
        }
    }
    let mut out = String::new();
    walk(node, 0, &mut out);
    out
}

fn outcome(result: &Result<Node, yaml::SyntaxError>) -> String {
    match result {
        Ok(node) => show(node),
        Err(err) => format!(
            "error at {}:{}: {}\n",
            err.pos.line, err.pos.column, err.message
        ),
    }
}

/// Checks `text` against the oracle; Err describes the disagreement.
fn agree(text: &str) -> Result<(), String> {
    let ours = yaml::parse(text);
    let theirs = oracle::parse(text);
    let agreed = match (&ours, &theirs) {
        (Ok(a), Ok(b)) => same_node(a, b),
        (Err(_), Err(_)) => true,
        _ => false,
    };
    if agreed || difference(text, &ours, &theirs).is_some() {
        return Ok(());
    }
    Err(format!(
        "{text:?}\n--- src/yaml.rs\n{}--- serde-saphyr\n{}",
        outcome(&ours),
        outcome(&theirs)
    ))
}

/// Every (line, column) where the tree has a node or a key.
fn positions(node: &Node) -> Vec<(u64, u64)> {
    let mut out = vec![(node.pos.line, node.pos.column)];
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|item| out.extend(positions(item))),
        Value::Map(entries) => {
            for (key, value) in entries {
                out.push((key.pos.line, key.pos.column));
                out.extend(positions(value));
            }
        }
        _ => {}
    }
    out
}

/// An integer as a key spells it (src/yaml.rs's rule, restated).
fn integer(name: &str) -> Option<(bool, u128)> {
    let (negative, rest) = match name.as_bytes().first() {
        Some(b'-') => (true, &name[1..]),
        Some(b'+') => (false, &name[1..]),
        _ => (false, name),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, digits) = match lower.get(..2) {
        Some("0x") => (16, &rest[2..]),
        Some("0o") => (8, &rest[2..]),
        Some("0b") => (2, &rest[2..]),
        _ => (10, rest),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    if radix == 10 && digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    let value = u128::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    (!negative || value <= 1 << 127).then_some((negative && value != 0, value))
}

/// Some mapping of the tree has two keys that are one name to src/yaml.rs.
fn keys_equal_as_names(node: &Node) -> bool {
    match &node.value {
        Value::Seq(items) => items.iter().any(keys_equal_as_names),
        Value::Map(entries) => {
            let names: Vec<&str> = entries.iter().map(|(key, _)| key.name.as_str()).collect();
            let same =
                |a: &str, b: &str| a == b || integer(a).is_some_and(|i| integer(b) == Some(i));
            names
                .iter()
                .enumerate()
                .any(|(i, a)| names[..i].iter().any(|b| same(a, b)))
                || entries.iter().any(|(_, value)| keys_equal_as_names(value))
        }
        _ => false,
    }
}

/// A quoted scalar in the text spells an integer (it may be a key).
fn quoted_integer_key(text: &str) -> bool {
    ['"', '\''].iter().any(|q| {
        text.split(*q)
            .skip(1)
            .step_by(2)
            .any(|s| integer(s).is_some())
    })
}

// ---------------------------------------------------------------- the examples and the pinned cases

#[test]
fn the_examples_agree() {
    for text in [NOTARY, PRODUCTION] {
        agree(text).unwrap();
        assert!(yaml::parse(text).is_ok());
    }
}

/// Each construct once, as the probes that shaped src/yaml.rs saw them.
#[test]
fn constructs_agree() {
    let texts = [
        "a: 1\nb: [x, 'y', \"z\"]\nc: {d: e}\n",
        "a:\n- x\n- y\nb:\n  - - 1\n    - 2\n  - k: v\n    l: w\n",
        "a:\nb: ~\nc: null\n- \n",
        "-\n- \n-   # c\n- &x\n- *x\n",
        "a: |\n  text\n\n  more\nb: >-\n  folded\n   kept\n  line\nc: |+\n  x\n\nd: |2\n   two\n",
        "a: \"x\\ty\\u00e9\\x41\\U0001F600\\\n  z\"\nb: 'it''s\n\n  folded'\n",
        "a: plain\n  continued\n\n  after a blank line\nb: x # comment\n",
        "x: &x {p: 1, q: [2]}\ny: *x\nz:\n  <<: *x\n  p: 5\nw: {<<: [*x, {r: 3}]}\n",
        "[a: 1, \"b\":2, {c: d}]\n",
        "{a, b: , c: [1,\n  2,\n]}\n",
        "é: ü\n日本: [ä, ö]\n",
        "---\na: 1\n...\n",
        "--- x\n",
        "\u{feff}a: 1\n",
        "a: 1\r\nb:\r\n  - 2\r\n",
        "0x10: a\n-1: b\ntrue: c\n1.5: d\n",
        "a: 0x1F\nb: 0o17\nc: 0b101\nd: 1_000\ne: -007\nf: 1e3\ng: .5\nh: -.nan\ni: 0X1F\nj: yes\nk: Off\nl: 18446744073709551616\n",
        "a: &a 1\nb: &a 2\nc: *a\n",
        "- &x1\n b: &x1\n- [*x1]\n",
        "{a\n: b}\n",
        "q: &q 1\n<<:\n b:\n - *q\n - x\n",
        "&_{a\n\na}",
    ];
    for text in texts {
        agree(text).unwrap();
    }
}

/// Constructs src/yaml.rs refuses while serde-saphyr accepted them: each is
/// a deliberate difference, and the message names it.
#[test]
fn refused_constructs_are_deliberate() {
    let texts = [
        "? a\n: b\n",
        "a: !!str 5\n",
        "%YAML 1.2\n---\na: 1\n",
        "a:\n  \tb\n",
        "\ta: 1\n",
        "x: &x\nb: {<<: [*x]}\n",
        "a: &a [{x: 1}]\nb: {<<: [*a]}\n",
        "{\"a\":#c\n}\n",
        "a: 1\rb: 2\n",
        "a: x\u{feff}y\n",
        "1: a\n\"1\": b\n",
        "0x10: a\n'16': b\n",
    ];
    for text in texts {
        let ours = yaml::parse(text);
        let theirs = oracle::parse(text);
        assert!(
            ours.is_err() && theirs.is_ok(),
            "{text:?}: {ours:?} / {theirs:?}"
        );
        let why = difference(text, &ours, &theirs);
        assert!(why.is_some(), "{text:?}: {}", outcome(&ours));
    }
}

// ---------------------------------------------------------------- generated YAML of every construct

/// A plain scalar: words, numbers in every spelling, booleans, nulls, and
/// text with indicators inside.
fn plain() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "a", "x y", "KMD", "ac_supply", "é", "日本", "a:b", "a#b", "-x", "?x", ":x", "x:", "x-", "a.b",
            "172.20.0.0/16", "1.2.3.4", "~", "null", "Null", "NULL", "nUll", "true", "False", "yes", "No",
            "on", "OFF", "y", "N", "0", "-0", "+1", "007", "-007", "0x1F", "0X1F", "0o17", "0b101", "1_000",
            "1__0", "0.1_0", "1e3", "-1E-3", "1.", ".5", "+.5", "18446744073709551615", "18446744073709551616",
            "-9223372036854775808", "-9223372036854775809", "99999999999999999999", "-.nan", "+.nan",
            ".inf", "1e999", "inf", "nan", "12:30", "x!", "a*b", "&", "*",
        ])
        .prop_map(str::to_owned),
        1 => "[a-zA-Z0-9_.é]{1,8}",
        1 => any::<i64>().prop_map(|i| i.to_string()),
        1 => any::<f64>().prop_map(|f| format!("{f:?}")),
    ]
}

/// A double-quoted scalar: escapes, blanks, line breaks (folded or
/// escaped), non-ASCII. `{pad}` marks where a continuation line's indentation
/// goes.
fn double_quoted() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "text",
        " ",
        "  ",
        "é",
        "\\n",
        "\\t",
        "\\\\",
        "\\\"",
        "\\x41",
        "\\u00e9",
        "\\U0001F600",
        "\\ud83d\\ude00",
        "\\N",
        "\\_",
        "\\L",
        "\\P",
        "\\0",
        "\\e",
        "\\/",
        "\\ ",
        "\\\t",
        "\t",
        "'",
        "#",
        ": ",
        "\n{pad}",
        "\n\n{pad}",
        " \n{pad}",
        "\\\n{pad}",
        "\\\n\n{pad}x",
    ]);
    prop::collection::vec(piece, 0..6).prop_map(|pieces| format!("\"{}\"", pieces.concat()))
}

fn single_quoted() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "text",
        " ",
        "é",
        "''",
        "\"",
        "\\",
        "#",
        ": ",
        "\n{pad}",
        "\n\n{pad}",
        "  \n{pad}",
    ]);
    prop::collection::vec(piece, 0..6).prop_map(|pieces| format!("'{}'", pieces.concat()))
}

/// A block scalar: header (style, chomping, indentation indicator) and
/// lines, each with 0 to 2 spaces more than the content's indentation.
fn block_scalar() -> impl Strategy<Value = (String, Vec<(usize, String)>)> {
    let header = prop::sample::select(vec![
        "|", ">", "|-", ">-", "|+", ">+", "|1", ">2", "|2-", ">+1", "|-1", "| # c",
    ]);
    let line = (
        0usize..3,
        prop::sample::select(vec![
            "word",
            "two words",
            "é ü",
            "x: y",
            "- dash",
            "# hash",
            "",
            "\tt",
            "a  b  ",
        ]),
    );
    (
        header,
        prop::collection::vec(
            line.prop_map(|(extra, text)| (extra, text.to_owned())),
            0..5,
        ),
    )
        .prop_map(|(header, lines)| (header.to_owned(), lines))
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec!["a", "b", "c", "KMD", "ac_supply", "x y", "é", "1", "0x1", "-1", "true", "<<"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["\"a\"", "'b'", "\"<<\"", "\"q r\"", "\"\"", "'é'"]).prop_map(str::to_owned),
    ]
}

/// A scalar as written: plain (one line or several), quoted, or block.
#[derive(Clone, Debug)]
enum Scalar {
    Plain(String),
    /// A plain scalar continued on more lines.
    Lines(Vec<String>),
    Quoted(String),
    Block(String, Vec<(usize, String)>),
}

/// A YAML node to write, with how to write it.
#[derive(Clone, Debug)]
enum Tree {
    Scalar(Scalar),
    Alias(&'static str),
    Anchored(&'static str, Box<Tree>),
    /// `flow`: `[a, b]`; else a block list `step` spaces deeper than its
    /// parent (0 under a key: `key:\n- a`).
    List {
        items: Vec<Tree>,
        flow: bool,
        step: usize,
    },
    Map {
        entries: Vec<(String, Tree)>,
        flow: bool,
        step: usize,
    },
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        6 => plain().prop_map(Scalar::Plain),
        1 => prop::collection::vec(plain(), 2..4).prop_map(Scalar::Lines),
        2 => double_quoted().prop_map(Scalar::Quoted),
        1 => single_quoted().prop_map(Scalar::Quoted),
        2 => block_scalar().prop_map(|(header, lines)| Scalar::Block(header, lines)),
    ]
}

fn anchor_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "b", "c"])
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        8 => scalar().prop_map(Tree::Scalar),
        1 => anchor_name().prop_map(Tree::Alias),
    ];
    leaf.prop_recursive(5, 40, 5, |inner| {
        prop_oneof![
            2 => (prop::collection::vec(inner.clone(), 0..4), any::<bool>(), 0usize..4)
                .prop_map(|(items, flow, step)| Tree::List { items, flow, step }),
            3 => (prop::collection::vec((key(), inner.clone()), 0..4), any::<bool>(), 1usize..4)
                .prop_map(|(mut entries, flow, step)| {
                    // Mostly distinct keys (a duplicate only makes both fail).
                    let mut seen = std::collections::BTreeSet::new();
                    entries.retain(|(key, _)| seen.insert(key.clone()));
                    Tree::Map { entries, flow, step }
                }),
            1 => (anchor_name(), inner).prop_map(|(name, tree)| Tree::Anchored(name, Box::new(tree))),
        ]
    })
}

/// Anchors written so far, and whether each names a mapping.
type Anchors = Vec<(&'static str, bool)>;

/// Writes `tree` after `key:`, `- ` or at the top; `indent` is the column
/// of the block collection it belongs to (-1 at the top). An alias names an
/// anchor written before it (an unknown one only makes both parsers fail),
/// and `<<` merges a mapping anchored before.
fn write(tree: &Tree, indent: i64, flow: bool, anchors: &mut Anchors, out: &mut String) {
    let pad = |n: i64| " ".repeat(n.max(0) as usize);
    match tree {
        Tree::Alias(name) => match anchors.iter().find(|(a, _)| a == name).or(anchors.last()) {
            Some((name, _)) => out.push_str(&format!(" *{name}")),
            None => out.push_str(" x"),
        },
        Tree::Anchored(name, inner) => {
            out.push_str(&format!(" &{name}"));
            write(inner, indent, flow, anchors, out);
            anchors.retain(|(a, _)| a != name);
            anchors.push((name, matches!(**inner, Tree::Map { .. })));
        }
        Tree::Scalar(scalar) => {
            let deeper = pad(indent + 2);
            match scalar {
                Scalar::Plain(text) => out.push_str(&format!(" {text}")),
                Scalar::Lines(lines) if !flow => {
                    out.push_str(&format!(" {}", lines[0]));
                    for line in &lines[1..] {
                        out.push_str(&format!("\n{deeper}{line}"));
                    }
                }
                Scalar::Lines(lines) => out.push_str(&format!(" {}", lines.join("\n "))),
                Scalar::Quoted(text) => {
                    out.push_str(&format!(" {}", text.replace("{pad}", &deeper)))
                }
                Scalar::Block(header, lines) if !flow => {
                    out.push_str(&format!(" {header}"));
                    for (extra, line) in lines {
                        if line.is_empty() {
                            out.push('\n');
                        } else {
                            out.push_str(&format!("\n{}{line}", pad(indent + 2 + *extra as i64)));
                        }
                    }
                }
                Scalar::Block(..) => out.push_str(" '|'"),
            }
        }
        Tree::List {
            items,
            flow: written_flow,
            step,
        } => {
            if flow || *written_flow {
                let written: Vec<String> = items
                    .iter()
                    .map(|item| {
                        let mut s = String::new();
                        write(item, indent, true, anchors, &mut s);
                        s
                    })
                    .collect();
                out.push_str(&format!(" [{}]", written.join(",")));
            } else if items.is_empty() {
                out.push_str(" []");
            } else {
                let column = indent + *step as i64;
                for item in items {
                    out.push_str(&format!("\n{}-", pad(column)));
                    write(item, column, false, anchors, out);
                }
            }
        }
        Tree::Map {
            entries,
            flow: written_flow,
            step,
        } => {
            let mut written = Vec::new();
            for (key, value) in entries {
                let mut s = format!("{key}:");
                if key == "<<" {
                    let maps: Vec<&str> = anchors
                        .iter()
                        .filter(|(_, map)| *map)
                        .map(|(a, _)| *a)
                        .collect();
                    match maps.as_slice() {
                        [] => s.push_str(" {m: 1}"),
                        [one] => s.push_str(&format!(" *{one}")),
                        [first, .., last] => s.push_str(&format!(" [*{last}, *{first}]")),
                    }
                } else {
                    let column = if flow || *written_flow {
                        indent
                    } else {
                        indent + *step as i64
                    };
                    write(value, column, flow || *written_flow, anchors, &mut s);
                }
                written.push(s);
            }
            if flow || *written_flow {
                out.push_str(&format!(" {{{}}}", written.join(",")));
            } else if written.is_empty() {
                out.push_str(" {}");
            } else {
                let column = indent + *step as i64;
                for entry in written {
                    out.push_str(&format!("\n{}{entry}", pad(column)));
                }
            }
        }
    }
}

/// A document of the supported constructs, in the ways operators write
/// them (and some they should not: both parsers must then refuse).
fn supported_yaml() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((key(), tree()), 1..5),
        prop::sample::select(vec!["", "---\n", "# a comment\n", "\u{feff}", "--- # c\n"]),
        prop::sample::select(vec!["", "...\n", "# end\n"]),
        any::<bool>(),
    )
        .prop_map(|(mut entries, head, tail, crlf)| {
            let mut seen = std::collections::BTreeSet::new();
            entries.retain(|(key, _)| seen.insert(key.clone()));
            let mut text = head.to_owned();
            let mut anchors = Anchors::new();
            for (key, tree) in &entries {
                text.push_str(&format!("{key}:"));
                write(tree, 0, false, &mut anchors, &mut text);
                text.push('\n');
            }
            text.push_str(tail);
            if crlf {
                text.replace('\n', "\r\n")
            } else {
                text
            }
        })
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn generated_constructs_agree(text in supported_yaml()) {
        agree(&text).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn generated_notary_yaml_agrees(text in generated_yaml()) {
        agree(&text).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn mutated_examples_agree(text in mutated_example()) {
        agree(&text).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn valid_notary_yaml_agrees(text in valid_yaml()) {
        agree(&text).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn punctuation_soup_agrees(text in "[ \n\t:,\\-\\[\\]{}&*!|>'\"#%@`?a-z0-9_.<~]{0,60}") {
        agree(&text).map_err(TestCaseError::fail)?;
    }
}
