//! Just enough JSON, read and written, in one place: the members of an
//! object (each value kept as its raw text) and string decoding for RPC
//! replies; string literals for what dokomodo writes (addcoin JSON, RPC
//! requests, JSON log lines). A full parser (and its dependency) would only be
//! used to find `"result"` and `"error"`.

use std::fmt::Write as _;

/// The members of the JSON object `text`, in order, each value as its raw
/// JSON text. `None` when `text` is not one well-formed object.
pub fn members(text: &str) -> Option<Vec<(String, &str)>> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut out = Vec::new();
    if b.get(i) == Some(&b'}') {
        return (skip_ws(b, i + 1) == b.len()).then_some(out);
    }
    loop {
        let key_end = skip_string(b, i)?;
        let key = string(&text[i..key_end])?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(b, i + 1);
        let end = skip_value(b, start)?;
        out.push((key, &text[start..end]));
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return (skip_ws(b, i + 1) == b.len()).then_some(out),
            _ => return None,
        }
    }
}

/// The items of the JSON array `text`, each as its raw JSON text. `None`
/// when `text` is not one well-formed array.
pub fn items(text: &str) -> Option<Vec<&str>> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut out = Vec::new();
    if b.get(i) == Some(&b']') {
        return (skip_ws(b, i + 1) == b.len()).then_some(out);
    }
    loop {
        let end = skip_value(b, i)?;
        out.push(&text[i..end]);
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b']') => return (skip_ws(b, i + 1) == b.len()).then_some(out),
            _ => return None,
        }
    }
}

/// The raw value of member `key` of the object `text`.
pub fn member<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    members(text)?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Decodes a raw JSON string literal (with its quotes). `None` for anything else.
pub fn string(raw: &str) -> Option<String> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hi = hex4(&mut chars)?;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    // A surrogate pair: the low half must follow as \uXXXX.
                    if chars.next()? != '\\' || chars.next()? != 'u' {
                        return None;
                    }
                    let lo = hex4(&mut chars)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                out.push(char::from_u32(code)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut v = 0;
    for _ in 0..4 {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    Some(v)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The index just past the string literal starting at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            c if *c < 0x20 => return None,
            _ => j += 1,
        }
    }
}

/// The index just past the value starting at `i`. Nested values are checked
/// for balance and well-formed strings; scalars for their characters only.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut stack = vec![b[i]];
            let mut j = i + 1;
            while let Some(&open) = stack.last() {
                match b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    c @ (b'{' | b'[') => stack.push(*c),
                    b'}' if open == b'{' => {
                        stack.pop();
                    }
                    b']' if open == b'[' => {
                        stack.pop();
                    }
                    b'}' | b']' => return None,
                    _ => {}
                }
                j += 1;
            }
            Some(j)
        }
        _ => {
            let end = b[i..]
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.')))
                .map_or(b.len(), |n| i + n);
            let word = &b[i..end];
            let number = word
                .first()
                .is_some_and(|c| c.is_ascii_digit() || *c == b'-');
            (end > i && (number || matches!(word, b"true" | b"false" | b"null"))).then_some(end)
        }
    }
}

/// A JSON object written member by member, in the order given: the addcoin
/// JSON, iguana's calls, `ports --json`.
pub struct Object {
    out: String,
}

impl Object {
    pub fn with_capacity(capacity: usize) -> Object {
        Object {
            out: String::with_capacity(capacity),
        }
    }

    fn key(&mut self, key: &str) {
        self.out.push(if self.out.is_empty() { '{' } else { ',' });
        string_literal(&mut self.out, key);
        self.out.push(':');
    }

    /// A string member, escaped.
    pub fn string(&mut self, key: &str, value: &str) -> &mut Object {
        self.key(key);
        string_literal(&mut self.out, value);
        self
    }

    /// A string member known to need no escaping (hex digits): the 3 KB
    /// genesis block is not scanned for quotes once per chain.
    pub fn hex(&mut self, key: &str, value: &str) -> &mut Object {
        self.key(key);
        self.out.push('"');
        self.out.push_str(value);
        self.out.push('"');
        self
    }

    pub fn number(&mut self, key: &str, value: i64) -> &mut Object {
        self.key(key);
        let _ = write!(self.out, "{value}");
        self
    }

    /// A member whose value is JSON already (a constant, a validated number).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Object {
        self.key(key);
        self.out.push_str(json);
        self
    }

    /// The object's text (`{}` when it has no member).
    pub fn finish(mut self) -> String {
        if self.out.is_empty() {
            self.out.push('{');
        }
        self.out.push('}');
        self.out
    }
}

/// Appends `s` as a JSON string literal.
pub fn string_literal(out: &mut String, s: &str) {
    out.push('"');
    // Nearly every value (hex, names, paths) needs no escape: copy it whole.
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_member_order_and_escape_keys_and_strings() {
        let mut o = Object::with_capacity(16);
        o.string("a\"b", "x\ny")
            .number("n", -3)
            .raw("r", "[1]")
            .hex("h", "00ff");
        assert_eq!(o.finish(), r#"{"a\"b":"x\ny","n":-3,"r":[1],"h":"00ff"}"#);
        assert_eq!(Object::with_capacity(0).finish(), "{}");
    }

    #[test]
    fn array_items_are_raw_values() {
        assert_eq!(
            items(" [1, \"a\" ,{\"b\":[2]}] "),
            Some(vec!["1", "\"a\"", "{\"b\":[2]}"])
        );
        assert_eq!(items("[]"), Some(vec![]));
        assert_eq!(items("[1,]"), None);
        assert_eq!(items("[1] x"), None);
        assert_eq!(items("{}"), None);
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = String::new();
        string_literal(&mut out, "plain/path_01");
        string_literal(&mut out, "a\"b\\c\nd\u{1}");
        assert_eq!(out, r#""plain/path_01""a\"b\\c\nd\u0001""#);
    }

    #[test]
    fn komodod_replies() {
        let ok = r#"{"result":{"version":3,"blocks":42,"name":"a \"}\" b"},"error":null,"id":"dokomodo"}"#;
        let m = members(ok).unwrap();
        assert_eq!(
            m[0],
            (
                "result".to_owned(),
                r#"{"version":3,"blocks":42,"name":"a \"}\" b"}"#
            )
        );
        assert_eq!(m[1], ("error".to_owned(), "null"));
        assert_eq!(member(m[0].1, "blocks"), Some("42"));
        let err = "{\"result\":null,\"error\":{\"code\":-28,\"message\":\"Loading block index...\"},\"id\":\"dokomodo\"}\n";
        let e = member(err, "error").unwrap();
        assert_eq!(member(e, "code"), Some("-28"));
        assert_eq!(
            string(member(e, "message").unwrap()).unwrap(),
            "Loading block index..."
        );
    }

    #[test]
    fn not_an_object() {
        for bad in [
            "",
            "[]",
            "{",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":[1}",
            "{\"a\":1} x",
            "{\"a\" 1}",
            "{\"a\":nul}",
            "<html>",
        ] {
            assert_eq!(members(bad), None, "{bad}");
        }
        assert_eq!(members(" { } ").unwrap().len(), 0);
    }

    #[test]
    fn strings_decode_escapes_and_surrogates() {
        assert_eq!(
            string(r#""a\n\"b\"\\\u00e9\ud83d\ude00""#).unwrap(),
            "a\n\"b\"\\é😀"
        );
        assert_eq!(string(r#""\ud83d""#), None);
        assert_eq!(string("42"), None);
    }
}
