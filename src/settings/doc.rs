//! A JSON document as its author wrote it: members in their order, every key, number and string
//! kept as its exact text, a duplicate key refused; and where each value stands in the text, for
//! the splice. serde_json's `Value` would rewrite `1e2` as `100.0`, refuse `1.0E+400`, and
//! silently keep only the last of two equal keys.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::value::RawValue;

/// The deepest nesting accepted, serde_json's own limit: parsing and printing recurse.
const MAX_DEPTH: usize = 128;

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// A number, string literal, `true`, `false` or `null`, exactly as written.
    Scalar(String),
    Array(Vec<Json>),
    /// Each key as its string literal, as written.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses one JSON text. The error names the duplicate key by its path, e.g.
    /// `"hooks"."Stop"[0]."matcher"`.
    pub fn parse(text: &str) -> Result<Json, String> {
        Ok(Node::read(text)?.json(text))
    }

    /// A string value.
    pub fn string(s: &str) -> Json {
        Json::Scalar(serde_json::to_string(s).unwrap_or_default())
    }

    /// Our own values, built with `json!`.
    pub fn from_value(value: &serde_json::Value) -> Json {
        Json::parse(&value.to_string()).unwrap_or(Json::Scalar("null".into()))
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<Cow<'_, str>> {
        match self {
            Json::Scalar(s) if s.starts_with('"') => Some(decode(s)),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Json>> {
        if let Json::Array(items) = self { Some(items) } else { None }
    }

    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Json>> {
        if let Json::Array(items) = self { Some(items) } else { None }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Vec<(String, Json)>> {
        if let Json::Object(members) = self { Some(members) } else { None }
    }

    /// The member named `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| decode(k) == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(members) => members.iter_mut().find(|(k, _)| decode(k) == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Pretty, two spaces per level (serde_json's layout), one trailing newline.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, level: usize) {
        let (open, close, len) = match self {
            Json::Scalar(s) => return out.push_str(s),
            Json::Array(items) => ('[', ']', items.len()),
            Json::Object(members) => ('{', '}', members.len()),
        };
        out.push(open);
        for n in 0..len {
            out.push_str(if n == 0 { "\n" } else { ",\n" });
            out.extend(std::iter::repeat_n("  ", level + 1));
            match self {
                Json::Array(items) => items[n].write(out, level + 1),
                Json::Object(members) => {
                    out.push_str(&members[n].0);
                    out.push_str(": ");
                    members[n].1.write(out, level + 1);
                }
                Json::Scalar(_) => {}
            }
        }
        if len > 0 {
            out.push('\n');
            out.extend(std::iter::repeat_n("  ", level));
        }
        out.push(close);
    }
}

/// An object's member `key`, added at the end as `new()` when missing. Returns whether it was.
pub fn member<'a>(members: &'a mut Vec<(String, Json)>, key: &str, new: impl FnOnce() -> Json) -> (&'a mut Json, bool) {
    match members.iter().position(|(k, _)| decode(k) == key) {
        Some(i) => (&mut members[i].1, false),
        None => {
            members.push((serde_json::to_string(key).unwrap_or_default(), new()));
            (&mut members.last_mut().expect("pushed").1, true)
        }
    }
}

/// An object's member `key`.
pub fn member_mut<'a>(members: &'a mut [(String, Json)], key: &str) -> Option<&'a mut Json> {
    members.iter_mut().find(|(k, _)| decode(k) == key).map(|(_, v)| v)
}

/// Removes an object's member `key`, keeping the others' order.
pub fn remove(members: &mut Vec<(String, Json)>, key: &str) -> Option<Json> {
    let i = members.iter().position(|(k, _)| decode(k) == key)?;
    Some(members.remove(i).1)
}

/// The text of a string literal.
pub fn decode(literal: &str) -> Cow<'_, str> {
    match literal.contains('\\') {
        false => Cow::Borrowed(literal.get(1..literal.len().saturating_sub(1)).unwrap_or("")),
        true => Cow::Owned(serde_json::from_str(literal).unwrap_or_default()),
    }
}

