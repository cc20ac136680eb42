//! Writes a changed document back into the user's own text: every byte of what did not change is
//! kept (line endings, indentation, key order, one-line arrays, a UTF-8 byte order mark), and only
//! what changed is written, in the file's own style. Whatever the merge decided (which entries, of
//! which shape) is applied by comparing its result with the text, so the entry's shape is the
//! merge's business alone.
//!
//! How: the text is read once into values with their byte spans ([`doc::Node`]). A value equal
//! to its new version is copied; an object keeps its members by key and an array its items in
//! order, and what was removed goes with the separator that joined it (the one after it, or for
//! the last one the one before it), so that removing what an insertion added gives back the bytes
//! from before it. Members and items are only ever added at the end (the merge appends); anything
//! else, or a value that changed type, is written anew in the file's style.

use super::doc::{self, Json, Kind, Node};

/// A UTF-8 byte order mark: Claude Code reads a settings file that starts with one.
pub const BOM: &str = "\u{feff}";

/// `text` with `new` in place of what it held (`text` must parse, see [`doc::Json::parse`]).
/// Without a text, `new` rendered as [`Json::render`] does.
pub fn splice(text: Option<&str>, new: &Json) -> String {
    let Some(text) = text else { return new.render() };
    let (bom, body) = match text.strip_prefix(BOM) {
        Some(body) => (BOM, body),
        None => ("", text),
    };
    let Ok(root) = Node::read(body) else { return new.render() };
    let style = Style::of(body);
    let mut out = String::with_capacity(text.len() + 1024);
    out.push_str(bom);
    out.push_str(&body[..root.start]);
    Splicer { text: body, style: &style }.value(&mut out, &root, new);
    out.push_str(&body[root.end..]);
    out
}

/// Whether the text between a container's brackets holds a line break.
fn on_lines(node: &Node, text: &str) -> bool {
    text[node.start..node.end].contains('\n')
}

/// The file's way of writing JSON, for what is written anew.
struct Style {
    newline: &'static str,
    /// One level of indentation: the first indented line's, else two spaces.
    unit: String,
    /// Whether the file writes `"key": value` (else `"key":value`) and `a, b` (else `a,b`) on one line.
    colon_space: bool,
    comma_space: bool,
    /// Whether the file spreads containers over lines at all.
    multiline: bool,
}

impl Style {
    fn of(text: &str) -> Style {
        let unit = text
            .lines()
            .map(|l| &l[..l.len() - l.trim_start_matches([' ', '\t']).len()])
            .find(|indent| !indent.is_empty())
            .unwrap_or("  ")
            .to_owned();
        Style {
            newline: if text.contains("\r\n") { "\r\n" } else { "\n" },
            unit,
            colon_space: !text.contains("\":") || text.contains("\": "),
            comma_space: text.contains(", "),
            multiline: text.trim_end().contains('\n'),
        }
    }

    /// `value` written anew; `indent` is the indentation of the line it starts on.
    fn render(&self, value: &Json, indent: &str, multiline: bool) -> String {
        let mut out = String::new();
        self.write(&mut out, value, indent, multiline);
        out
    }

    fn write(&self, out: &mut String, value: &Json, indent: &str, multiline: bool) {
        let (open, close, len) = match value {
            Json::Scalar(s) => return out.push_str(s),
            Json::Array(items) => ('[', ']', items.len()),
            Json::Object(members) => ('{', '}', members.len()),
        };
        out.push(open);
        let inner = format!("{indent}{}", self.unit);
        for n in 0..len {
            if n > 0 {
                out.push(',');
            }
            if multiline {
                out.push_str(self.newline);
                out.push_str(&inner);
            } else if n > 0 && self.comma_space {
                out.push(' ');
            }
            match value {
                Json::Array(items) => self.write(out, &items[n], &inner, multiline),
                Json::Object(members) => self.member(out, &members[n].0, &members[n].1, &inner, multiline),
                Json::Scalar(_) => {}
            }
        }
        if multiline && len > 0 {
            out.push_str(self.newline);
            out.push_str(indent);
        }
        out.push(close);
    }

    fn member(&self, out: &mut String, key: &str, value: &Json, indent: &str, multiline: bool) {
        out.push_str(key);
        out.push_str(if self.colon_space { ": " } else { ":" });
        self.write(out, value, indent, multiline);
    }
}

struct Splicer<'a> {
    text: &'a str,
    style: &'a Style,
}

/// One member or item of the new version: kept from the text (by index, maybe changed) or added.
enum Part<'n> {
    Kept(usize, &'n Json),
    Added(Option<&'n str>, &'n Json),
}

