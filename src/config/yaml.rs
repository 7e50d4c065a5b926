//! The YAML layer: parses a document into a tree in which every value and
//! every key keeps its line and column, so that validation (in `config`) can
//! point at the exact place of a mistake.
//!
//! A hand-written parser for the YAML a notary config is written in (README,
//! "YAML syntax"): one document of block and flow collections, every scalar
//! style, comments, anchors, aliases and `<<` merge keys. What it does not
//! support (tags, directives, a second document, `? ` complex keys, aliases
//! as keys) is an error that names the construct. It is a recursive descent
//! over the text, in time linear in its size; nesting (64 levels), the
//! number of nodes with what aliases expand to and the copies anchors keep
//! (250,000 together), and the text aliases and anchors copy (4 MiB) are
//! bounded, so that a hostile text cannot make the parse take much more
//! memory or time than a config of its size.
//!
//! Values resolve as serde-saphyr, the parser this one replaced, resolved
//! them, so a config means what it meant before: `null`, `~` and nothing are
//! null; `true`/`false`/`yes`/`no`/`on`/`off`/`y`/`n` in any case are
//! booleans; integers may be written with a sign, `0x`, `0o`, `0b` and `_`
//! between digits; anything else Rust reads as a finite float is a float;
//! the rest, and every quoted or block scalar, is a string. Positions are
//! serde-saphyr's too. tests/yaml_oracle.rs checks trees and positions
//! against it and lists the few deliberate differences.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// A place in the YAML text, 1-based. `line == 0` means unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
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

/// Collections nested deeper than this are refused (the recursion of the
/// parser, and of whatever walks the tree, stays small).
const MAX_DEPTH: usize = 64;
/// Nodes (keys included, aliases counted as what they expand to) in one
/// document, with the copies anchors keep for their aliases: a notary YAML
/// of 1000 chains has about 10,000.
const MAX_NODES: usize = 250_000;
/// Bytes of strings and keys that aliases and anchors copy. With the node
/// budget, this bounds the memory a hostile text can make the parse take
/// (an alias of a long string counts as one node). A notary YAML's merges
/// copy a few kilobytes.
const MAX_COPIED_BYTES: usize = 4 << 20;
/// YAML limits an implicit key (up to its `:`) to 1024 characters.
const MAX_KEY_LENGTH: usize = 1024;

/// Parses one YAML document. An empty document is `Value::Null`.
// Out of line, so that a profile shows the parse on its own.
#[inline(never)]
pub fn parse(text: &str) -> std::result::Result<Node, SyntaxError> {
    check_characters(text)
        .and_then(|()| Parser::new(text).document())
        .map_err(|err| *err)
}

/// The parser's results. The error is boxed: an `Ok(())` is then one word,
/// returned in a register, on every step of the parse.
type Result<T> = std::result::Result<T, Box<SyntaxError>>;

/// Refuses, before parsing, what YAML allows nowhere in its text: control
/// characters, U+FFFE and U+FFFF, a byte order mark after the start, and a
/// carriage return that does not end a line (YAML would count it as a line
/// break, editors do not, so every later position would be off).
fn check_characters(text: &str) -> Result<()> {
    let b = text.as_bytes();
    for i in 0..b.len() {
        if let Some(message) = character_problem(b, i) {
            return Err(Box::new(SyntaxError {
                pos: pos_of_offset(text, i),
                message,
            }));
        }
    }
    Ok(())
}

/// Where the line that `from` is on ends: its `\r\n` or `\n`, or the end of
/// the text. (A `\r` is always followed by `\n`: `check_characters`.)
fn line_end(b: &[u8], from: usize) -> usize {
    let mut end = b[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |n| from + n);
    if end > from && b[end - 1] == b'\r' {
        end -= 1;
    }
    end
}

/// What is wrong with the character at byte `i`, if anything.
fn character_problem(b: &[u8], i: usize) -> Option<String> {
    let c = b[i];
    let next = b.get(i + 1).copied().unwrap_or(0);
    let after = b.get(i + 2).copied().unwrap_or(0);
    Some(match c {
        b' '..=b'~' | b'\t' | b'\n' => return None,
        b'\r' if next == b'\n' => return None,
        b'\r' => "a carriage return without a newline (an old Mac line ending); save the file with \\n or \\r\\n line endings".to_owned(),
        0xc2 if (0x80..=0x9f).contains(&next) && next != 0x85 => {
            format!("the control character U+{next:04X} is not allowed in YAML")
        }
        0xef if next == 0xbb && after == 0xbf && i > 0 => {
            "a byte order mark (U+FEFF) is only allowed at the very start of the file".to_owned()
        }
        0xef if next == 0xbf && matches!(after, 0xbe | 0xbf) => {
            "U+FFFE and U+FFFF are not characters and are not allowed in YAML".to_owned()
        }
        0x80.. => return None,
        _ => format!("the control character U+{c:04X} is not allowed in YAML"),
    })
}

/// The position of byte `at`, counted as the parser counts (a leading byte
/// order mark takes no column).
fn pos_of_offset(text: &str, at: usize) -> Pos {
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() as u64 + 1;
    let mut column = before[line_start..].chars().count() as u64 + 1;
    if line_start == 0 && text.starts_with('\u{feff}') && at > 0 {
        column -= 1;
    }
    Pos { line, column }
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_break(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

/// A line break or the end of the text (the parser reads a 0 there: the
/// text has no NUL, `check_characters` refuses it).
fn is_end(c: u8) -> bool {
    c == 0 || is_break(c)
}

fn is_blank_or_end(c: u8) -> bool {
    is_blank(c) || is_end(c)
}

/// The bytes that continue a plain scalar whatever follows them: all but
/// blanks, line breaks and the indicators that can end one (`:`, `#`,
/// `,[]{}`).
const PLAIN: [bool; 256] = {
    let mut table = [true; 256];
    let stops = b" \t\n\r:#,[]{}";
    let mut i = 0;
    while i < stops.len() {
        table[stops[i] as usize] = false;
        i += 1;
    }
    table
};

fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

/// Where the parser is: byte offset, line, column (in characters), and
/// where the line starts.
#[derive(Clone, Copy)]
struct Mark {
    i: usize,
    line: u64,
    col: u64,
    line_start: usize,
}

impl Mark {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.col,
        }
    }
}

/// Where a node starts, and what may start there.
#[derive(Clone, Copy)]
struct Ctx {
    /// The column (0-based) of the innermost block mapping or sequence; -1
    /// at the top. A scalar continues only on lines indented deeper.
    indent: i64,
    /// A block mapping or sequence may start here: at the start of a line,
    /// or after `- `. Not after `key: ` or `--- ` on the same line.
    block: bool,
    /// This is a mapping's value: a list may then start on the next line at
    /// the key's own column (`key:\n- a`).
    map_value: bool,
    /// An anchor on the line above already names this node.
    anchored: bool,
}

/// What an anchor names.
enum Anchor {
    /// The anchored node is still being read: an alias to it would have to
    /// contain itself. The number tells this anchor from a later one of the
    /// same name inside the node, which then wins (an alias refers to the
    /// node whose anchor was written last before it).
    Open(u32),
    Node {
        node: Node,
        extent: Extent,
    },
    /// An anchored plain key: its text, resolved as a value only where an
    /// alias uses it.
    PlainKey(String),
}

/// The first token of a node, before it is known whether a `:` makes it a
/// mapping key.
enum Atom<'a> {
    Plain(Cow<'a, str>),
    Quoted(String),
    /// A flow collection.
    Collection(Node),
    Alias(Node),
    /// Only an anchor (`[&a]`): null, here.
    Empty(Pos),
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    at: Mark,
    /// Collections currently open.
    depth: usize,
    nodes: usize,
    /// Bytes of strings and keys copied by aliases and anchors.
    copied_bytes: usize,
    /// An alias or an anchor has copied nodes: the budget's message then
    /// names an alias bomb.
    copied: bool,
    anchors: HashMap<&'a str, Anchor>,
    anchors_opened: u32,
    /// The block indentation around the flow collection being read.
    flow_indent: i64,
    /// Where the copies of aliases are: they stay there even when merged.
    copies: Copies,
    /// The start of the last line whose indentation was checked.
    indentation_checked: Option<usize>,
    /// An infinite or NaN float was read. It is an error if it is still in
    /// the tree at the end (a merged entry may have been overridden).
    non_finite: bool,
}