/// A value where it stands in the text: its byte span and, for a container, its members or
/// items. The one reading of a document's text: [`Json::parse`] takes the values from it, and
/// the splice writes a changed document back into the text by the spans.
pub struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

pub enum Kind {
    Scalar,
    Array(Vec<Node>),
    /// Each member: where its key starts, the key's literal, its value.
    Object(Vec<(usize, String, Node)>),
}

impl Node {
    /// Reads one JSON text. The error says where the syntax breaks, or names the duplicate key
    /// by its path (see [`Json::parse`]).
    pub fn read(text: &str) -> Result<Node, String> {
        // serde_json checks the syntax and says where it breaks; the walk below only builds.
        serde_json::from_str::<&RawValue>(text).map_err(|e| format!("not valid JSON ({e})"))?;
        Walk { text, i: 0, path: Vec::new() }.value()
    }

    /// The value as the merge sees it.
    pub fn json(&self, text: &str) -> Json {
        match &self.kind {
            Kind::Scalar => Json::Scalar(text[self.start..self.end].to_owned()),
            Kind::Array(items) => Json::Array(items.iter().map(|i| i.json(text)).collect()),
            Kind::Object(members) => Json::Object(members.iter().map(|(_, k, v)| (k.clone(), v.json(text))).collect()),
        }
    }
}

/// Walks text serde_json has found valid, so it needs no error handling but the depth and
/// duplicate keys.
struct Walk<'a> {
    text: &'a str,
    i: usize,
    /// Where we are, for the message.
    path: Vec<Step<'a>>,
}

/// One level of the path: a member's key literal, or an item's index.
enum Step<'a> {
    Key(&'a str),
    Item(usize),
}

impl<'a> Walk<'a> {
    fn peek(&self) -> u8 {
        self.text.as_bytes().get(self.i).copied().unwrap_or(0)
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    /// Skips the next byte (`:`, `,` or a closing bracket) and says which it was.
    fn next(&mut self) -> u8 {
        self.skip_space();
        let c = self.peek();
        self.i += 1;
        c
    }

    fn value(&mut self) -> Result<Node, String> {
        if self.path.len() > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.skip_space();
        let start = self.i;
        let kind = match self.peek() {
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                let mut seen = HashSet::new();
                self.skip_space();
                if self.peek() == b'}' {
                    self.i += 1;
                } else {
                    loop {
                        self.skip_space();
                        let key_start = self.i;
                        let key = self.literal();
                        self.path.push(Step::Key(key));
                        if !seen.insert(decode(key)) {
                            return Err(format!("the key {} appears twice (which one is meant?)", self.where_()));
                        }
                        self.next();
                        let value = self.value()?;
                        self.path.pop();
                        members.push((key_start, key.to_owned(), value));
                        if self.next() != b',' {
                            break;
                        }
                    }
                }
                Kind::Object(members)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.skip_space();
                if self.peek() == b']' {
                    self.i += 1;
                } else {
                    loop {
                        self.path.push(Step::Item(items.len()));
                        items.push(self.value()?);
                        self.path.pop();
                        if self.next() != b',' {
                            break;
                        }
                    }
                }
                Kind::Array(items)
            }
            b'"' => {
                self.literal();
                Kind::Scalar
            }
            _ => {
                while !matches!(self.peek(), b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r' | 0) {
                    self.i += 1;
                }
                Kind::Scalar
            }
        };
        Ok(Node { start, end: self.i, kind })
    }

    /// A string literal, quotes and escapes included.
    fn literal(&mut self) -> &'a str {
        let start = self.i;
        self.i += 1;
        loop {
            match self.peek() {
                b'"' | 0 => break,
                b'\\' => self.i += 2,
                _ => self.i += 1,
            }
        }
        self.i += 1;
        self.text.get(start..self.i).unwrap_or("\"\"")
    }

    fn where_(&self) -> String {
        let mut at = String::new();
        for step in &self.path {
            match step {
                Step::Key(key) => {
                    if !at.is_empty() {
                        at.push('.');
                    }
                    at.push_str(key);
                }
                Step::Item(n) => at.push_str(&format!("[{n}]")),
            }
        }
        at
    }
}