impl Splicer<'_> {
    fn value(&self, out: &mut String, node: &Node, new: &Json) {
        if node.json(self.text) == *new {
            return out.push_str(&self.text[node.start..node.end]);
        }
        let parts = match (&node.kind, new) {
            (Kind::Object(members), Json::Object(new_members)) => object_parts(members, new_members),
            (Kind::Array(items), Json::Array(new_items)) => array_parts(self.text, items, new_items),
            _ => None,
        };
        match parts {
            Some(parts) => self.container(out, node, &parts),
            // A changed scalar, or a value of another kind: written anew, spread over lines as
            // the value it replaces was (a scalar: as the file's containers are).
            None => {
                let multiline = match node.kind {
                    Kind::Scalar => self.style.multiline,
                    _ => on_lines(node, self.text),
                };
                out.push_str(&self.style.render(new, self.line_indent(node.start), multiline))
            }
        }
    }

    /// A container of the text with `parts` in place of its members or items.
    fn container(&self, out: &mut String, node: &Node, parts: &[Part]) {
        let text = self.text;
        // (start, end) of each old member or item, key included; and where its value is.
        let spans: Vec<(usize, usize, &Node)> = match &node.kind {
            Kind::Object(members) => members.iter().map(|(k, _, v)| (*k, v.end, v)).collect(),
            Kind::Array(items) => items.iter().map(|i| (i.start, i.end, i)).collect(),
            Kind::Scalar => return,
        };
        let kept: Vec<usize> =
            parts.iter().filter_map(|p| if let Part::Kept(i, _) = p { Some(*i) } else { None }).collect();
        let open = &text[node.start..node.start + 1];
        let close = &text[node.end - 1..node.end];
        let multiline = on_lines(node, text) || (spans.is_empty() && self.style.multiline);
        let outer = self.line_indent(node.start);
        let inner = match spans.first() {
            Some(&(start, ..)) if multiline && text[..start].ends_with([' ', '\t', '\n']) => {
                self.line_indent(start).to_owned()
            }
            _ => format!("{outer}{}", self.style.unit),
        };
        out.push_str(open);
        if kept.is_empty() {
            // Nothing of the text's is left: what was added, alone between the brackets.
            let added = parts.iter().filter_map(|p| if let Part::Added(k, v) = p { Some((*k, *v)) } else { None });
            let mut n = 0;
            for (key, new) in added {
                if n > 0 {
                    out.push(',');
                }
                self.line_break(out, &inner, multiline, n > 0);
                self.key_value(out, key, new, &inner, multiline);
                n += 1;
            }
            if multiline && n > 0 {
                out.push_str(self.style.newline);
                out.push_str(outer);
            }
        } else {
            // What led to the first member stays; each kept one after it keeps the separator
            // before it in the text (removed ones take theirs along); added ones go after the
            // last kept one; and what followed the last member in the text stays.
            out.push_str(&text[node.start + 1..spans[0].0]);
            for (n, part) in parts.iter().enumerate() {
                match part {
                    Part::Kept(i, new) => {
                        if n > 0 {
                            out.push_str(&text[spans[i - 1].1..spans[*i].0]);
                        }
                        out.push_str(&text[spans[*i].0..spans[*i].2.start]);
                        self.value(out, spans[*i].2, new);
                    }
                    Part::Added(key, new) => {
                        out.push(',');
                        self.line_break(out, &inner, multiline, true);
                        self.key_value(out, *key, new, &inner, multiline);
                    }
                }
            }
            out.push_str(&text[spans[spans.len() - 1].1..node.end - 1]);
        }
        out.push_str(close);
    }

    /// Before a member or item: a new line at `inner`, or on the same line a space when the
    /// file puts one after its commas.
    fn line_break(&self, out: &mut String, inner: &str, multiline: bool, after_comma: bool) {
        if multiline {
            out.push_str(self.style.newline);
            out.push_str(inner);
        } else if after_comma && self.style.comma_space {
            out.push(' ');
        }
    }

    fn key_value(&self, out: &mut String, key: Option<&str>, new: &Json, inner: &str, multiline: bool) {
        match key {
            Some(key) => self.style.member(out, key, new, inner, multiline),
            None => self.style.write(out, new, inner, multiline),
        }
    }

    /// The whitespace that starts the line `at` is on.
    fn line_indent(&self, at: usize) -> &str {
        let line = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        let rest = &self.text[line..];
        &rest[..rest.len() - rest.trim_start_matches([' ', '\t']).len()]
    }
}

/// The new object's members as kept or added ones, when it is the old one with members removed,
/// changed, or added at the end; None otherwise (it is written anew).
fn object_parts<'n>(old: &[(usize, String, Node)], new: &'n [(String, Json)]) -> Option<Vec<Part<'n>>> {
    let mut parts = Vec::new();
    let mut next = 0;
    let mut adding = false;
    for (key, value) in new {
        let found = old.iter().position(|(_, k, _)| doc::decode(k) == doc::decode(key));
        match found {
            Some(i) if i >= next && !adding => {
                parts.push(Part::Kept(i, value));
                next = i + 1;
            }
            Some(_) => return None,
            None => {
                adding = true;
                parts.push(Part::Added(Some(key), value));
            }
        }
    }
    Some(parts)
}

/// The new array's items as kept or added ones: items equal to an old one (in order) are kept,
/// an item that is not takes the place of the next old one of the same kind (it changed), and
/// what is left over at the end was added. None when that does not explain it.
fn array_parts<'n>(text: &str, old: &[Node], new: &'n [Json]) -> Option<Vec<Part<'n>>> {
    let olds: Vec<Json> = old.iter().map(|n| n.json(text)).collect();
    let mut parts = Vec::new();
    let mut next = 0;
    let mut adding = false;
    for item in new {
        if !adding {
            if let Some(k) = (next..olds.len()).find(|&k| olds[k] == *item) {
                parts.push(Part::Kept(k, item));
                next = k + 1;
                continue;
            }
            let same_kind = |a: &Json, b: &Json| std::mem::discriminant(a) == std::mem::discriminant(b);
            if next < olds.len() && same_kind(&olds[next], item) && !matches!(item, Json::Scalar(_)) {
                parts.push(Part::Kept(next, item));
                next += 1;
                continue;
            }
        }
        adding = true;
        parts.push(Part::Added(None, item));
    }
    Some(parts)
}