/// An anchor written before a node that is still being read.
#[derive(Clone, Copy)]
struct Anchored<'a> {
    name: &'a str,
    serial: u32,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser {
            text,
            b: text.as_bytes(),
            at: Mark {
                i: 0,
                line: 1,
                col: 1,
                line_start: 0,
            },
            depth: 0,
            nodes: 0,
            copied_bytes: 0,
            copied: false,
            anchors: HashMap::new(),
            anchors_opened: 0,
            flow_indent: -1,
            copies: Copies::default(),
            non_finite: false,
            indentation_checked: None,
        }
    }

    // ------------------------------------------------------------ moving

    fn byte(&self, ahead: usize) -> u8 {
        self.b.get(self.at.i + ahead).copied().unwrap_or(0)
    }

    fn peek(&self) -> u8 {
        self.byte(0)
    }

    fn pos(&self) -> Pos {
        self.at.pos()
    }

    /// Steps over one ASCII character.
    fn bump(&mut self) {
        self.at.i += 1;
        self.at.col += 1;
    }

    /// Moves to byte `to` on the same line, counting characters.
    fn advance_to(&mut self, to: usize) {
        let bytes = &self.b[self.at.i..to];
        let chars = if bytes.is_ascii() {
            bytes.len()
        } else {
            bytes.iter().filter(|&&c| (c & 0xc0) != 0x80).count()
        };
        self.at.col += chars as u64;
        self.at.i = to;
    }

    /// Steps over a line break (`\n` or `\r\n`).
    fn bump_break(&mut self) {
        self.at.i += if self.peek() == b'\r' { 2 } else { 1 };
        self.at.line += 1;
        self.at.col = 1;
        self.at.line_start = self.at.i;
    }

    fn skip_blanks(&mut self) {
        let from = self.at.i;
        while is_blank(self.peek()) {
            self.at.i += 1;
        }
        self.at.col += (self.at.i - from) as u64;
    }

    /// At `#`: checks that it starts a comment (YAML wants a blank before
    /// it) and skips to the end of the line.
    fn skip_comment(&mut self) -> Result<()> {
        if self.at.i > self.at.line_start && !is_blank(self.b[self.at.i - 1]) {
            return self.fail(self.pos(), "a comment needs a space before its `#`");
        }
        let end = line_end(self.b, self.at.i);
        self.advance_to(end);
        Ok(())
    }

    /// Nothing but blanks and a comment remain on this line.
    fn at_line_end(&self) -> bool {
        let c = self.peek();
        is_end(c) || c == b'#'
    }

    /// Consumes the rest of the line after a value: blanks and a comment.
    fn end_line(&mut self) -> Result<()> {
        self.skip_blanks();
        if self.peek() == b'#' {
            self.skip_comment()?;
        }
        match self.peek() {
            c if is_end(c) => Ok(()),
            b':' if is_blank_or_end(self.byte(1)) => self.fail(
                self.pos(),
                "`: ` inside a value: quote the value, or start the nested mapping on a line of its own",
            ),
            _ => self.fail(self.pos(), "unexpected text after the value"),
        }
    }

    /// Skips blank lines and comments up to the next content, or the end of
    /// the text, in block context: where indentation is structure, and a tab
    /// in it is refused.
    fn skip_to_content(&mut self) -> Result<()> {
        loop {
            self.skip_blanks();
            match self.peek() {
                b'#' => self.skip_comment()?,
                c if is_break(c) => self.bump_break(),
                _ => break,
            }
        }
        self.check_indentation()
    }

    /// At content: refuses a tab in the blanks before it, when they are the
    /// line's indentation. (Inside quoted strings and block scalars a tab is
    /// text; those do not come here.)
    fn check_indentation(&mut self) -> Result<()> {
        // The first content of a line is checked; the line's later content
        // has no indentation to check.
        if self.at.i == self.at.line_start
            || self.indentation_checked == Some(self.at.line_start)
            || self.peek() == 0
        {
            return Ok(());
        }
        self.check_new_line_indentation()
    }

    fn check_new_line_indentation(&mut self) -> Result<()> {
        self.indentation_checked = Some(self.at.line_start);
        let lead = &self.b[self.at.line_start..self.at.i];
        if lead.iter().all(|&c| is_blank(c))
            && let Some(tab) = lead.iter().position(|&c| c == b'\t')
        {
            let pos = Pos {
                line: self.at.line,
                column: tab as u64 + 1,
            };
            return self.fail(
                pos,
                "a tab indents this line; YAML indentation must be spaces",
            );
        }
        Ok(())
    }

    /// Skips blanks, line breaks and comments inside `[ ]` or `{ }`, where
    /// indentation means nothing.
    fn skip_flow_space(&mut self) -> Result<()> {
        if !matches!(self.peek(), b' ' | b'\t' | b'#' | b'\n' | b'\r') {
            return self.check_indentation();
        }
        self.skip_flow_space_and_lines()
    }

    fn skip_flow_space_and_lines(&mut self) -> Result<()> {
        let mut new_line = false;
        loop {
            match self.peek() {
                b' ' | b'\t' => self.bump(),
                b'#' => self.skip_comment()?,
                c if is_break(c) => {
                    self.bump_break();
                    new_line = true;
                    if self.at_marker() {
                        return self.fail(self.pos(), "a document marker (`---` or `...`) inside `[ ]` or `{ }`; close the brackets first");
                    }
                }
                0 => return Ok(()),
                _ if new_line => {
                    self.check_flow_line(false)?;
                    return self.check_indentation();
                }
                _ => return self.check_indentation(),
            }
        }
    }

    /// At the first content of a line that continues a flow collection or
    /// a quoted scalar: YAML wants it indented with spaces deeper than the
    /// block around them (`flow_indent`). A closing bracket may sit at the
    /// block's column, as in JSON (`a: {` ... `}`), as serde-saphyr took it.
    fn check_flow_line(&self, quoted: bool) -> Result<()> {
        let lead = &self.b[self.at.line_start..self.at.i];
        let spaces = lead.iter().take_while(|&&c| c == b' ').count();
        if spaces as i64 > self.flow_indent || !quoted && matches!(self.peek(), b']' | b'}') {
            return Ok(());
        }
        if spaces < lead.len() {
            let tab = Pos {
                line: self.at.line,
                column: spaces as u64 + 1,
            };
            return self.fail(
                tab,
                "a tab indents this line; YAML indentation must be spaces",
            );
        }
        let message = if quoted {
            "this line is inside a quoted string: indent it deeper than the block around the string"
        } else {
            "this line is inside `[ ]` or `{ }`: indent it deeper than the block around the brackets"
        };
        self.fail(self.pos(), message)
    }

    /// `---` or `...` at the start of a line.
    fn at_marker(&self) -> bool {
        self.at.i == self.at.line_start
            && matches!(self.b.get(self.at.i..self.at.i + 3), Some(b"---" | b"..."))
            && is_blank_or_end(self.byte(3))
    }

    /// `- ` (or `-` at the end of a line): a block sequence entry.
    fn at_dash(&self) -> bool {
        self.peek() == b'-' && is_blank_or_end(self.byte(1))
    }

    /// The end of the text, or of the document.
    fn at_document_end(&self) -> bool {
        self.peek() == 0 || self.at_marker()
    }

    fn column(&self) -> i64 {
        self.at.col as i64 - 1
    }

    #[cold]
    fn fail<T>(&self, pos: Pos, message: impl Into<String>) -> Result<T> {
        Err(Box::new(SyntaxError {
            pos,
            message: message.into(),
        }))
    }

    // ------------------------------------------------------------ budgets

    fn count(&mut self, nodes: usize, at: Pos) -> Result<()> {
        self.nodes += nodes;
        if self.nodes <= MAX_NODES {
            Ok(())
        } else {
            self.too_many_nodes(at)
        }
    }

    #[cold]
    fn too_many_nodes(&self, at: Pos) -> Result<()> {
        if self.copied {
            self.fail(
                at,
                "too many YAML nodes once aliases are expanded (an alias bomb?)",
            )
        } else {
            self.fail(
                at,
                format!("more than {MAX_NODES} YAML nodes; this is not a notary YAML"),
            )
        }
    }

    /// Counts a copy of a node (`extent`) made for an anchor or an alias.
    fn copy(&mut self, extent: Extent, at: Pos) -> Result<()> {
        self.copied = true;
        self.copied_bytes += extent.bytes;
        if self.copied_bytes > MAX_COPIED_BYTES {
            return self.fail(
                at,
                "too much text once aliases are expanded (an alias bomb?)",
            );
        }
        self.count(extent.nodes, at)
    }

    /// Opens a collection.
    fn enter(&mut self, at: Pos) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail(
                at,
                format!("nesting deeper than {MAX_DEPTH} levels is not supported"),
            );
        }
        self.count(1, at)
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn scalar(&mut self, value: Value, pos: Pos) -> Result<Node> {
        self.count(1, pos)?;
        Ok(Node { pos, value })
    }

    // ------------------------------------------------------------ the document

    fn document(mut self) -> Result<Node> {
        if self.text.starts_with('\u{feff}') {
            // The byte order mark takes no column, as in every editor.
            self.at.i = 3;
            self.at.line_start = 3;
        }
        self.skip_end_markers()?;
        if self.peek() == b'%' {
            return self.fail(
                self.pos(),
                "YAML directives (`%YAML`, `%TAG`) are not supported",
            );
        }
        let block = Ctx {
            indent: -1,
            block: true,
            map_value: false,
            anchored: false,
        };
        let root = if self.at_marker() && self.peek() == b'-' {
            self.skip_marker();
            let after_marker = self.pos();
            self.skip_blanks();
            if self.at_line_end() {
                self.end_line()?;
                self.skip_to_content()?;
                if self.at_document_end() {
                    Some(self.scalar(Value::Null, after_marker)?)
                } else {
                    Some(self.node(block)?)
                }
            } else {
                Some(self.node(Ctx {
                    block: false,
                    ..block
                })?)
            }
        } else if self.at_document_end() {
            None
        } else {
            Some(self.node(block)?)
        };
        self.document_end()?;
        let root = match root {
            Some(root) => root,
            // An empty document is null at its end.
            None => self.scalar(Value::Null, self.pos())?,
        };
        if self.non_finite
            && let Some(pos) = non_finite(&root)
        {
            return self.fail(
                pos,
                "this number is infinite or not a number (NaN), which no notary setting can be",
            );
        }
        Ok(root)
    }

    /// After the top-level node: an optional `...`, then nothing.
    fn document_end(&mut self) -> Result<()> {
        let after_end_marker = self.skip_end_markers()?;
        if self.at_marker() && self.peek() == b'-' {
            return self.fail(
                self.pos(),
                "a second YAML document (`---`) is not supported: dokomodo reads one document",
            );
        }
        if self.peek() != 0 {
            if after_end_marker || self.at_marker() {
                return self.fail(self.pos(), "text after the end-of-document marker `...`");
            }
            return self.fail(
                self.pos(),
                "this line does not belong to the value above it; check its indentation",
            );
        }
        Ok(())
    }

    /// Skips to the next content, and over any `...` lines there. Returns
    /// whether there was one.
    fn skip_end_markers(&mut self) -> Result<bool> {
        let mut any = false;
        loop {
            self.skip_to_content()?;
            if !(self.at_marker() && self.peek() == b'.') {
                return Ok(any);
            }
            any = true;
            self.skip_marker();
            self.skip_blanks();
            if !self.at_line_end() {
                return self.fail(self.pos(), "text after the end-of-document marker `...`");
            }
            self.end_line()?;
        }
    }

    fn skip_marker(&mut self) {
        self.at.i += 3;
        self.at.col += 3;
    }

    // ------------------------------------------------------------ block structure

    /// A node starting at the parser's position, on this line.
    fn node(&mut self, ctx: Ctx) -> Result<Node> {
        let start = self.at;
        let anchor = self.anchor()?;
        // After `&a` and a line break, the node below may not have an
        // anchor of its own, unless it is a mapping's first key.
        let second_anchor = || {
            Err(Box::new(SyntaxError {
                pos: start.pos(),
                message: "a node can have only one anchor".to_owned(),
            }))
        };
        if let Some(anchor) = anchor {
            let after_anchor = self.pos();
            self.skip_blanks();
            if self.at_line_end() {
                if ctx.anchored {
                    return second_anchor();
                }
                // The anchored node starts on a later line, or is null.
                self.end_line()?;
                let node = self.node_below(ctx.indent, after_anchor, ctx.map_value, true)?;
                return self.close_anchor(anchor, node);
            }
        }
        let double = ctx.anchored && anchor.is_some();
        match self.peek() {
            b'!' => return self.tag(),
            b'-' if self.at_dash() => {
                if !ctx.block || anchor.is_some() {
                    return self.fail(self.pos(), "a list item (`- `) cannot start on the same line as a key or anchor; start the list on the next line");
                }
                return self.block_seq(false);
            }
            b'?' if is_blank_or_end(self.byte(1)) => return self.complex_key(),
            b':' if is_blank_or_end(self.byte(1)) => return self.missing_key(),
            b'|' | b'>' if double => return second_anchor(),
            b'|' | b'>' => {
                let node = self.block_scalar(ctx.indent)?;
                return self.close(anchor, node);
            }
            b'*' if anchor.is_some() => {
                return self.fail(self.pos(), "an alias (`*name`) cannot have an anchor");
            }
            _ => {}
        }
        let at = self.at;
        self.flow_indent = ctx.indent;
        let atom = self.atom()?;
        self.skip_blanks();
        if self.peek() == b':' && is_blank_or_end(self.byte(1)) {
            if !ctx.block {
                return self.fail(
                    self.pos(),
                    "`: ` inside a value: quote the value, or start the nested mapping on a line of its own",
                );
            }
            let key = self.key(atom, at, start, anchor)?;
            return self.block_map(start, key);
        }
        if double {
            return second_anchor();
        }
        if ctx.anchored && matches!(atom, Atom::Alias(_)) {
            // `&b` on the line above, as `&b *a` on one line.
            return self.fail(at.pos(), "an alias (`*name`) cannot have an anchor");
        }
        let node = match atom {
            Atom::Plain(first) => {
                let text = self.plain_rest(first, Some(ctx.indent))?;
                self.resolve(&text, at.pos())?
            }
            Atom::Quoted(text) => self.scalar(Value::Str(text), at.pos())?,
            Atom::Collection(node) | Atom::Alias(node) => node,
            Atom::Empty(pos) => self.scalar(Value::Null, pos)?,
        };
        self.end_line()?;
        self.close(anchor, node)
    }

    /// A node that starts on a later line (after `key:` or `- ` with nothing
    /// more on their line): more indented than `indent`, or a list at the
    /// key's column; else null at `null_pos`. `anchored`: an anchor stood
    /// before the line break.
    fn node_below(
        &mut self,
        indent: i64,
        null_pos: Pos,
        map_value: bool,
        anchored: bool,
    ) -> Result<Node> {
        self.skip_to_content()?;
        if !self.at_document_end() {
            let column = self.column();
            if column > indent {
                return self.node(Ctx {
                    indent,
                    block: true,
                    map_value,
                    anchored,
                });
            }
            if column == indent && map_value && self.at_dash() {
                return self.block_seq(true);
            }
        }
        self.scalar(Value::Null, null_pos)
    }

    /// A block mapping whose first key has been read; the parser is at its
    /// `:`. `start` is where the mapping starts (its first key, or the anchor
    /// before it).
    fn block_map(&mut self, start: Mark, first: (Key, bool)) -> Result<Node> {
        self.enter(start.pos())?;
        let col = start.col;
        let indent = col as i64 - 1;
        let mut entries = Entries::new();
        let mut key = first;
        loop {
            let colon = self.pos();
            self.bump();
            self.skip_blanks();
            let value = if self.at_line_end() {
                self.end_line()?;
                self.node_below(indent, colon, true, false)?
            } else {
                self.node(Ctx {
                    indent,
                    block: false,
                    map_value: true,
                    anchored: false,
                })?
            };
            entries.insert(key, value)?;
            self.skip_to_content()?;
            if self.at_document_end() || self.at.col < col {
                break;
            }
            if self.at.col > col {
                return self.fail(
                    self.pos(),
                    "this line does not line up with the keys above it; check its indentation",
                );
            }
            key = self.block_key()?;
        }
        self.leave();
        Ok(Node {
            pos: start.pos(),
            value: Value::Map(entries.finish(&self.copies)?),
        })
    }

    /// The key of a block mapping entry after the first, at the start of
    /// its line; leaves the parser at the `:`.
    fn block_key(&mut self) -> Result<(Key, bool)> {
        let start = self.at;
        match self.peek() {
            b'-' if self.at_dash() => {
                return self.fail(
                    self.pos(),
                    "a list item (`- `) where a mapping key was expected; check the indentation",
                );
            }
            b'?' if is_blank_or_end(self.byte(1)) => return self.complex_key(),
            b':' if is_blank_or_end(self.byte(1)) => return self.missing_key(),
            _ => {}
        }
        let anchor = self.anchor()?;
        if anchor.is_some() {
            self.skip_blanks();
            if self.at_line_end() {
                return self.fail(
                    start.pos(),
                    "an anchor before a key must be on the key's line",
                );
            }
        }
        if self.peek() == b'!' {
            return self.tag();
        }
        let at = self.at;
        self.flow_indent = start.col as i64 - 1;
        let atom = self.atom()?;
        self.skip_blanks();
        if self.peek() == b':' && is_blank_or_end(self.byte(1)) {
            return self.key(atom, at, start, anchor);
        }
        match atom {
            Atom::Plain(_) if self.at_line_end() => self.fail(
                at.pos(),
                "expected `key: value`, but this line has no `:` after its first word(s)",
            ),
            _ => self.fail(self.pos(), "expected `:` after the key"),
        }
    }

    /// Checks a key before its `:` and records its anchor. Returns the key
    /// and whether it is the merge key `<<`.
    fn key(
        &mut self,
        atom: Atom<'a>,
        at: Mark,
        start: Mark,
        anchor: Option<Anchored<'a>>,
    ) -> Result<(Key, bool)> {
        if matches!(atom, Atom::Quoted(_)) && self.at.line != at.line {
            return self.fail(at.pos(), "a mapping key must fit on one line");
        }
        self.key_length(start)?;
        self.flow_key(atom, at.pos(), anchor)
    }

    /// Refuses a key longer than YAML allows, from `start` to the `:` here.
    fn key_length(&self, start: Mark) -> Result<()> {
        let length = if start.line == self.at.line {
            (self.at.col - start.col) as usize
        } else {
            self.text[start.i..self.at.i].chars().count()
        };
        if length > MAX_KEY_LENGTH {
            return self.fail(
                start.pos(),
                format!("a key longer than {MAX_KEY_LENGTH} characters"),
            );
        }
        Ok(())
    }

    /// Turns a key's atom into the key; its anchor now names it.
    fn flow_key(
        &mut self,
        atom: Atom<'a>,
        at: Pos,
        anchor: Option<Anchored<'a>>,
    ) -> Result<(Key, bool)> {
        let (name, plain) = match atom {
            Atom::Plain(text) => {
                if is_null(&text) {
                    let shown = if text.is_empty() {
                        "an empty key".to_owned()
                    } else {
                        format!("`{text}`")
                    };
                    return self.fail(
                        at,
                        format!("{shown} is null, not a name; quote it to use it as a key"),
                    );
                }
                (text.into_owned(), true)
            }
            Atom::Quoted(text) => (text, false),
            Atom::Collection(_) => return self.fail(at, "keys must be plain strings"),
            Atom::Alias(_) => {
                return self.fail(at, "an alias (`*name`) as a mapping key is not supported");
            }
            Atom::Empty(_) => return self.fail(at, "an empty (null) mapping key is not supported"),
        };
        self.count(1, at)?;
        if let Some(anchor) = anchor {
            let named = if plain {
                Anchor::PlainKey(name.clone())
            } else {
                Anchor::Node {
                    node: Node {
                        pos: at,
                        value: Value::Str(name.clone()),
                    },
                    extent: Extent {
                        nodes: 1,
                        height: 0,
                        bytes: name.len(),
                    },
                }
            };
            self.anchors.insert(anchor.name, named);
        }
        let merge = plain && name == "<<";
        Ok((Key { pos: at, name }, merge))
    }

    /// A block sequence; the parser is at its first `-`. `indentless`: a
    /// mapping's value at the key's own column (`key:\n- a`).
    fn block_seq(&mut self, indentless: bool) -> Result<Node> {
        let col = self.at.col;
        let mut pos = self.pos();
        self.enter(pos)?;
        let indent = col as i64 - 1;
        let mut items = Vec::new();
        loop {
            self.bump();
            let blanks = self.at.i;
            self.skip_blanks();
            if self.at_dash() && self.b[blanks..self.at.i].contains(&b'\t') {
                return self.fail(
                    self.pos(),
                    "a tab before a nested list item; YAML indentation must be spaces",
                );
            }
            let item = if self.at_line_end() {
                if self.peek() == b'#' {
                    self.skip_comment()?;
                }
                let end_of_line = self.pos();
                if indentless && items.is_empty() {
                    pos = end_of_line;
                }
                self.node_below(indent, end_of_line, false, false)?
            } else {
                if indentless && items.is_empty() {
                    // As serde-saphyr placed such a list: at its first item.
                    pos = self.pos();
                    if self.peek() == b'*' {
                        self.copies.lists.insert(pos);
                    }
                }
                self.node(Ctx {
                    indent,
                    block: true,
                    map_value: false,
                    anchored: false,
                })?
            };
            items.push(item);
            self.skip_to_content()?;
            if self.at_document_end() || self.at.col < col {
                break;
            }
            if self.at.col > col {
                return self.fail(self.pos(), "this line does not line up with the list items above it; check its indentation");
            }
            if !self.at_dash() {
                if indentless {
                    break;
                }
                return self.fail(
                    self.pos(),
                    "expected a list item (`- `) at this indentation",
                );
            }
        }
        self.leave();
        Ok(Node {
            pos,
            value: Value::Seq(tight(items)),
        })
    }

    /// A plain scalar, a quoted scalar or a flow collection: what may be a
    /// block mapping's key.
    fn atom(&mut self) -> Result<Atom<'a>> {
        Ok(match self.peek() {
            c if c.is_ascii_alphanumeric() => Atom::Plain(Cow::Borrowed(self.plain_line(false))),
            b'"' => Atom::Quoted(self.double_quoted()?),
            b'\'' => Atom::Quoted(self.single_quoted()?),
            b'[' => Atom::Collection(self.flow_seq()?),
            b'{' => Atom::Collection(self.flow_map()?),
            b'*' => Atom::Alias(self.alias()?),
            _ => {
                self.check_plain_start(false)?;
                Atom::Plain(Cow::Borrowed(self.plain_line(false)))
            }
        })
    }

    // ------------------------------------------------------------ flow collections

    fn flow_seq(&mut self) -> Result<Node> {
        let start = self.pos();
        self.enter(start)?;
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_flow_space()?;
            match self.peek() {
                b']' => break,
                0 => return self.fail(start, "unclosed bracket '['"),
                _ => {}
            }
            let item = self.flow_seq_item()?;
            items.push(item);
            self.skip_flow_space()?;
            match self.peek() {
                b',' => self.bump(),
                b']' => break,
                0 => return self.fail(start, "unclosed bracket '['"),
                _ => return self.fail(self.pos(), "expected `,` or `]` after a list item"),
            }
        }
        self.bump();
        self.leave();
        Ok(Node {
            pos: start,
            value: Value::Seq(tight(items)),
        })
    }

    /// An item of `[ ]`: a node, or a one-entry mapping (`[a: 1]`).
    fn flow_seq_item(&mut self) -> Result<Node> {
        let start = self.at;
        let (anchor, at, atom) = self.flow_atom()?;
        let json_like = matches!(atom, Atom::Quoted(_) | Atom::Collection(_));
        self.skip_flow_space()?;
        if self.at_value_indicator(json_like)? {
            if self.at.line != start.line {
                return self.fail(
                    self.pos(),
                    "in `[ ]`, a key and its `:` must be on one line",
                );
            }
            self.key_length(start)?;
            let key = self.flow_key(atom, at.pos(), anchor)?;
            self.enter(start.pos())?;
            let value = self.flow_value(b']')?;
            let mut entries = Entries::new();
            entries.insert(key, value)?;
            self.leave();
            return Ok(Node {
                pos: start.pos(),
                value: Value::Map(entries.finish(&self.copies)?),
            });
        }
        self.flow_node_from(anchor, atom, at.pos())
    }

    fn flow_map(&mut self) -> Result<Node> {
        let start = self.pos();
        self.enter(start)?;
        self.bump();
        let mut entries = Entries::new();
        loop {
            self.skip_flow_space()?;
            match self.peek() {
                b'}' => break,
                0 => return self.fail(start, "unclosed brace '{'"),
                _ => {}
            }
            let key_start = self.at;
            let (anchor, at, atom) = self.flow_atom()?;
            let json_like = matches!(atom, Atom::Quoted(_) | Atom::Collection(_));
            self.skip_flow_space()?;
            let entry = if self.at_value_indicator(json_like)? {
                self.key_length(key_start)?;
                if key_start.line < self.at.line
                    && [key_start.col, at.col, self.at.col]
                        .iter()
                        .any(|&col| col as i64 - 1 <= self.flow_indent)
                {
                    return self.fail(
                        self.pos(),
                        "a key whose `:` is on a later line must be indented deeper than the block around `{ }`",
                    );
                }
                let key = self.flow_key(atom, at.pos(), anchor)?;
                (key, self.flow_value(b'}')?)
            } else {
                // `{a, b}`: a key without a value.
                let key = self.flow_key(atom, at.pos(), anchor)?;
                let null = self.pos();
                (key, self.scalar(Value::Null, null)?)
            };
            entries.insert(entry.0, entry.1)?;
            self.skip_flow_space()?;
            match self.peek() {
                b',' => self.bump(),
                b'}' => break,
                0 => return self.fail(start, "unclosed brace '{'"),
                _ => return self.fail(self.pos(), "expected `,` or `}` after a mapping entry"),
            }
        }
        self.bump();
        self.leave();
        Ok(Node {
            pos: start,
            value: Value::Map(entries.finish(&self.copies)?),
        })
    }

    /// At `:` after a key inside `[ ]` or `{ }`: the value indicator. After a
    /// quoted key or a collection it needs no space (`{"a":1}`, as in JSON).
    fn at_value_indicator(&self, json_like: bool) -> Result<bool> {
        if self.peek() != b':' {
            return Ok(false);
        }
        let next = self.byte(1);
        if !json_like && matches!(next, b'[' | b'{') {
            return self.fail(
                self.pos(),
                format!("a space is needed between `:` and `{}`", next as char),
            );
        }
        Ok(json_like || is_blank_or_end(next) || is_flow_indicator(next))
    }

    /// The value after a key's `:` inside `[ ]` or `{ }`; null (at the `:`)
    /// when there is none.
    fn flow_value(&mut self, close: u8) -> Result<Node> {
        let colon = self.pos();
        self.bump();
        self.skip_flow_space()?;
        if matches!(self.peek(), b',' | 0) || self.peek() == close {
            return self.scalar(Value::Null, colon);
        }
        self.flow_node()
    }

    fn flow_node(&mut self) -> Result<Node> {
        let (anchor, at, atom) = self.flow_atom()?;
        self.flow_node_from(anchor, atom, at.pos())
    }

    fn flow_node_from(
        &mut self,
        anchor: Option<Anchored<'a>>,
        atom: Atom<'a>,
        at: Pos,
    ) -> Result<Node> {
        let node = match atom {
            Atom::Plain(text) => self.resolve(&text, at)?,
            Atom::Quoted(text) => self.scalar(Value::Str(text), at)?,
            Atom::Collection(node) | Atom::Alias(node) => node,
            Atom::Empty(pos) => self.scalar(Value::Null, pos)?,
        };
        self.close(anchor, node)
    }

    /// The first part of a node inside `[ ]` or `{ }`: its anchor, where
    /// its content starts, and the content. An anchor is left open.
    fn flow_atom(&mut self) -> Result<(Option<Anchored<'a>>, Mark, Atom<'a>)> {
        if self.peek().is_ascii_alphanumeric() {
            // A plain scalar: the common case, without the indicators' checks.
            let at = self.at;
            let first = Cow::Borrowed(self.plain_line(true));
            return Ok((None, at, Atom::Plain(self.plain_rest(first, None)?)));
        }
        let anchor = self.anchor()?;
        let empty = self.pos();
        if anchor.is_some() {
            self.skip_flow_space()?;
            if self.peek() == b'&' {
                return self.fail(self.pos(), "a node can have only one anchor");
            }
        }
        let at = self.at;
        let c = self.peek();
        let next = self.byte(1);
        let separated = is_blank_or_end(next) || is_flow_indicator(next);
        let atom = match c {
            b'!' => return self.tag(),
            b'*' if anchor.is_some() => {
                return self.fail(at.pos(), "an alias (`*name`) cannot have an anchor");
            }
            b'*' => Atom::Alias(self.alias()?),
            b'[' => Atom::Collection(self.flow_seq()?),
            b'{' => Atom::Collection(self.flow_map()?),
            b'"' => Atom::Quoted(self.double_quoted()?),
            b'\'' => Atom::Quoted(self.single_quoted()?),
            b',' | b']' | b'}' if anchor.is_some() => Atom::Empty(empty),
            b':' if separated && anchor.is_some() => Atom::Empty(empty),
            b'?' if separated => return self.complex_key(),
            b':' if separated => return self.missing_key(),
            b',' => {
                return self.fail(
                    at.pos(),
                    "an empty entry: a value is missing before this `,`",
                );
            }
            b'-' if is_blank_or_end(next) => {
                return self.fail(
                    at.pos(),
                    "a block list item (`- `) inside `[ ]` or `{ }`; write `[a, b]`",
                );
            }
            b'|' | b'>' => {
                return self.fail(
                    at.pos(),
                    "a block scalar (`|` or `>`) inside `[ ]` or `{ }`; use a quoted string",
                );
            }
            _ => {
                self.check_plain_start(true)?;
                let first = Cow::Borrowed(self.plain_line(true));
                Atom::Plain(self.plain_rest(first, None)?)
            }
        };
        Ok((anchor, at, atom))
    }

    // ------------------------------------------------------------ anchors and aliases

    /// `&name`, if the parser is at one; leaves the parser after the name.
    /// The anchor is open until `close` gives it its node.
    fn anchor(&mut self) -> Result<Option<Anchored<'a>>> {
        if self.peek() != b'&' {
            return Ok(None);
        }
        self.new_anchor().map(Some)
    }

    fn new_anchor(&mut self) -> Result<Anchored<'a>> {
        let at = self.pos();
        self.bump();
        let name = self.name();
        if name.is_empty() {
            return self.fail(at, "an anchor (`&`) needs a name");
        }
        self.anchors_opened += 1;
        let serial = self.anchors_opened;
        self.anchors.insert(name, Anchor::Open(serial));
        Ok(Anchored { name, serial })
    }

    /// An anchor's or alias's name: up to a blank, a line break or `,[]{}`.
    fn name(&mut self) -> &'a str {
        let from = self.at.i;
        let end = self.b[from..]
            .iter()
            .position(|&c| is_blank_or_end(c) || is_flow_indicator(c))
            .map_or(self.b.len(), |n| from + n);
        self.advance_to(end);
        &self.text[from..end]
    }

    /// Gives an open anchor its node, unless an anchor of the same name
    /// inside that node has taken the name since.
    /// The anchor keeps a copy of its node, counted in the budgets: an
    /// anchor nested in anchors is in each of their copies.
    fn close_anchor(&mut self, anchor: Anchored<'a>, node: Node) -> Result<Node> {
        if matches!(self.anchors.get(anchor.name), Some(Anchor::Open(serial)) if *serial == anchor.serial)
        {
            let extent = measure(&node);
            self.copy(extent, node.pos)?;
            self.anchors.insert(
                anchor.name,
                Anchor::Node {
                    node: node.clone(),
                    extent,
                },
            );
        }
        Ok(node)
    }

    fn close(&mut self, anchor: Option<Anchored<'a>>, node: Node) -> Result<Node> {
        match anchor {
            Some(anchor) => self.close_anchor(anchor, node),
            None => Ok(node),
        }
    }

    /// `*name`: a copy of the anchored node, every part of it placed at the
    /// alias (as serde-saphyr placed them).
    fn alias(&mut self) -> Result<Node> {
        let at = self.pos();
        self.bump();
        let name = self.name();
        if name.is_empty() {
            return self.fail(at, "an alias (`*`) needs a name");
        }
        let extent = match self.anchors.get(name) {
            None => return self.fail(at, format!("no anchor `&{name}` before this alias")),
            Some(Anchor::Open(_)) => {
                return self.fail(
                    at,
                    format!("the alias `*{name}` is inside the node it refers to"),
                );
            }
            Some(Anchor::PlainKey(text)) => Extent {
                nodes: 1,
                height: 0,
                bytes: text.len(),
            },
            Some(Anchor::Node { extent, .. }) => *extent,
        };
        self.copy(extent, at)?;
        if self.depth + extent.height > MAX_DEPTH {
            return self.fail(
                at,
                format!("nesting deeper than {MAX_DEPTH} levels is not supported"),
            );
        }
        match &self.anchors[name] {
            Anchor::PlainKey(text) => {
                let value = resolve_plain(text);
                self.non_finite |= matches!(value, Value::Float(f) if !f.is_finite());
                Ok(Node { pos: at, value })
            }
            Anchor::Node { node, .. } => {
                let node = copy_at(node, at);
                self.copies.aliases.insert(at);
                Ok(node)
            }
            Anchor::Open(_) => unreachable!("checked above"),
        }
    }

    // ------------------------------------------------------------ refused constructs

    fn tag<T>(&self) -> Result<T> {
        let at = self.pos();
        let from = self.at.i;
        let end = self.b[from..]
            .iter()
            .position(|&c| is_blank_or_end(c))
            .map_or(self.b.len(), |n| from + n);
        let tag = &self.text[from..end];
        self.fail(at, format!("YAML tags like `{tag}` are not supported; write the value without a tag (quote it to make it a string)"))
    }

    fn complex_key<T>(&self) -> Result<T> {
        self.fail(
            self.pos(),
            "complex mapping keys (`? `) are not supported; write `key: value`",
        )
    }

    fn missing_key<T>(&self) -> Result<T> {
        self.fail(self.pos(), "a mapping entry without a key before its `:`")
    }

    // ------------------------------------------------------------ plain scalars

    /// Refuses a plain scalar that starts with an indicator YAML reserves.
    fn check_plain_start(&self, flow: bool) -> Result<()> {
        let c = self.peek();
        let next = self.byte(1);
        let ok = match c {
            b'-' | b'?' | b':' => !(is_blank_or_end(next) || flow && is_flow_indicator(next)),
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`' => false,
            _ => !is_end(c),
        };
        if ok {
            return Ok(());
        }
        let message = match c {
            0 => "a value was expected here, at the end of the text".to_owned(),
            c if is_break(c) => "a value was expected here".to_owned(),
            b']' | b'}' => format!("`{}` without a matching opening bracket", c as char),
            b'@' | b'`' => format!(
                "`{}` is reserved in YAML and cannot start a value; quote the value",
                c as char
            ),
            _ => format!("`{}` cannot start a value; quote the value", c as char),
        };
        self.fail(self.pos(), message)
    }

    /// One line of a plain scalar, without its trailing blanks: up to `: `,
    /// ` #`, the end of the line, and inside `[ ]` or `{ }` up to `,[]{}`.
    fn plain_line(&mut self, flow: bool) -> &'a str {
        let from = self.at.i;
        let mut end = from;
        let mut j = from;
        while let Some(&c) = self.b.get(j) {
            if PLAIN[usize::from(c)] {
                // Neither an indicator nor a blank: the common case.
                j += 1;
                end = j;
                continue;
            }
            match c {
                b'\n' | b'\r' => break,
                b' ' | b'\t' => {
                    j += 1;
                    continue;
                }
                b':' => {
                    let next = self.b.get(j + 1).copied().unwrap_or(0);
                    if is_blank_or_end(next) || (flow && is_flow_indicator(next)) {
                        break;
                    }
                }
                b'#' if j > from && is_blank(self.b[j - 1]) => break,
                b',' | b'[' | b']' | b'{' | b'}' if flow => break,
                _ => {}
            }
            j += 1;
            end = j;
        }
        self.advance_to(end);
        &self.text[from..end]
    }

    /// The lines that continue a plain scalar after its `first` line,
    /// folded (one line break is a space, n+1 are n newlines). In block
    /// context (`indent` given) they must be indented deeper than `indent`.
    fn plain_rest(&mut self, first: Cow<'a, str>, indent: Option<i64>) -> Result<Cow<'a, str>> {
        if !is_blank(self.peek()) && !is_break(self.peek()) {
            return Ok(first); // ended by `: `, `,` or a bracket: one line
        }
        let mut text = first;
        loop {
            let end = self.at;
            self.skip_blanks();
            if !is_break(self.peek()) {
                self.at = end;
                break;
            }
            let mut breaks = 0;
            while is_break(self.peek()) {
                self.bump_break();
                breaks += 1;
                self.skip_blanks();
            }
            if self.peek() != b'#' {
                if indent.is_none() && self.peek() != 0 {
                    self.check_flow_line(false)?;
                }
                self.check_indentation()?;
            }
            let continues = match indent {
                Some(indent) => self.column() > indent,
                None => true,
            } && self.peek() != 0
                && self.peek() != b'#'
                && !self.at_marker();
            if !continues {
                self.at = end;
                break;
            }
            let line = self.plain_line(indent.is_none());
            if line.is_empty() {
                self.at = end;
                break;
            }
            let text = text.to_mut();
            if breaks == 1 {
                text.push(' ');
            } else {
                text.extend(std::iter::repeat_n('\n', breaks - 1));
            }
            text.push_str(line);
        }
        Ok(text)
    }

    /// A plain scalar's value: null, boolean, integer, float or string.
    fn resolve(&mut self, text: &str, at: Pos) -> Result<Node> {
        let value = resolve_plain(text);
        self.non_finite |= matches!(value, Value::Float(f) if !f.is_finite());
        self.scalar(value, at)
    }

    // ------------------------------------------------------------ quoted scalars

    fn double_quoted(&mut self) -> Result<String> {
        let start = self.pos();
        self.bump();
        let mut out = String::new();
        loop {
            let from = self.at.i;
            let run = self.b[from..]
                .iter()
                .position(|&c| matches!(c, b'"' | b'\\' | b' ' | b'\t' | b'\n' | b'\r'))
                .map_or(self.b.len(), |n| from + n);
            self.advance_to(run);
            out.push_str(&self.text[from..run]);
            match self.peek() {
                b'"' => {
                    self.bump();
                    return Ok(out);
                }
                0 => {
                    return self.fail(
                        start,
                        "unclosed quote: this double-quoted string never ends",
                    );
                }
                b'\\' => self.escape(&mut out)?,
                _ => self.quoted_space(&mut out, start)?,
            }
        }
    }

    fn single_quoted(&mut self) -> Result<String> {
        let start = self.pos();
        self.bump();
        let mut out = String::new();
        loop {
            let from = self.at.i;
            let run = self.b[from..]
                .iter()
                .position(|&c| matches!(c, b'\'' | b' ' | b'\t' | b'\n' | b'\r'))
                .map_or(self.b.len(), |n| from + n);
            self.advance_to(run);
            out.push_str(&self.text[from..run]);
            match self.peek() {
                b'\'' if self.byte(1) == b'\'' => {
                    out.push('\'');
                    self.bump();
                    self.bump();
                }
                b'\'' => {
                    self.bump();
                    return Ok(out);
                }
                0 => {
                    return self.fail(
                        start,
                        "unclosed quote: this single-quoted string never ends",
                    );
                }
                _ => self.quoted_space(&mut out, start)?,
            }
        }
    }

    /// Blanks inside a quoted scalar: kept inside a line, folded across
    /// lines (trailing and leading blanks dropped; one line break is a space,
    /// n+1 are n newlines).
    fn quoted_space(&mut self, out: &mut String, start: Pos) -> Result<()> {
        let from = self.at.i;
        self.skip_blanks();
        if !is_break(self.peek()) {
            out.push_str(&self.text[from..self.at.i]);
            return Ok(());
        }
        let empty = self.quoted_breaks(start)?;
        if empty == 0 {
            out.push(' ');
        } else {
            out.extend(std::iter::repeat_n('\n', empty));
        }
        Ok(())
    }

    /// At a line break inside a quoted scalar: skips it, the empty lines
    /// after it and the next line's leading blanks; returns how many empty
    /// lines there were.
    fn quoted_breaks(&mut self, start: Pos) -> Result<usize> {
        let mut empty = 0;
        self.bump_break();
        loop {
            if self.at_marker() {
                return self.fail(start, "a document marker (`---` or `...`) inside a quoted string; close the quote first");
            }
            self.skip_blanks();
            if !is_break(self.peek()) {
                if self.peek() != 0 {
                    self.check_flow_line(true)?;
                }
                return Ok(empty);
            }
            self.bump_break();
            empty += 1;
        }
    }

    /// At `\` in a double-quoted scalar.
    fn escape(&mut self, out: &mut String) -> Result<()> {
        let at = self.pos();
        self.bump();
        let c = self.peek();
        let simple = match c {
            b'0' => '\0',
            b'a' => '\x07',
            b'b' => '\x08',
            b't' | b'\t' => '\t',
            b'n' => '\n',
            b'v' => '\x0b',
            b'f' => '\x0c',
            b'r' => '\r',
            b'e' => '\x1b',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            b'x' | b'u' | b'U' => {
                self.bump();
                let code = self.hex_escape(c, at)?;
                let code = if (0xd800..0xdc00).contains(&code) && c == b'u' {
                    // A UTF-16 surrogate pair, as JSON writes characters
                    // beyond the first plane.
                    if self.peek() != b'\\' || self.byte(1) != b'u' {
                        return self.fail(at, "a lone UTF-16 surrogate in a `\\u` escape");
                    }
                    self.bump();
                    self.bump();
                    let low = self.hex_escape(b'u', at)?;
                    if !(0xdc00..0xe000).contains(&low) {
                        return self.fail(at, "a lone UTF-16 surrogate in a `\\u` escape");
                    }
                    0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
                } else {
                    code
                };
                match char::from_u32(code) {
                    Some(ch) => out.push(ch),
                    None => {
                        return self.fail(
                            at,
                            format!("`\\{}` escapes no Unicode character", c as char),
                        );
                    }
                }
                return Ok(());
            }
            c if is_break(c) => {
                // An escaped line break: the lines join without a space.
                let empty = self.quoted_breaks(at)?;
                out.extend(std::iter::repeat_n('\n', empty));
                return Ok(());
            }
            0 => return self.fail(at, "unclosed quote: this double-quoted string never ends"),
            _ => {
                let shown = self.text[self.at.i..].chars().next().unwrap_or(' ');
                return self.fail(
                    at,
                    format!("unknown escape `\\{shown}` in a double-quoted string"),
                );
            }
        };
        out.push(simple);
        self.bump();
        Ok(())
    }

    /// The hexadecimal digits after `\x` (2), `\u` (4) or `\U` (8).
    fn hex_escape(&mut self, kind: u8, at: Pos) -> Result<u32> {
        let digits = match kind {
            b'x' => 2,
            b'u' => 4,
            _ => 8,
        };
        let mut code: u32 = 0;
        for _ in 0..digits {
            let Some(d) = (self.peek() as char).to_digit(16) else {
                return self.fail(
                    at,
                    format!("`\\{}` needs {digits} hexadecimal digits", kind as char),
                );
            };
            code = code.saturating_mul(16).saturating_add(d);
            self.bump();
        }
        Ok(code)
    }

    // ------------------------------------------------------------ block scalars

    /// `|` (literal) or `>` (folded), with their chomping (`-`, `+`) and
    /// indentation (1-9) indicators. The scalar's position is its first
    /// content line, as serde-saphyr had it.
    fn block_scalar(&mut self, indent: i64) -> Result<Node> {
        let header = self.at;
        let literal = self.peek() == b'|';
        self.bump();
        let mut chomp = None;
        let mut increment = 0;
        loop {
            match self.peek() {
                c @ (b'+' | b'-') if chomp.is_none() => chomp = Some(c),
                b'0' if increment == 0 => {
                    return self.fail(
                        header.pos(),
                        "a block scalar's indentation indicator must be 1 to 9, not 0",
                    );
                }
                c @ b'1'..=b'9' if increment == 0 => increment = (c - b'0') as usize,
                _ => break,
            }
            self.bump();
        }
        self.skip_blanks();
        if self.peek() == b'#' {
            self.skip_comment()?;
        }
        if !is_end(self.peek()) {
            return self.fail(self.pos(), "unexpected text after a block scalar's `|` or `>`; the text starts on the next line");
        }
        let mut header_break = false;
        if is_break(self.peek()) {
            self.bump_break();
            header_break = true;
        }
        if self.peek() == b'\t' {
            return self.fail(
                self.pos(),
                "a tab indents this line; YAML indentation must be spaces",
            );
        }
        let mut breaks = 0;
        let content_indent = if increment > 0 {
            let content_indent = if indent >= 0 {
                indent as usize + increment
            } else {
                increment
            };
            self.block_indent(content_indent, &mut breaks);
            content_indent
        } else {
            let mut deepest = 0;
            loop {
                while self.peek() == b' ' {
                    self.bump();
                }
                deepest = deepest.max(self.at.col as usize - 1);
                if !is_break(self.peek()) {
                    break;
                }
                self.bump_break();
                breaks += 1;
            }
            deepest.max((indent + 1) as usize)
        };
        let column = self.at.col as usize - 1;
        if self.peek() == 0 {
            // No content line before the end of the text.
            let text = match chomp {
                Some(b'+') if self.at.line == header.line => String::new(),
                Some(b'+') if breaks == 0 && column > 0 && header_break => "\n".to_owned(),
                Some(b'+') => "\n".repeat(breaks),
                _ => String::new(),
            };
            return self.scalar(Value::Str(text), header.pos());
        }
        if column < content_indent && column as i64 > indent {
            let at_root_end =
                indent < 0 && column == 0 && (self.at_marker() || self.peek() == b'#');
            if !at_root_end {
                return self.fail(self.pos(), "this block scalar's first line is indented less than the empty lines before it");
            }
        }
        let start = self.pos();
        let mut text = String::new();
        let mut leading_break = false;
        let mut leading_blank = false;
        while self.at.col as usize - 1 == content_indent && self.peek() != 0 {
            if content_indent == 0 && self.at_marker() {
                break;
            }
            let trailing_blank = is_blank(self.peek());
            if !literal && leading_break && !leading_blank && !trailing_blank {
                if breaks == 0 {
                    text.push(' ');
                }
                text.extend(std::iter::repeat_n('\n', breaks));
            } else {
                if leading_break {
                    text.push('\n');
                }
                text.extend(std::iter::repeat_n('\n', breaks));
            }
            leading_break = false;
            breaks = 0;
            leading_blank = is_blank(self.peek());
            let from = self.at.i;
            let end = line_end(self.b, from);
            self.advance_to(end);
            text.push_str(&self.text[from..end]);
            if self.peek() == 0 {
                break;
            }
            self.bump_break();
            leading_break = true;
            self.block_indent(content_indent, &mut breaks);
        }
        if chomp != Some(b'-') {
            if !leading_break && self.peek() == 0 && self.at.col as usize > content_indent.max(1) {
                text.push('\n');
            }
            if leading_break {
                text.push('\n');
            }
        }
        if chomp == Some(b'+') {
            text.extend(std::iter::repeat_n('\n', breaks));
        }
        self.scalar(Value::Str(text), start)
    }

    /// Skips a block scalar's indentation (up to `indent` spaces) and the
    /// empty lines before its next content line, counting them.
    fn block_indent(&mut self, indent: usize, breaks: &mut usize) {
        loop {
            while (self.at.col as usize - 1) < indent && self.peek() == b' ' {
                self.bump();
            }
            if !is_break(self.peek()) {
                return;
            }
            self.bump_break();
            *breaks += 1;
        }
    }
}

