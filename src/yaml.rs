//! The YAML layer: parses a document into a tree in which every value and
//! every key keeps its line and column, so that validation (in `config`) can
//! point at the exact place of a mistake.
//!
//! serde-saphyr does the parsing: it rejects duplicate keys, applies `<<`
//! merge keys and enforces an alias budget against "billion laughs" inputs.
//! The tree is built with `deserialize_any`, never through serde's buffered
//! (untagged/flatten) paths, because those lose locations.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A place in the YAML text, 1-based. `line == 0` means unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

/// A YAML value with where it was written.
#[derive(Debug, Clone)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// A mapping key with where it was written.
#[derive(Debug, Clone)]
pub struct Key {
    pub pos: Pos,
    pub name: String,
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order (merged entries after explicit ones).
    Map(Vec<(Key, Node)>),
}

impl Value {
    /// How a value is named in "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a floating-point number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax or structure error, before any validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parses one YAML document. An empty document is `Value::Null`.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    match serde_saphyr::from_str::<Spanned<Raw>>(text) {
        Ok(spanned) => Ok(spanned.into()),
        Err(err) => Err(syntax_error(&err)),
    }
}

fn syntax_error(err: &serde_saphyr::Error) -> SyntaxError {
    let pos = err
        .location()
        .map(|l| Pos {
            line: l.line(),
            column: l.column(),
        })
        .unwrap_or_default();
    let text = err.without_snippet().to_string();
    // The budget error may come wrapped in alias-location context, so it is
    // recognised by its text rather than its variant.
    let message = if text.contains("budget breached") {
        "too many YAML nodes once aliases are expanded (an alias bomb?)".to_owned()
    } else {
        clean_message(&text)
    };
    SyntaxError { pos, message }
}

/// serde-saphyr's messages end in " at line L, column C" (we print the
/// position ourselves) and some carry developer hints meant for Rust callers.
fn clean_message(msg: &str) -> String {
    let msg = match msg.find(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    if let Some(rest) = msg.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("duplicate key `{key}`");
    }
    if msg.starts_with("tabs disallowed") {
        return "a tab indents this line; YAML indentation must be spaces".to_owned();
    }
    if msg == "expected string scalar" {
        return "keys must be plain strings".to_owned();
    }
    msg.to_owned()
}

/// The deserialized form, before conversion into `Node`.
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

fn pos_of(loc: &serde_saphyr::Location) -> Pos {
    Pos {
        line: loc.line(),
        column: loc.column(),
    }
}

impl From<Spanned<Raw>> for Node {
    fn from(s: Spanned<Raw>) -> Node {
        let pos = pos_of(&s.referenced);
        let value = match s.value.0 {
            RawValue::Null => Value::Null,
            RawValue::Bool(b) => Value::Bool(b),
            RawValue::Int(i) => Value::Int(i),
            RawValue::Float(f) => Value::Float(f),
            RawValue::Str(s) => Value::Str(s),
            RawValue::Seq(items) => Value::Seq(items.into_iter().map(Node::from).collect()),
            RawValue::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                pos: pos_of(&k.referenced),
                                name: k.value,
                            },
                            Node::from(v),
                        )
                    })
                    .collect(),
            ),
        };
        Node { pos, value }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let node = parse("chains:\n  BEER:\n    ac_supply: 100000000\n").unwrap();
        let Value::Map(top) = node.value else {
            panic!("not a map")
        };
        let (key, chains) = &top[0];
        assert_eq!(
            (key.name.as_str(), key.pos),
            ("chains", Pos { line: 1, column: 1 })
        );
        let Value::Map(chains) = &chains.value else {
            panic!()
        };
        let Value::Map(beer) = &chains[0].1.value else {
            panic!()
        };
        assert_eq!(beer[0].0.pos, Pos { line: 3, column: 5 });
        assert_eq!(
            beer[0].1.pos,
            Pos {
                line: 3,
                column: 16
            }
        );
        assert!(matches!(beer[0].1.value, Value::Int(100000000)));
    }

    #[test]
    fn merge_keys_apply_and_explicit_keys_win() {
        let node = parse("b: &b {x: 1, y: 2}\nc:\n  <<: *b\n  x: 5\n").unwrap();
        let Value::Map(top) = node.value else {
            panic!()
        };
        let Value::Map(c) = &top[1].1.value else {
            panic!()
        };
        let got: Vec<(&str, i128)> = c
            .iter()
            .map(|(k, v)| match v.value {
                Value::Int(i) => (k.name.as_str(), i),
                _ => panic!(),
            })
            .collect();
        assert_eq!(got, vec![("x", 5), ("y", 2)]);
    }

    #[test]
    fn duplicate_keys_are_errors_with_their_position() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.message, "duplicate key `a`");
        assert_eq!(err.pos, Pos { line: 2, column: 1 });
    }

    #[test]
    fn alias_bombs_hit_the_budget() {
        let mut text = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        for (i, name) in ["b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
            let prev = ["a", "b", "c", "d", "e", "f", "g"][i];
            let refs = vec![format!("*{prev}"); 10].join(",");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{}", err.message);
    }

    #[test]
    fn empty_document_is_null() {
        assert!(matches!(parse("").unwrap().value, Value::Null));
    }
}
