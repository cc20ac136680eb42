//! Words for people: one-line summaries, plurals, ages, and text made safe for a terminal.

use std::borrow::Cow;

/// `1 event`, `2 events`.
pub fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Whitespace runs folded to one space, cut to `max` characters with an ellipsis.
pub fn one_line(text: &str, max: usize) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &folded[..i]),
        None => folded,
    }
}

/// `42s`, `5m`, `3h`, `2d`: the coarse age `show` prints.
pub fn human_age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// Recorded text as a terminal may show it: control characters (ESC, BEL, newlines, C1 codes)
/// become visible escapes, so a command or path cannot move the cursor, set the clipboard (OSC
/// 52), clear the screen or break a table. `--json` output is exact instead.
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push_str("\\e"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Left-aligned columns, two spaces apart, one line each; the last column is not padded. Cells
/// must already be terminal-safe.
pub fn columns(lines: Vec<Vec<String>>) -> String {
    let mut widths = vec![0; lines.first().map_or(0, Vec::len)];
    for line in &lines {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for line in &lines {
        let mut text = String::new();
        for (i, (c, w)) in line.iter().zip(&widths).enumerate() {
            if i + 1 == line.len() {
                text.push_str(c);
            } else {
                text.push_str(&format!("{c:<w$}  "));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_made_visible() {
        assert_eq!(safe("ls -la"), "ls -la");
        assert_eq!(safe("a\x1b]52;c;ZXZpbA==\x07b"), "a\\e]52;c;ZXZpbA==\\u{7}b");
        assert_eq!(safe("x\x1b[2Jy\nz\u{9b}"), "x\\e[2Jy\\nz\\u{9b}");
    }

    #[test]
    fn words() {
        assert_eq!(plural(1, "tool call"), "1 tool call");
        assert_eq!(plural(2, "tool call"), "2 tool calls");
        assert_eq!(one_line("a\n  b\tc", 3), "a b…");
        assert_eq!(human_age(3700), "1h");
    }
}