/// How much a copy of a node takes.
#[derive(Clone, Copy)]
struct Extent {
    /// Nodes, keys included.
    nodes: usize,
    /// Nesting height: 0 for a scalar.
    height: usize,
    /// Bytes of its strings and keys.
    bytes: usize,
}

/// What a copy of `node` takes.
fn measure(node: &Node) -> Extent {
    let collection = matches!(node.value, Value::Seq(_) | Value::Map(_));
    let mut extent = Extent {
        nodes: 1,
        height: usize::from(collection),
        bytes: 0,
    };
    let mut add = |child: Extent, key: Option<&Key>| {
        extent.nodes += child.nodes + usize::from(key.is_some());
        extent.height = extent.height.max(child.height + 1);
        extent.bytes += child.bytes + key.map_or(0, |key| key.name.len());
    };
    match &node.value {
        Value::Str(text) => extent.bytes = text.len(),
        Value::Seq(items) => items.iter().for_each(|item| add(measure(item), None)),
        Value::Map(entries) => entries
            .iter()
            .for_each(|(key, value)| add(measure(value), Some(key))),
        _ => {}
    }
    extent
}

/// A finished collection's items without spare room: a list grows by four
/// items at first, so one-item lists nested in one-item lists would take
/// four times the memory their nodes need.
fn tight<T>(mut items: Vec<T>) -> Vec<T> {
    items.shrink_to_fit();
    items
}

/// A copy of `node` with every node and key in it placed at `pos`.
fn copy_at(node: &Node, pos: Pos) -> Node {
    let value = match &node.value {
        Value::Seq(items) => Value::Seq(items.iter().map(|item| copy_at(item, pos)).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(key, value)| {
                    (
                        Key {
                            pos,
                            name: key.name.clone(),
                        },
                        copy_at(value, pos),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    };
    Node { pos, value }
}

/// Where the copies of aliases are, to tell them in the tree.
#[derive(Default)]
struct Copies {
    /// The aliases' positions: a copy's nodes and keys are all there.
    aliases: HashSet<Pos>,
    /// Lists at their key's column that start with an alias: such a list is
    /// placed at its first item (`block_seq`), so at an alias too.
    lists: HashSet<Pos>,
}

impl Copies {
    /// Whether `node`, a child of a node placed at `parent`, is the copy of
    /// an alias (or in one).
    fn contains(&self, node: &Node, parent: Pos) -> bool {
        self.aliases.contains(&node.pos)
            && !(matches!(node.value, Value::Seq(_))
                && parent != node.pos
                && self.lists.contains(&node.pos))
    }
}

/// Places every node and key in `node` (a child of a node placed at
/// `parent`) at `pos`, except copies of aliases.
fn place_at(node: &mut Node, parent: Pos, pos: Pos, copies: &Copies) {
    if copies.contains(node, parent) {
        return;
    }
    let own = node.pos;
    node.pos = pos;
    match &mut node.value {
        Value::Seq(items) => items
            .iter_mut()
            .for_each(|item| place_at(item, own, pos, copies)),
        Value::Map(entries) => entries.iter_mut().for_each(|(key, value)| {
            if !copies.aliases.contains(&key.pos) {
                key.pos = pos;
            }
            place_at(value, own, pos, copies);
        }),
        _ => {}
    }
}

// ---------------------------------------------------------------- mappings

/// A mapping being read: its explicit entries, checked for duplicates, and
/// the mappings its `<<` keys merge in.
struct Entries {
    list: Vec<(Key, Node)>,
    /// Entries past the first `CHECK_AT_ONCE` were not compared with the
    /// others yet: a large mapping (`chains:` with 1000 chains) is checked
    /// once, sorted, when it ends.
    unchecked: bool,
    merges: Vec<Node>,
}

/// Up to this many entries, a new key is compared with each other at once.
const CHECK_AT_ONCE: usize = 32;

/// A key as keys compare: by the integer it spells (`1`, `+1`, `0x1` are
/// one key), else by its text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum KeyId<'a> {
    Integer(bool, u128),
    Text(&'a str),
}

fn key_id(name: &str) -> KeyId<'_> {
    match integer_key(name) {
        Some((negative, magnitude)) => KeyId::Integer(negative, magnitude),
        None => KeyId::Text(name),
    }
}

fn duplicate(key: &Key) -> Box<SyntaxError> {
    Box::new(SyntaxError {
        pos: key.pos,
        message: format!("duplicate key `{}`", key.name),
    })
}

/// The keys of `entries`, sorted with their index.
fn sorted_ids(entries: &[(Key, Node)]) -> Vec<(KeyId<'_>, usize)> {
    let mut ids: Vec<_> = entries
        .iter()
        .enumerate()
        .map(|(i, (key, _))| (key_id(&key.name), i))
        .collect();
    ids.sort_unstable();
    ids
}

impl Entries {
    fn new() -> Entries {
        // No room yet: an empty `{}` then takes no memory but its node.
        Entries {
            list: Vec::new(),
            unchecked: false,
            merges: Vec::new(),
        }
    }

    fn insert(&mut self, (key, merge): (Key, bool), value: Node) -> Result<()> {
        if merge {
            return self.merge(value);
        }
        if self.list.len() < CHECK_AT_ONCE {
            let integer = integer_key(&key.name);
            let same = |other: &Key| {
                other.name == key.name || (integer.is_some() && integer_key(&other.name) == integer)
            };
            if self.list.iter().any(|(other, _)| same(other)) {
                return Err(duplicate(&key));
            }
        } else {
            self.unchecked = true;
        }
        self.list.push((key, value));
        Ok(())
    }

    /// The value of a `<<` key: a mapping, a list of mappings, or null.
    fn merge(&mut self, value: Node) -> Result<()> {
        let refuse = |node: &Node| {
            Err(Box::new(SyntaxError {
                pos: node.pos,
                message: format!(
                    "a merge key (`<<`) takes a mapping or a list of mappings, not {}",
                    node.value.kind()
                ),
            }))
        };
        match value.value {
            Value::Null => Ok(()),
            Value::Map(_) => {
                self.merges.push(value);
                Ok(())
            }
            Value::Seq(items) => {
                for item in items {
                    match item.value {
                        Value::Map(_) => self.merges.push(item),
                        _ => return refuse(&item),
                    }
                }
                Ok(())
            }
            _ => refuse(&value),
        }
    }

    /// The entries: explicit ones in document order, then each merged
    /// mapping's entries that no earlier entry has, placed where the merged
    /// mapping is (its alias, or the mapping written after `<<:`), as
    /// serde-saphyr placed them; copies of aliases inside stay at their alias.
    fn finish(mut self, copies: &Copies) -> Result<Vec<(Key, Node)>> {
        if !self.unchecked && self.merges.is_empty() {
            return Ok(tight(self.list));
        }
        let explicit = sorted_ids(&self.list);
        if self.unchecked {
            // The first duplicate in document order: the smallest index
            // that follows an equal key in the sorted order.
            let first = explicit
                .windows(2)
                .filter(|pair| pair[0].0 == pair[1].0)
                .map(|pair| pair[1].1)
                .min();
            if let Some(i) = first {
                return Err(duplicate(&self.list[i].0));
            }
        }
        let mut merged = Vec::new();
        for source in std::mem::take(&mut self.merges) {
            let pos = source.pos;
            if let Value::Map(entries) = source.value {
                merged.extend(entries.into_iter().map(|entry| (entry, pos)));
            }
        }
        // A merged entry stays if no explicit key and no earlier merged key
        // is the same.
        let mut keep = vec![false; merged.len()];
        {
            let mut candidates: Vec<_> = merged
                .iter()
                .enumerate()
                .map(|(i, ((key, _), _))| (key_id(&key.name), i))
                .collect();
            candidates.sort_unstable();
            let mut previous = None;
            for (id, i) in candidates {
                if previous != Some(id)
                    && explicit
                        .binary_search_by(|(other, _)| other.cmp(&id))
                        .is_err()
                {
                    keep[i] = true;
                }
                previous = Some(id);
            }
        }
        drop(explicit);
        for (((mut key, mut value), pos), keep) in merged.into_iter().zip(keep) {
            if keep {
                let parent = key.pos;
                if !copies.aliases.contains(&key.pos) {
                    key.pos = pos;
                }
                place_at(&mut value, parent, pos, copies);
                self.list.push((key, value));
            }
        }
        Ok(tight(self.list))
    }
}

// ---------------------------------------------------------------- scalar resolution

fn is_null(text: &str) -> bool {
    matches!(text.as_bytes(), b"" | b"~" | b"null" | b"Null" | b"NULL")
}

/// YAML 1.1's booleans, in any case (as serde-saphyr reads them).
fn boolean(text: &str) -> Option<bool> {
    if text.len() > 5 {
        return None;
    }
    const TRUE: [&str; 4] = ["true", "yes", "y", "on"];
    const FALSE: [&str; 4] = ["false", "no", "n", "off"];
    if TRUE.iter().any(|t| text.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| text.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// An integer as YAML 1.2's core schema spells it: an optional sign, then
/// decimal digits without a leading zero, or `0x`, `0o`, `0b` and digits;
/// `_` may separate digits. Returns (negative, magnitude).
fn integer(text: &str) -> Option<(bool, u128)> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = match rest.as_bytes() {
        [b'0', b'x' | b'X', ..] => (16, &rest[2..]),
        [b'0', b'o' | b'O', ..] => (8, &rest[2..]),
        [b'0', b'b' | b'B', ..] => (2, &rest[2..]),
        [b'0'..=b'9', ..] => (10, rest),
        _ => return None,
    };
    if radix == 10 && digits.len() > 1 && digits.as_bytes()[0] == b'0' {
        return None;
    }
    let bytes = digits.as_bytes();
    if radix == 10 && bytes.len() <= 19 && bytes.iter().all(u8::is_ascii_digit) {
        // Plain decimal digits that fit in a u64: the common case.
        let value = bytes
            .iter()
            .fold(0u64, |value, &c| value * 10 + u64::from(c - b'0'));
        return Some((negative, u128::from(value)));
    }
    // In u64 while it fits (u128 arithmetic is several times slower).
    let mut small: u64 = 0;
    let mut big: Option<u128> = None;
    let mut any = false;
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'_' {
            if i == 0 || bytes[i - 1] == b'_' || bytes.get(i + 1).is_none_or(|&n| n == b'_') {
                return None;
            }
            continue;
        }
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        if u32::from(digit) >= radix {
            return None;
        }
        any = true;
        match &mut big {
            None => match small
                .checked_mul(u64::from(radix))
                .and_then(|v| v.checked_add(u64::from(digit)))
            {
                Some(v) => small = v,
                None => big = Some(u128::from(small) * u128::from(radix) + u128::from(digit)),
            },
            Some(value) => {
                *value = value
                    .checked_mul(u128::from(radix))?
                    .checked_add(u128::from(digit))?
            }
        }
    }
    any.then(|| (negative, big.unwrap_or(u128::from(small))))
}

/// A key's integer identity: `1`, `+1`, `0x1` and `1_0`-style spellings of
/// the same integer are the same key.
fn integer_key(name: &str) -> Option<(bool, u128)> {
    let (negative, magnitude) = integer(name)?;
    if negative && magnitude > 1 << 127 {
        return None;
    }
    Some((negative && magnitude != 0, magnitude))
}

/// What a plain scalar means. `.inf`, `.nan` and floats too large for f64
/// are infinite or NaN floats here; `parse` refuses those that remain in the
/// tree.
fn resolve_plain(text: &str) -> Value {
    match text.as_bytes().first() {
        None => Value::Null,
        Some(b'0'..=b'9' | b'+' | b'-' | b'.') => number(text),
        Some(b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'y' | b'Y' | b'o' | b'O') => {
            if is_null(text) {
                Value::Null
            } else if let Some(b) = boolean(text) {
                Value::Bool(b)
            } else {
                Value::Str(text.to_owned())
            }
        }
        // Nothing else starts a null, a boolean or a number: most plain
        // scalars (names, host names) are strings at once.
        Some(_) => Value::Str(text.to_owned()),
    }
}

/// A plain scalar that starts like a number: an integer, a float, or a
/// string after all (an IP address).
fn number(text: &str) -> Value {
    let (signed, unsigned) = match text.as_bytes()[0] {
        b'+' | b'-' => (true, &text[1..]),
        _ => (false, text),
    };
    // Spellings serde-saphyr kept as strings: uppercase radix prefixes and
    // a signed NaN.
    if matches!(unsigned.as_bytes(), [b'0', b'X' | b'O' | b'B', ..]) || (signed && is_nan(unsigned))
    {
        return Value::Str(text.to_owned());
    }
    // i64 when negative, u64 otherwise; beyond, a float. (`0123` is no
    // integer either: Rust reads it as the float 123.)
    match integer(text) {
        Some((true, magnitude)) if magnitude <= 1 << 63 => return Value::Int(-(magnitude as i128)),
        Some((false, magnitude)) if magnitude <= u128::from(u64::MAX) => {
            return Value::Int(magnitude as i128);
        }
        _ => {}
    }
    if is_nan(unsigned) {
        return Value::Float(f64::NAN);
    }
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return Value::Float(if text.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    // Rust's float syntax has digits, signs, one `.` and `e`: anything else
    // (an IP address) is a string without asking the float parser.
    let mut dots = 0;
    if !text.bytes().all(|c| {
        dots += usize::from(c == b'.');
        matches!(c, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E')
    }) || dots > 1
    {
        return Value::Str(text.to_owned());
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Value::Float(f),
        // Only numerals: Rust also reads `inf` and `nan`, which are strings.
        Ok(f) if f.is_infinite() && unsigned.starts_with(|c: char| c.is_ascii_digit()) => {
            Value::Float(f)
        }
        _ => Value::Str(text.to_owned()),
    }
}

/// The first infinite or NaN float in `node`, if any.
fn non_finite(node: &Node) -> Option<Pos> {
    match &node.value {
        Value::Float(f) if !f.is_finite() => Some(node.pos),
        Value::Seq(items) => items.iter().find_map(non_finite),
        Value::Map(entries) => entries.iter().find_map(|(_, value)| non_finite(value)),
        _ => None,
    }
}

fn is_nan(text: &str) -> bool {
    matches!(text, ".nan" | ".NaN" | ".NAN")
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

    // ------------------------------------------------------------ helpers

    /// The tree on one line: `{key: value}`, `[item]`, strings quoted, `~`
    /// for null, floats with an `f`; with `at`, every key and node followed
    /// by `@line:column`.
    fn show(node: &Node, at: bool) -> String {
        let place = |pos: Pos| {
            if at {
                format!("@{}:{}", pos.line, pos.column)
            } else {
                String::new()
            }
        };
        let value = match &node.value {
            Value::Null => "~".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format!("{f:?}f"),
            Value::Str(s) => format!("{s:?}"),
            Value::Seq(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|item| show(item, at))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Map(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(key, value)| format!(
                        "{}{}: {}",
                        key.name,
                        place(key.pos),
                        show(value, at)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!("{value}{}", place(node.pos))
    }

    fn values(text: &str) -> String {
        match parse(text) {
            Ok(node) => show(&node, false),
            Err(err) => panic!(
                "{text:?}: {}:{}: {}",
                err.pos.line, err.pos.column, err.message
            ),
        }
    }

    fn placed(text: &str) -> String {
        show(&parse(text).unwrap(), true)
    }

    /// The error for `text` as `line:column: message`, after checking that
    /// its position is on a line of the text (or just past its end).
    fn error(text: &str) -> String {
        let Err(err) = parse(text) else {
            panic!("{text:?} was accepted: {}", values(text))
        };
        let Pos { line, column } = err.pos;
        let lines: Vec<&str> = text.split('\n').collect();
        assert!(
            line >= 1 && line as usize <= lines.len(),
            "{text:?}: line {line}"
        );
        let length = lines[line as usize - 1]
            .trim_end_matches('\r')
            .chars()
            .count() as u64;
        assert!(
            column >= 1 && column <= length + 1,
            "{text:?}: column {column} of {length}"
        );
        format!("{line}:{column}: {}", err.message)
    }

    // ------------------------------------------------------------ documents

    #[test]
    fn a_document_without_content_is_null() {
        for text in [
            "",
            "\n",
            "# only a comment\n",
            "---\n",
            "--- # c\n",
            "...\n",
            "---\n...\n",
        ] {
            assert_eq!(values(text), "~", "{text:?}");
        }
        assert_eq!(placed("# c\n"), "~@2:1");
        assert_eq!(placed("---\n"), "~@1:4");
    }

    #[test]
    fn document_markers_frame_one_document() {
        assert_eq!(values("---\na: 1\n...\n# after\n"), "{a: 1}");
        assert_eq!(placed("--- x\n"), "\"x\"@1:5");
        assert_eq!(values("--- [1, 2]\n"), "[1, 2]");
        assert_eq!(values("--- |\n  text\n"), "\"text\\n\"");
        assert_eq!(values("...\n...\nx\n"), "\"x\"");
        assert_eq!(
            error("a: 1\n---\nb: 2\n"),
            "2:1: a second YAML document (`---`) is not supported: dokomodo reads one document"
        );
        assert_eq!(
            error("a: 1\n...\nb: 2\n"),
            "3:1: text after the end-of-document marker `...`"
        );
        assert_eq!(
            error("a: 1\n... x\n"),
            "2:5: text after the end-of-document marker `...`"
        );
        assert_eq!(
            error("%YAML 1.2\n---\na: 1\n"),
            "1:1: YAML directives (`%YAML`, `%TAG`) are not supported"
        );
        assert_eq!(
            error("--- a: 1\n"),
            "1:6: `: ` inside a value: quote the value, or start the nested mapping on a line of its own"
        );
    }

    #[test]
    fn a_byte_order_mark_at_the_start_takes_no_column() {
        assert_eq!(placed("\u{feff}a: 1\n"), "{a@1:1: 1@1:4}@1:1");
        assert_eq!(
            error("a: x\u{feff}\n"),
            "1:5: a byte order mark (U+FEFF) is only allowed at the very start of the file"
        );
    }

    // ------------------------------------------------------------ block collections

    #[test]
    fn block_mappings_take_any_consistent_indentation() {
        assert_eq!(
            values("a:\n b:\n    c: 1\n d: 2\ne: 3\n"),
            "{a: {b: {c: 1}, d: 2}, e: 3}"
        );
        assert_eq!(
            placed("a:\n   b: x\n"),
            "{a@1:1: {b@2:4: \"x\"@2:7}@2:4}@1:1"
        );
    }

    #[test]
    fn block_sequences_nest_and_may_sit_at_their_keys_column() {
        assert_eq!(
            values("a:\n- x\n- z\nb:\n  - 1\n"),
            "{a: [\"x\", \"z\"], b: [1]}"
        );
        assert_eq!(
            values("- - x\n  - w\n- k: v\n  l: w\n-\n  z\n"),
            "[[\"x\", \"w\"], {k: \"v\", l: \"w\"}, \"z\"]"
        );
        // A list at its key's column is placed at its first item, as
        // serde-saphyr placed it; one indented deeper at its first `-`.
        assert_eq!(placed("a:\n- x\n"), "{a@1:1: [\"x\"@2:3]@2:3}@1:1");
        assert_eq!(placed("a:\n  - x\n"), "{a@1:1: [\"x\"@2:5]@2:3}@1:1");
    }

    #[test]
    fn empty_values_are_null_where_serde_saphyr_placed_them() {
        // After `key:`, at the colon.
        assert_eq!(placed("a:\nb:  # c\n"), "{a@1:1: ~@1:2, b@2:1: ~@2:2}@1:1");
        // After `- `, at the end of its line.
        assert_eq!(placed("-\n- \n- # c\n"), "[~@1:2, ~@2:3, ~@3:6]@1:1");
        // After an anchor, right after it.
        assert_eq!(placed("a: &x\nb: 1\n"), "{a@1:1: ~@1:6, b@2:1: 1@2:4}@1:1");
        assert_eq!(placed("a: &x\n- &y\n"), "{a@1:1: [~@2:5]@2:3}@1:1");
    }

    #[test]
    fn block_structure_mistakes_are_named() {
        assert_eq!(
            error("a: 1\n  b: 2\n"),
            "2:4: `: ` inside a value: quote the value, or start the nested mapping on a line of its own"
        );
        assert_eq!(
            error("a:\n    b: 1\n  c: 2\n"),
            "3:3: this line does not line up with the keys above it; check its indentation"
        );
        assert_eq!(
            error("a:\n  - x\n  b: 1\n"),
            "3:3: expected a list item (`- `) at this indentation"
        );
        assert_eq!(
            error("- a\nb: 1\n"),
            "2:1: expected a list item (`- `) at this indentation"
        );
        assert_eq!(
            error("a: 1\n- x\n"),
            "2:1: a list item (`- `) where a mapping key was expected; check the indentation"
        );
        assert_eq!(
            error("a: 1\nb\n"),
            "2:1: expected `key: value`, but this line has no `:` after its first word(s)"
        );
        assert_eq!(
            error("a: b: c\n"),
            "1:5: `: ` inside a value: quote the value, or start the nested mapping on a line of its own"
        );
        assert_eq!(
            error("a: - x\n"),
            "1:4: a list item (`- `) cannot start on the same line as a key or anchor; start the list on the next line"
        );
        assert_eq!(
            error("  a: 1\nb: 2\n"),
            "2:1: this line does not belong to the value above it; check its indentation"
        );
        assert_eq!(
            error("a: \"x\" z\n"),
            "1:8: unexpected text after the value"
        );
    }

    // ------------------------------------------------------------ flow collections

    #[test]
    fn flow_collections_nest_span_lines_and_allow_a_trailing_comma() {
        assert_eq!(
            values("a: [1, [2, {b: c}], {}, []]\n"),
            "{a: [1, [2, {b: \"c\"}], {}, []]}"
        );
        assert_eq!(
            values("a: {b: 1,\n  c: [x,\n z,],\n}\n"),
            "{a: {b: 1, c: [\"x\", \"z\"]}}"
        );
        assert_eq!(values("a: [x, # a comment\n  z]\n"), "{a: [\"x\", \"z\"]}");
        assert_eq!(
            placed("a: [x, {b: z}]\n"),
            "{a@1:1: [\"x\"@1:5, {b@1:9: \"z\"@1:12}@1:8]@1:4}@1:1"
        );
    }

    #[test]
    fn flow_mappings_take_keys_without_values_and_json_style_colons() {
        assert_eq!(
            placed("{a, b: , c}\n"),
            "{a@1:2: ~@1:3, b@1:5: ~@1:6, c@1:10: ~@1:11}@1:1"
        );
        assert_eq!(values("{\"a\":1, 'b':[2]}\n"), "{a: 1, b: [2]}");
        assert_eq!(values("{a:b}\n"), "{a:b: ~}");
        assert_eq!(values("{a\n: b}\n"), "{a: \"b\"}");
        assert_eq!(placed("[a: 1, b]\n"), "[{a@1:2: 1@1:5}@1:2, \"b\"@1:8]@1:1");
    }

    #[test]
    fn flow_mistakes_are_named() {
        assert_eq!(
            error("chains:\n  BEER: [1, 2\n"),
            "2:9: unclosed bracket '['"
        );
        assert_eq!(error("a: {b: 1\n"), "1:4: unclosed brace '{'");
        assert_eq!(
            error("a: [x, , y]\n"),
            "1:8: an empty entry: a value is missing before this `,`"
        );
        assert_eq!(
            error("a: [\"x\" z]\n"),
            "1:9: expected `,` or `]` after a list item"
        );
        assert_eq!(
            error("a: {b: [1] c}\n"),
            "1:12: expected `,` or `}` after a mapping entry"
        );
        assert_eq!(
            error("a: [- x]\n"),
            "1:5: a block list item (`- `) inside `[ ]` or `{ }`; write `[a, b]`"
        );
        assert_eq!(
            error("a: [|\n  x]\n"),
            "1:5: a block scalar (`|` or `>`) inside `[ ]` or `{ }`; use a quoted string"
        );
        assert_eq!(
            error("a: {b:[1]}\n"),
            "1:6: a space is needed between `:` and `[`"
        );
        assert_eq!(
            error("a: [x,\n---\n]\n"),
            "2:1: a document marker (`---` or `...`) inside `[ ]` or `{ }`; close the brackets first"
        );
        assert_eq!(
            error("a: [x\n : y]\n"),
            "2:2: in `[ ]`, a key and its `:` must be on one line"
        );
        // The lines inside brackets are indented deeper than the block
        // around them (yaml-test-suite 9C9N); a closing bracket may be at
        // its column, as in JSON.
        let shallow = "indent it deeper than the block around the brackets";
        assert_eq!(
            error("a: [x,\ny]\n"),
            format!("2:1: this line is inside `[ ]` or `{{ }}`: {shallow}")
        );
        assert_eq!(
            error("- a: {b: 1,\n  c: 2}\n"),
            format!("2:3: this line is inside `[ ]` or `{{ }}`: {shallow}")
        );
        assert_eq!(
            error("a: [x\ny]\n"),
            format!("2:1: this line is inside `[ ]` or `{{ }}`: {shallow}")
        );
        assert_eq!(values("a: [x,\n z\n]\n"), "{a: [\"x\", \"z\"]}");
        assert_eq!(values("- a: {b: 1,\n   c: 2\n  }\n"), "[{a: {b: 1, c: 2}}]");
        assert_eq!(values("[x,\nz]\n"), "[\"x\", \"z\"]");
        assert_eq!(
            error("a: ]\n"),
            "1:4: `]` without a matching opening bracket"
        );
        assert_eq!(
            error("a: [x]#c\n"),
            "1:7: a comment needs a space before its `#`"
        );
    }

    // ------------------------------------------------------------ scalars

    #[test]
    fn plain_scalars_fold_over_lines_and_end_at_a_comment() {
        assert_eq!(
            values("a: one\n  two\n\n  three\n"),
            "{a: \"one two\\nthree\"}"
        );
        assert_eq!(values("one\ntwo\n"), "\"one two\"");
        assert_eq!(values("a: [one\n two]\n"), "{a: [\"one two\"]}");
        assert_eq!(
            values("a: x # comment\nb: x#y\nc: x:y\nd: -x\ne: a - b\n"),
            "{a: \"x\", b: \"x#y\", c: \"x:y\", d: \"-x\", e: \"a - b\"}"
        );
        assert_eq!(values("a: x\n  - y\n"), "{a: \"x - y\"}");
        assert_eq!(
            error("a: x # comment\n  y\n"),
            "2:3: this line does not line up with the keys above it; check its indentation"
        );
        assert_eq!(
            error("a: @x\n"),
            "1:4: `@` is reserved in YAML and cannot start a value; quote the value"
        );
        assert_eq!(
            error("a: %x\n"),
            "1:4: `%` cannot start a value; quote the value"
        );
    }

    #[test]
    fn plain_scalars_resolve_as_serde_saphyr_resolved_them() {
        let cases = [
            // null
            ("~", "~"),
            ("null", "~"),
            ("Null", "~"),
            ("NULL", "~"),
            ("nUll", "\"nUll\""),
            // YAML 1.1 booleans, in any case
            ("true", "true"),
            ("TRUE", "true"),
            ("yes", "true"),
            ("On", "true"),
            ("y", "true"),
            ("Y", "true"),
            ("false", "false"),
            ("No", "false"),
            ("off", "false"),
            ("n", "false"),
            // integers: i64 when negative, u64 otherwise
            ("0", "0"),
            ("-0", "0"),
            ("+1", "1"),
            ("-1", "-1"),
            ("0x1F", "31"),
            ("0o17", "15"),
            ("0b101", "5"),
            ("1_000", "1000"),
            ("-0x10", "-16"),
            ("+0x10", "16"),
            ("18446744073709551615", "18446744073709551615"),
            ("-9223372036854775808", "-9223372036854775808"),
            // floats: what Rust reads as one, including beyond the integers
            ("1.5", "1.5f"),
            (".5", "0.5f"),
            ("5.", "5.0f"),
            ("1e3", "1000.0f"),
            ("-1E-3", "-0.001f"),
            ("007", "7.0f"),
            ("-007", "-7.0f"),
            ("18446744073709551616", "1.8446744073709552e19f"),
            ("-9223372036854775809", "-9.223372036854776e18f"),
            // strings
            ("0X1F", "\"0X1F\""),
            ("0O17", "\"0O17\""),
            ("0x_1", "\"0x_1\""),
            ("1__2", "\"1__2\""),
            ("_1", "\"_1\""),
            ("0x", "\"0x\""),
            ("1e", "\"1e\""),
            (".", "\".\""),
            ("1.2.3", "\"1.2.3\""),
            ("0.1_0", "\"0.1_0\""),
            ("-.nan", "\"-.nan\""),
            ("+.nan", "\"+.nan\""),
            ("inf", "\"inf\""),
            ("nan", "\"nan\""),
            ("12:30", "\"12:30\""),
            ("+-1", "\"+-1\""),
            ("1.2.3.4", "\"1.2.3.4\""),
            ("172.20.0.0/16", "\"172.20.0.0/16\""),
        ];
        for (plain, expected) in cases {
            assert_eq!(
                values(&format!("a: {plain}\n")),
                format!("{{a: {expected}}}"),
                "{plain}"
            );
        }
        // Quoted and block scalars are strings, whatever they spell.
        assert_eq!(
            values("a: '1'\nb: \"true\"\nc: |\n  null\n"),
            "{a: \"1\", b: \"true\", c: \"null\\n\"}"
        );
    }

    #[test]
    fn infinite_and_nan_numbers_are_refused_where_they_remain() {
        for plain in [
            ".inf", "-.inf", "+.inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", "1e999", "-1e999",
        ] {
            assert_eq!(
                error(&format!("a: {plain}\n")),
                "1:4: this number is infinite or not a number (NaN), which no notary setting can be",
                "{plain}"
            );
        }
        // A merged entry an explicit key overrides is never used.
        assert_eq!(values("a:\n  <<: {x: .nan}\n  x: 1\n"), "{a: {x: 1}}");
    }

    #[test]
    fn single_quoted_scalars_double_their_quote_and_fold() {
        assert_eq!(
            values("a: 'it''s'\nb: '  x  '\nc: 'one\n  two\n\n  three'\n"),
            "{a: \"it's\", b: \"  x  \", c: \"one two\\nthree\"}"
        );
        assert_eq!(placed("a: 'x'\n"), "{a@1:1: \"x\"@1:4}@1:1");
    }

    #[test]
    fn double_quoted_scalars_take_every_escape() {
        let escapes = [
            ("\\0", "\0"),
            ("\\a", "\u{7}"),
            ("\\b", "\u{8}"),
            ("\\t", "\t"),
            ("\\\t", "\t"),
            ("\\n", "\n"),
            ("\\v", "\u{b}"),
            ("\\f", "\u{c}"),
            ("\\r", "\r"),
            ("\\e", "\u{1b}"),
            ("\\ ", " "),
            ("\\\"", "\""),
            ("\\/", "/"),
            ("\\\\", "\\"),
            ("\\N", "\u{85}"),
            ("\\_", "\u{a0}"),
            ("\\L", "\u{2028}"),
            ("\\P", "\u{2029}"),
            ("\\x41", "A"),
            ("\\u00e9", "é"),
            ("\\U0001F600", "😀"),
            ("\\ud83d\\ude00", "😀"),
        ];
        for (escape, expected) in escapes {
            assert_eq!(
                values(&format!("a: \"{escape}\"\n")),
                format!("{{a: {expected:?}}}"),
                "{escape}"
            );
        }
    }

    #[test]
    fn double_quoted_scalars_fold_and_join_escaped_line_breaks() {
        assert_eq!(
            values("a: \"one  \n   two\n\n  three\"\n"),
            "{a: \"one two\\nthree\"}"
        );
        assert_eq!(values("a: \"one\\\n   two\"\n"), "{a: \"onetwo\"}");
        assert_eq!(values("a: \"one \\\n\n  two\"\n"), "{a: \"one \\ntwo\"}");
        assert_eq!(values("a: \"x\\t\n  y\"\n"), "{a: \"x\\t y\"}");
    }

    #[test]
    fn quoted_scalar_mistakes_are_named() {
        assert_eq!(
            error("a: \"x\\q\"\n"),
            "1:6: unknown escape `\\q` in a double-quoted string"
        );
        assert_eq!(
            error("a: \"\\xZ1\"\n"),
            "1:5: `\\x` needs 2 hexadecimal digits"
        );
        assert_eq!(
            error("a: \"\\ud800\"\n"),
            "1:5: a lone UTF-16 surrogate in a `\\u` escape"
        );
        assert_eq!(
            error("a: \"\\U00110000\"\n"),
            "1:5: `\\U` escapes no Unicode character"
        );
        assert_eq!(
            error("a: \"x\n"),
            "1:4: unclosed quote: this double-quoted string never ends"
        );
        assert_eq!(
            error("a: 'x\n"),
            "1:4: unclosed quote: this single-quoted string never ends"
        );
        assert_eq!(
            error("a: \"x\n---\ny\"\n"),
            "1:4: a document marker (`---` or `...`) inside a quoted string; close the quote first"
        );
        assert_eq!(
            error("\"a\n b\": 1\n"),
            "1:1: a mapping key must fit on one line"
        );
        // A quoted string's lines are indented deeper than the block around
        // it (yaml-test-suite QB6E); at the top, anywhere.
        assert_eq!(
            error("a: \"x\ny\"\n"),
            "2:1: this line is inside a quoted string: indent it deeper than the block around the string"
        );
        assert_eq!(
            error("- 'x\n\n y\n\nz'\n"),
            "5:1: this line is inside a quoted string: indent it deeper than the block around the string"
        );
        assert_eq!(values("a: \"x\n\n y\"\n"), "{a: \"x\\ny\"}");
        assert_eq!(values("'x\ny'\n"), "\"x y\"");
    }

    #[test]
    fn block_scalars_keep_or_fold_lines_and_chomp() {
        let text = "a: |\n  one\n   two\n\nb: >\n  one\n  two\n\n  three\n   kept\n  four\nc: |-\n  x\n\nd: |+\n  x\n\ne: >2\n   indented\n";
        assert_eq!(
            values(text),
            "{a: \"one\\n two\\n\", b: \"one two\\nthree\\n kept\\nfour\\n\", c: \"x\", d: \"x\\n\\n\", e: \" indented\\n\"}"
        );
        assert_eq!(
            values("a: |\n\n  after an empty line\n"),
            "{a: \"\\nafter an empty line\\n\"}"
        );
        assert_eq!(values("- |\n  x\n- >-\n  y\n"), "[\"x\\n\", \"y\"]");
        assert_eq!(values("a: | # comment\n  x\n"), "{a: \"x\\n\"}");
    }

    #[test]
    fn block_scalars_are_placed_at_their_first_line() {
        assert_eq!(placed("a: |\n  x\n"), "{a@1:1: \"x\\n\"@2:3}@1:1");
        assert_eq!(placed("a: |2\n   x\n"), "{a@1:1: \" x\\n\"@2:3}@1:1");
        // Empty: where the next line starts, or at `|` at the end of the text.
        assert_eq!(
            placed("a: |\nb: 1\n"),
            "{a@1:1: \"\"@2:1, b@2:1: 1@2:4}@1:1"
        );
        assert_eq!(placed("a: |\n"), "{a@1:1: \"\"@1:4}@1:1");
    }

    #[test]
    fn block_scalar_mistakes_are_named() {
        assert_eq!(
            error("a: |0\n  x\n"),
            "1:4: a block scalar's indentation indicator must be 1 to 9, not 0"
        );
        assert_eq!(
            error("a: | x\n"),
            "1:6: unexpected text after a block scalar's `|` or `>`; the text starts on the next line"
        );
        assert_eq!(
            error("a: |\n    \n  x\n"),
            "3:3: this block scalar's first line is indented less than the empty lines before it"
        );
        assert_eq!(
            error("a: |\n\tx\n"),
            "2:1: a tab indents this line; YAML indentation must be spaces"
        );
    }

    // ------------------------------------------------------------ anchors and aliases

    #[test]
    fn aliases_copy_their_node_placed_at_the_alias() {
        assert_eq!(
            placed("a: &x 1\nb: *x\n"),
            "{a@1:1: 1@1:7, b@2:1: 1@2:4}@1:1"
        );
        assert_eq!(
            placed("a: &x {p: [1]}\nb: *x\n"),
            "{a@1:1: {p@1:8: [1@1:12]@1:11}@1:7, b@2:1: {p@2:4: [1@2:4]@2:4}@2:4}@1:1"
        );
        // An anchored key is a value where an alias uses it.
        assert_eq!(values("&k 1: x\nb: *k\n"), "{1: \"x\", b: 1}");
        assert_eq!(placed("&x a: 1\n"), "{a@1:4: 1@1:7}@1:1");
    }

    #[test]
    fn an_alias_refers_to_the_last_anchor_written_before_it() {
        assert_eq!(values("a: &x 1\nb: &x 2\nc: *x\n"), "{a: 1, b: 2, c: 2}");
        // An anchor of the same name inside an anchored node is written after
        // the outer one, so it wins.
        assert_eq!(values("- &x\n  b: &x 5\n- *x\n"), "[{b: 5}, 5]");
    }

    #[test]
    fn anchor_and_alias_mistakes_are_named() {
        assert_eq!(error("a: *x\n"), "1:4: no anchor `&x` before this alias");
        assert_eq!(
            error("a: &x [*x]\n"),
            "1:8: the alias `*x` is inside the node it refers to"
        );
        assert_eq!(
            error("a: &x 1\n*x : 2\n"),
            "2:1: an alias (`*name`) as a mapping key is not supported"
        );
        // The anchor on the key's line or above the alias: one message.
        let anchored = "an alias (`*name`) cannot have an anchor";
        assert_eq!(error("a: 1\nk: &b *a\n"), format!("2:7: {anchored}"));
        assert_eq!(error("a: &a 1\nk: &b *a\n"), format!("2:7: {anchored}"));
        assert_eq!(error("a: &a 1\nk: &b\n  *a\n"), format!("3:3: {anchored}"));
        assert_eq!(
            error("a: &a 1\nk:\n- &b\n  *a\n"),
            format!("4:3: {anchored}")
        );
        assert_eq!(
            error("a: &a 1\nk: [&b\n  *a]\n"),
            format!("3:3: {anchored}")
        );
        // Above a mapping whose first key is an alias, the key is the
        // mistake.
        assert_eq!(
            error("a: &a 1\nk: &b\n  *a : 2\n"),
            "3:3: an alias (`*name`) as a mapping key is not supported"
        );
        assert_eq!(
            error("a: &x\n  &y 1\n"),
            "2:3: a node can have only one anchor"
        );
        assert_eq!(
            error("a: 1\n&x\nb: 2\n"),
            "2:1: an anchor before a key must be on the key's line"
        );
        assert_eq!(error("a: & x\n"), "1:4: an anchor (`&`) needs a name");
    }

    // ------------------------------------------------------------ merge keys

    #[test]
    fn merged_entries_come_after_explicit_ones_and_lose_to_them() {
        let text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  x: 0\n  <<: [*a, *b]\n  w: 0\n";
        assert_eq!(
            values(text),
            "{a: {x: 1, y: 1}, b: {y: 2, z: 2}, c: {x: 0, w: 0, y: 1, z: 2}}"
        );
        assert_eq!(
            values("a: &a {x: 1}\nc:\n  <<: *a\n  <<: {x: 2, y: 2}\n"),
            "{a: {x: 1}, c: {x: 1, y: 2}}"
        );
        assert_eq!(
            values("a: &a {x: 1}\nc: [<<: *a]\n"),
            "{a: {x: 1}, c: [{x: 1}]}"
        );
        assert_eq!(values("c: {<<: null, \"<<\": 1}\n"), "{c: {<<: 1}}");
    }

    #[test]
    fn merged_entries_are_placed_at_what_was_merged() {
        // At the alias; or at the mapping written after `<<:`, except for
        // the copies of aliases inside it.
        assert_eq!(
            placed("a: &a {x: 1}\nc: {<<: *a}\n"),
            "{a@1:1: {x@1:8: 1@1:11}@1:7, c@2:1: {x@2:9: 1@2:9}@2:4}@1:1"
        );
        assert_eq!(
            placed("y: &y 1\nc: {<<: {x: *y, z: 2}}\n"),
            "{y@1:1: 1@1:7, c@2:1: {x@2:9: 1@2:13, z@2:9: 2@2:9}@2:4}@1:1"
        );
        // A list at its key's column is placed at its first item, here an
        // alias: the list moves, the alias's copy stays.
        assert_eq!(
            placed("q: &q 1\n<<:\n b:\n - *q\n - x\n"),
            "{q@1:1: 1@1:7, b@3:2: [1@4:4, \"x\"@3:2]@3:2}@1:1"
        );
    }

    #[test]
    fn merge_mistakes_are_named() {
        let message = "a merge key (`<<`) takes a mapping or a list of mappings, not";
        assert_eq!(error("a: {<<: 5}\n"), format!("1:9: {message} an integer"));
        assert_eq!(
            error("a: &a [1]\nb: {<<: *a}\n"),
            format!("2:9: {message} an integer")
        );
        assert_eq!(
            error("a: &a {x: 1}\nb: {<<: [*a, [*a]]}\n"),
            format!("2:14: {message} a list")
        );
        assert_eq!(
            error("a: {<<: [~]}\n"),
            format!("1:10: {message} nothing (null)")
        );
    }

    // ------------------------------------------------------------ keys

    #[test]
    fn keys_are_names_as_written() {
        assert_eq!(
            values("1: a\n0x10: b\ntrue: c\n1.5: d\n\"q r\": e\n'': f\né: g\n"),
            "{1: \"a\", 0x10: \"b\", true: \"c\", 1.5: \"d\", q r: \"e\", : \"f\", é: \"g\"}"
        );
        assert_eq!(placed("\"a\": 1\n"), "{a@1:1: 1@1:6}@1:1");
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_duplicate() {
        assert_eq!(error("a: 1\n'a': 2\n"), "2:1: duplicate key `a`");
        assert_eq!(error("{a: 1, \"a\": 2}\n"), "1:8: duplicate key `a`");
        // Keys that spell one integer are one key, quoted or not.
        assert_eq!(error("0x10: a\n16: b\n"), "2:1: duplicate key `16`");
        assert_eq!(error("1: a\n\"1\": b\n"), "2:1: duplicate key `1`");
        assert_eq!(error("-0: a\n0: b\n"), "2:1: duplicate key `0`");
        // In a large mapping, the first duplicate in the document.
        let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k30: x\nk5: y\n");
        assert_eq!(error(&text), "41:1: duplicate key `k30`");
    }

    #[test]
    fn keys_must_be_plain_strings() {
        assert_eq!(
            error("null: x\n"),
            "1:1: `null` is null, not a name; quote it to use it as a key"
        );
        assert_eq!(
            error("~: x\n"),
            "1:1: `~` is null, not a name; quote it to use it as a key"
        );
        assert_eq!(
            error(": x\n"),
            "1:1: a mapping entry without a key before its `:`"
        );
        assert_eq!(error("[a]: x\n"), "1:1: keys must be plain strings");
        assert_eq!(error("{a: 1}: x\n"), "1:1: keys must be plain strings");
        assert_eq!(
            error("? a\n: x\n"),
            "1:1: complex mapping keys (`? `) are not supported; write `key: value`"
        );
        assert_eq!(
            error("a: !!str 5\n"),
            "1:4: YAML tags like `!!str` are not supported; write the value without a tag (quote it to make it a string)"
        );
    }

    #[test]
    fn an_implicit_key_is_at_most_1024_characters() {
        let key = "k".repeat(1024);
        assert_eq!(values(&format!("{key}: 1\n")), format!("{{{key}: 1}}"));
        assert_eq!(
            error(&format!("{key}k: 1\n")),
            "1:1: a key longer than 1024 characters"
        );
        assert_eq!(
            error(&format!("{{{key}k: 1}}\n")),
            "1:2: a key longer than 1024 characters"
        );
    }

    // ------------------------------------------------------------ tabs, columns, line endings

    #[test]
    fn tabs_may_separate_but_not_indent() {
        assert_eq!(values("a:\tb\nc: x\t# c\n"), "{a: \"b\", c: \"x\"}");
        assert_eq!(values("-\tx\n"), "[\"x\"]");
        assert_eq!(
            values("a: \"x\n \ty\"\nb: |\n  \tt\n"),
            "{a: \"x y\", b: \"\\tt\\n\"}"
        );
        assert_eq!(values("\"x\n\ty\"\n"), "\"x y\"");
        let message = "a tab indents this line; YAML indentation must be spaces";
        // The line of a quoted string must be indented deeper than `a`,
        // with spaces (yaml-test-suite DK95/01).
        assert_eq!(error("a: \"x\n\ty\"\n"), format!("2:1: {message}"));
        assert_eq!(error("chains:\n\tKMD: {}\n"), format!("2:1: {message}"));
        assert_eq!(error("a:\n  \tb\n"), format!("2:3: {message}"));
        assert_eq!(error("a: [x,\n\ty]\n"), format!("2:1: {message}"));
        assert_eq!(
            error("-\t- x\n"),
            "1:3: a tab before a nested list item; YAML indentation must be spaces"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(
            placed("é: ü\nkey: [日本, x]\n"),
            "{é@1:1: \"ü\"@1:4, key@2:1: [\"日本\"@2:7, \"x\"@2:11]@2:6}@1:1"
        );
    }

    #[test]
    fn windows_line_endings_are_line_breaks() {
        assert_eq!(
            placed("a: 1\r\nb:\r\n  - x\r\n"),
            "{a@1:1: 1@1:4, b@2:1: [\"x\"@3:5]@3:3}@1:1"
        );
        assert_eq!(
            values("a: |\r\n  x\r\n  y\r\nb: \"p\r\n  q\"\r\n"),
            "{a: \"x\\ny\\n\", b: \"p q\"}"
        );
    }

    #[test]
    fn characters_yaml_forbids_are_refused_where_they_are() {
        assert_eq!(
            error("a: \u{1}\n"),
            "1:4: the control character U+0001 is not allowed in YAML"
        );
        assert_eq!(
            error("é: x\u{7f}\n"),
            "1:5: the control character U+007F is not allowed in YAML"
        );
        assert_eq!(
            error("a: \u{85}\u{9f}\n"),
            "1:5: the control character U+009F is not allowed in YAML"
        );
        assert_eq!(
            error("a: \u{fffe}\n"),
            "1:4: U+FFFE and U+FFFF are not characters and are not allowed in YAML"
        );
        assert_eq!(
            error("a: 1\rb: 2\n"),
            "1:5: a carriage return without a newline (an old Mac line ending); save the file with \\n or \\r\\n line endings"
        );
        // Escapes may write any of them.
        assert_eq!(values("a: \"\\x01\\x7f\"\n"), "{a: \"\\u{1}\\u{7f}\"}");
    }

    // ------------------------------------------------------------ limits

    #[test]
    fn nesting_is_limited_to_64_levels() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(&nested(64)).is_ok());
        assert_eq!(
            error(&nested(65)),
            "1:65: nesting deeper than 64 levels is not supported"
        );
        // Deep enough to overflow the stack without the limit.
        assert_eq!(
            error(&nested(100_000)),
            "1:65: nesting deeper than 64 levels is not supported"
        );
        let block: String = (0..70).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert_eq!(
            error(&block),
            "65:65: nesting deeper than 64 levels is not supported"
        );
        // Through an alias too.
        let text = format!(
            "a: &a {}\nb: {}*a{}\n",
            nested(40),
            "[".repeat(30),
            "]".repeat(30)
        );
        assert_eq!(
            error(&text),
            "2:34: nesting deeper than 64 levels is not supported"
        );
    }

    #[test]
    fn the_number_of_nodes_is_limited() {
        let items = vec!["x"; 250_001].join(",");
        assert_eq!(
            error(&format!("[{items}]")),
            "1:500000: more than 250000 YAML nodes; this is not a notary YAML"
        );
    }

    /// `x:` and `levels` anchored lists nested in each other around `items`
    /// strings.
    fn nested_anchors(levels: usize, items: usize) -> String {
        let open: String = (0..levels).map(|i| format!("&a{i} [")).collect();
        let inside = vec!["abcdefg"; items].join(",");
        format!("x: {open}{inside}{}\n", "]".repeat(levels))
    }

    #[test]
    fn anchors_nested_in_anchors_count_their_copies() {
        // Each anchor keeps a copy of its node, with the anchors inside it:
        // 62 anchors around 4100 items copy 62 * 4100 nodes, over the budget
        // (a 2 MB text of them took 1.1 GB before they were counted).
        assert_eq!(
            error(&nested_anchors(62, 4100)),
            "1:18: too many YAML nodes once aliases are expanded (an alias bomb?)"
        );
        // 3900 items: 248,000 nodes with the copies, within it.
        let node = parse(&nested_anchors(62, 3900)).unwrap();
        assert_eq!(measure(&node).nodes, 2 + 62 + 3900);
        // Without the anchors, ten times as many items are no problem.
        let inside = vec!["abcdefg"; 39_000].join(",");
        let plain = format!("x: {}{inside}{}\n", "[".repeat(62), "]".repeat(62));
        assert_eq!(
            parse(&plain).map(|node| measure(&node).nodes),
            Ok(2 + 62 + 39_000)
        );
    }

    #[test]
    fn aliases_of_long_strings_count_their_text() {
        // An alias of a string is one node, however long the string: the
        // bytes aliases and anchors copy are bounded too (4 MiB).
        let long = "x".repeat(100 * 1024);
        let aliases = |n: usize| format!("a: &a {long}\nb: [{}]\n", vec!["*a"; n].join(", "));
        assert!(parse(&aliases(38)).is_ok());
        assert_eq!(
            error(&aliases(41)),
            "2:161: too much text once aliases are expanded (an alias bomb?)"
        );
        // An anchored key of 1000 characters, copied by its aliases.
        let key = "k".repeat(1000);
        let keys = |n: usize| format!("&k {key}: 1\nb: [{}]\n", vec!["*k"; n].join(", "));
        assert_eq!(parse(&keys(4000)).map(|_| ()), Ok(()));
        assert!(
            error(&keys(4200))
                .ends_with("too much text once aliases are expanded (an alias bomb?)")
        );
    }

    #[test]
    fn a_large_mapping_is_read_in_linear_time() {
        // Compared key by key, 50,000 keys would take minutes.
        let text: String = (0..50_000)
            .map(|i| format!("  C{i}: {{ac_supply: {i}}}\n"))
            .collect();
        let node = parse(&format!("chains:\n{text}")).unwrap();
        let Value::Map(top) = node.value else {
            panic!()
        };
        let Value::Map(chains) = &top[0].1.value else {
            panic!()
        };
        assert_eq!(chains.len(), 50_000);
        assert_eq!(
            error(&format!("chains:\n{text}  C7: {{}}\n")),
            "50002:3: duplicate key `C7`"
        );
    }
}
