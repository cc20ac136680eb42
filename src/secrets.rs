//! Keeping credentials out of the record: one filter that every string of a payload goes through
//! right after it is parsed, so the journal, the server body and anything built later are clean.
//!
//! No regex: the patterns are prefixes, byte classes and lengths, or a name that says secret in
//! front of `=` or `:`. [`RULES`] is the table, one row per pattern with the kind its marker
//! names and a real-format example; a 256-entry dispatch table built from it at compile time
//! says which rows can start at a byte, so a string is scanned once, most bytes cost one lookup,
//! and nothing is allocated unless something matches. A match is replaced by
//! `[redacted: <kind>]`.

use serde_json::{Map, Value};

/// What follows a token's prefix.
#[derive(Clone, Copy)]
pub enum Class {
    /// `[A-Za-z0-9]`
    Alnum,
    /// `[A-Za-z0-9_]`
    Word,
    /// `[A-Za-z0-9_-]`, base64url
    Url64,
    /// `[A-Za-z0-9_.-]`
    Url64Dot,
    /// `[A-Z0-9]`
    Upper,
    /// `[0-9a-f]`
    Hex,
    /// `[A-Za-z]`
    Letters,
    /// `[A-Za-z0-9-]`
    Dashed,
    /// `[A-Za-z0-9_/]`, a webhook's path
    Path,
}

impl Class {
    const fn has(self, b: u8) -> bool {
        match self {
            Class::Alnum => b.is_ascii_alphanumeric(),
            Class::Word => b.is_ascii_alphanumeric() || b == b'_',
            Class::Url64 => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            Class::Url64Dot => b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.',
            Class::Upper => b.is_ascii_uppercase() || b.is_ascii_digit(),
            Class::Hex => b.is_ascii_digit() || matches!(b, b'a'..=b'f'),
            Class::Letters => b.is_ascii_alphabetic(),
            Class::Dashed => b.is_ascii_alphanumeric() || b == b'-',
            Class::Path => b.is_ascii_alphanumeric() || b == b'_' || b == b'/',
        }
    }
}

pub enum Pattern {
    /// A literal prefix, then `min..=max` bytes of a class, not inside a longer word. `keep`:
    /// the prefix stays visible (a webhook's host) and only what follows is redacted.
    Token { prefix: &'static str, body: Class, min: usize, max: usize, keep: bool },
    /// `eyJ<header>.eyJ<claims>.<signature>`
    Jwt,
    /// `-----BEGIN … PRIVATE KEY-----` to its `-----END …-----`, or to the end of a value cut short.
    PrivateKey,
    /// The token after `Bearer ` outside a header.
    Bearer,
    /// The password of `scheme://user:password@host`.
    UrlPassword,
    /// The value after `NAME=`, `NAME: `, `"name": ` when the name says secret (see [`classify`]);
    /// the marker names what the name says, or the token format the value has.
    Named,
    /// The value after `--password `, `--token ` and the like (long options only: `-p` means too
    /// many other things).
    Flag,
}

pub struct Rule {
    /// The marker's kind (for [`Pattern::Named`] and [`Pattern::Flag`], the example's).
    pub kind: &'static str,
    pub pattern: Pattern,
    /// A real-format example, and the part of it that must not survive.
    pub example: &'static str,
    pub secret: &'static str,
}

const fn token(
    kind: &'static str,
    prefix: &'static str,
    body: Class,
    min: usize,
    max: usize,
    example: &'static str,
) -> Rule {
    Rule { kind, pattern: Pattern::Token { prefix, body, min, max, keep: false }, example, secret: example }
}

const fn rule(kind: &'static str, pattern: Pattern, example: &'static str, secret: &'static str) -> Rule {
    Rule { kind, pattern, example, secret }
}

const ANY: usize = usize::MAX - 1;

/// Every pattern, in the order they are tried where several can start at one byte. atuin's list
/// (crates/atuin-client/src/secrets.rs) is covered, plus common gitleaks formats. The example
/// values are made up in the real formats.
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    token("aws-access-key", "AKIA", Class::Upper, 16, 16, "AKIAIOSFODNN7EXAMPLE"),
    token("aws-access-key", "ASIA", Class::Upper, 16, 16, "ASIAY34FZKBOKMUTVV7A"),
    token("aws-access-key", "ABIA", Class::Upper, 16, 16, "ABIAZ7Q3LMN4OP5QR6ST"),
    token("aws-access-key", "ACCA", Class::Upper, 16, 16, "ACCAZ7Q3LMN4OP5QR6ST"),
    token("github-token", "ghp_", Class::Alnum, 36, 255, "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d"),
    token("github-token", "gho_", Class::Alnum, 36, 255, "gho_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR"),
    token("github-token", "ghu_", Class::Alnum, 36, 255, "ghu_IBXuDL7DxtpYlSXpfKtHF4vUCsMehGAkWvj7"),
    token("github-token", "ghs_", Class::Alnum, 36, 255, "ghs_FAc9QeWJKY40uvSwMFLZDe1f8rESQedUStPK"),
    token("github-token", "ghr_", Class::Alnum, 36, 255, "ghr_R0CsTy4Qwb8DwkNhFdnXsiVpzz63FfkCzJr4i0B3JrTAwR4y9ojfljoQoaF1LlqsajAIxNKu8iS2"),
    token("github-token", "github_pat_", Class::Word, 70, 255, "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"),
    token("github-token", "gh1_", Class::Word, 70, 255, "gh1_1234567890abcdefghijk_1234567890abcdefghijklmnopqrstuvwxyz1234567890abcdefghijklm"),
    token("github-token", "v1.", Class::Hex, 40, 40, "v1.b40928b5b7a767c76fb008f86bebb2737f6a6f0f"),
    token("gitlab-token", "glpat-", Class::Url64, 20, 255, "glpat-SkpXz9w3QlY7Zkuvqdt7"),
    token("slack-token", "xoxb-", Class::Dashed, 10, 255, "xoxb-82794019953-05520340930-0uARxlNtencYFJEeAgYzQJjO"),
    token("slack-token", "xoxp-", Class::Dashed, 10, 255, "xoxp-82794019953-05520340930-0uARxlNtencYFJEeAgYzQJjO"),
    token("slack-token", "xoxa-", Class::Dashed, 10, 255, "xoxa-2-82794019953-0uARxlNtencYFJEeAgYzQJjO"),
    token("slack-token", "xoxr-", Class::Dashed, 10, 255, "xoxr-82794019953-0uARxlNtencYFJEeAgYzQJjO"),
    token("slack-token", "xoxs-", Class::Dashed, 10, 255, "xoxs-82794019953-0uARxlNtencYFJEeAgYzQJjO"),
    token("slack-token", "xoxe-", Class::Dashed, 10, 255, "xoxe-1-82794019953-0uARxlNtencYFJEeAgYzQJjO"),
    rule("slack-webhook", Pattern::Token { prefix: "hooks.slack.com/", body: Class::Path, min: 20, max: ANY, keep: true }, "https://hooks.slack.com/services/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", "T8FKZR0ST/B0DTW00BX/PmzUzn8aB5kBh0fzK4xDXkia"),
    token("stripe-key", "sk_live_", Class::Alnum, 24, 255, "sk_live_ZPjN0MEQ7wjJJibaZUPgHV7i"),
    token("stripe-key", "sk_test_", Class::Alnum, 24, 255, "sk_test_ZPjN0MEQ7wjJJibaZUPgHV7i"),
    token("stripe-key", "rk_live_", Class::Alnum, 24, 255, "rk_live_B3m03nbqnsGpWLuqIA1id6Vw"),
    token("stripe-key", "rk_test_", Class::Alnum, 24, 255, "rk_test_B3m03nbqnsGpWLuqIA1id6Vw"),
    token("stripe-key", "whsec_", Class::Alnum, 32, 255, "whsec_5DQL05HA064GiIjHGb3CXlMaXZjljENU"),
    token("netlify-token", "nfp_", Class::Alnum, 36, 36, "nfp_hJduRHHJEYXg4JdpmrcXgGCJbW56eCuNGMGm"),
    token("netlify-token", "nfc_", Class::Alnum, 36, 36, "nfc_hJduRHHJEYXg4JdpmrcXgGCJbW56eCuNGMGm"),
    token("netlify-token", "nfo_", Class::Alnum, 36, 36, "nfo_hJduRHHJEYXg4JdpmrcXgGCJbW56eCuNGMGm"),
    token("netlify-token", "nfu_", Class::Alnum, 36, 36, "nfu_hJduRHHJEYXg4JdpmrcXgGCJbW56eCuNGMGm"),
    token("netlify-token", "nfb_", Class::Alnum, 36, 36, "nfb_hJduRHHJEYXg4JdpmrcXgGCJbW56eCuNGMGm"),
    token("npm-token", "npm_", Class::Alnum, 36, 36, "npm_SrCGIZEG8pSH4487q7J58m1CiAhzCueQpBen"),
    token("pulumi-token", "pul-", Class::Hex, 40, 40, "pul-934b484e73cf575dcad6ba2b0aee0ca923732881"),
    token("anthropic-api-key", "sk-ant-", Class::Url64, 32, ANY, "sk-ant-api03-xIq2HZt-PlJhx2jIclHkCiHp6bR1IqfEouHgxzNNAL5wIScGebcy8F5n3-YNBDRzrZSgqbjG3uhkWKFLf6xuI5aHUQPFeAA"),
    token("openai-api-key", "sk-proj-", Class::Url64, 32, ANY, "sk-proj-NBTxaQWk8JzFalHlsZfYcMMDktXP-tKsf2rcDkdfrUnW5gcF_Ha6ili8GjHEAD6-Wj9KfzjsQGMrb9h_ImB_LK777pzNk8cL6j5I"),
    token("openai-api-key", "sk-svcacct-", Class::Url64, 32, ANY, "sk-svcacct-NBTxaQWk8JzFalHlsZfYcMMDktXP-tKsf2rcDkdf"),
    token("openai-api-key", "sk-admin-", Class::Url64, 32, ANY, "sk-admin-NBTxaQWk8JzFalHlsZfYcMMDktXP-tKsf2rcDkdf"),
    token("openai-api-key", "sk-", Class::Alnum, 32, ANY, "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"),
    token("google-api-key", "AIza", Class::Url64, 35, 35, "AIzas1SWOpQaPRYpzbLGViYXjU2JgJngKtFI3Oy"),
    token("huggingface-token", "hf_", Class::Letters, 34, 34, "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"),
    token("pypi-token", "pypi-AgEIcHlwaS5vcmc", Class::Url64, 50, ANY, "pypi-AgEIcHlwaS5vcmcHZEM9YpvujA-C5Q52ryFlwRlOEVHzc0X0AWIRh-JUqBlIFXZ53Ncqe28_ajY"),
    token("digitalocean-token", "dop_v1_", Class::Hex, 64, 64, "dop_v1_ee737443e210471948d33296c87009e8a7f770d9106fd287db7f1adbc60926f6"),
    token("sendgrid-key", "SG.", Class::Url64Dot, 60, 80, "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"),
    token("age-secret-key", "AGE-SECRET-KEY-1", Class::Upper, 58, 58, "AGE-SECRET-KEY-10PZCYC3EDQMEVXRVCQURTAEBOG43YQ15I5LATJPUU3XF6MZKP0EC498UK1"),
    token("linear-api-key", "lin_api_", Class::Alnum, 40, 40, "lin_api_4geqNfngAFTCloiADN5RpVI2XQWhX1ssrKrxqVqm"),
    token("shopify-token", "shpat_", Class::Hex, 32, 32, "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"),
    token("shopify-token", "shpss_", Class::Hex, 32, 32, "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"),
    rule("jwt", Pattern::Jwt, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"),
    rule("private-key", Pattern::PrivateKey, "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"),
    rule("url-password", Pattern::UrlPassword, "postgres://app:s3cr3t-pw@db.internal:5432/app", "s3cr3t-pw"),
    rule("bearer-token", Pattern::Bearer, "token is bearer 7f3kQ9x2LmP4vB8n", "7f3kQ9x2LmP4vB8n"),
    rule("password", Pattern::Named, "PGPASSWORD=hunter2x psql -h db", "hunter2x"),
    rule("password", Pattern::Flag, "mysql --password 'p4ss w0rd' -h db", "p4ss w0rd"),
];

const _: () = assert!(RULES.len() <= 64, "the dispatch table holds 64 rules");

/// For each byte, the rules (bit i: `RULES[i]`) that can start there: `[0]` at the start of a
/// word, `[1]` inside one, where only a few patterns can start (most letters are inside a word,
/// so most bytes cost one lookup and no branch taken).
const DISPATCH: [[u64; 256]; 2] = {
    let mut table = [[0u64; 256]; 2];
    let mut i = 0;
    while i < RULES.len() {
        let (firsts, inside_words): (&[u8], bool) = match &RULES[i].pattern {
            // A token starts with its prefix's first byte; the others list theirs.
            Pattern::Token { prefix, keep, .. } => (prefix.as_bytes().split_at(1).0, *keep),
            Pattern::Jwt => (b"e", false),
            Pattern::Bearer => (b"Bb", false),
            Pattern::PrivateKey | Pattern::Flag => (b"-", true),
            Pattern::UrlPassword => (b":", true),
            Pattern::Named => (b"=:", true),
        };
        let mut j = 0;
        while j < firsts.len() {
            table[0][firsts[j] as usize] |= 1 << i;
            if inside_words {
                table[1][firsts[j] as usize] |= 1 << i;
            }
            j += 1;
        }
        i += 1;
    }
    table
};

/// For each byte, the rules that can have it second: a token's prefix says which, the other
/// patterns take any. Most candidates (`s` not followed by `k`) end here, before any rule runs.
const SECOND: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < RULES.len() {
        let second: &[u8] = match &RULES[i].pattern {
            Pattern::Token { prefix, .. } => prefix.as_bytes().split_at(2).0.split_at(1).1,
            Pattern::Jwt => b"y",
            Pattern::Bearer => b"e",
            Pattern::PrivateKey | Pattern::Flag => b"-",
            Pattern::UrlPassword => b"/",
            Pattern::Named => b"",
        };
        let mut c = 0;
        while c < 256 {
            if second.is_empty() || second[0] as usize == c {
                table[c] |= 1 << i;
            }
            c += 1;
        }
        i += 1;
    }
    table
};

const MARKER_OPEN: &str = "[redacted: ";

/// `text` with every secret replaced by its marker; `None` (no allocation) when nothing matched.
pub fn redact_text(text: &str) -> Option<String> {
    scan(text).map(|(out, _)| out)
}

/// Redacts every string in `fields` at every depth (object keys too), and the whole value of a
/// member whose name says secret. Returns how many secrets were replaced.
pub fn redact_fields(fields: &mut Map<String, Value>) -> usize {
    redact_map(fields)
}

/// [`redact_fields`] for one value of any kind.
pub fn redact_value(value: &mut Value) -> usize {
    match value {
        Value::String(s) => match scan(s) {
            Some((clean, n)) => {
                *s = clean;
                n
            }
            None => 0,
        },
        Value::Array(items) => items.iter_mut().map(redact_value).sum(),
        Value::Object(map) => redact_map(map),
        _ => 0,
    }
}

/// One journal line through the filter, for `cleanup --redact`: `None` when it holds nothing to
/// redact (the file can stay as it is). A line that is not JSON (a torn tail) is filtered as text.
pub fn redact_line(line: &str) -> Option<String> {
    let body = line.strip_suffix('\n').unwrap_or(line);
    match serde_json::from_str::<Value>(body) {
        Ok(mut value) => {
            if redact_value(&mut value) == 0 {
                return None;
            }
            let mut out = serde_json::to_string(&value).ok()?;
            if body.len() < line.len() {
                out.push('\n');
            }
            Some(out)
        }
        Err(_) => redact_text(line),
    }
}

fn redact_map(map: &mut Map<String, Value>) -> usize {
    let mut n = 0;
    for (key, value) in map.iter_mut() {
        if let Value::String(s) = value
            && let Some(kind) = classify(key)
            && let Some(clean) = whole_value(s, kind)
        {
            *s = clean;
            n += 1;
            continue;
        }
        n += redact_value(value);
    }
    // Keys are rarely secrets; the map is rebuilt (in order) only when one is.
    if map.keys().any(|k| scan(k).is_some()) {
        let old = std::mem::take(map);
        for (key, value) in old {
            match scan(&key) {
                Some((clean, k)) => {
                    n += k;
                    map.insert(clean, value);
                }
                None => {
                    map.insert(key, value);
                }
            }
        }
    }
    n
}

/// The marker for a whole value held under a name that says secret, keeping an authorization's
/// scheme (`Bearer [redacted: …]`); `None` for values that hold no secret (`$VAR`, `true`, "").
fn whole_value(value: &str, kind: &'static str) -> Option<String> {
    let (scheme, secret) = if kind == "authorization" { split_scheme(value) } else { ("", value) };
    if !worth_redacting(secret) {
        return None;
    }
    Some(format!("{scheme}{}", marker(token_kind(secret).unwrap_or(kind))))
}

fn marker(kind: &str) -> String {
    format!("{MARKER_OPEN}{kind}]")
}

/// The scan itself: the clean text and the number of matches, or `None`.
fn scan(text: &str) -> Option<(String, usize)> {
    let b = text.as_bytes();
    let s = Scan { text, b, limit: content_end(text) };
    let mut out: Option<String> = None;
    let (mut last, mut count, mut i) = (0, 0, 0);
    let mut in_word = false;
    while i < s.limit {
        let c = b[i];
        let mut rules = DISPATCH[in_word as usize][c as usize];
        in_word = c.is_ascii_alphanumeric();
        if rules != 0 && i + 1 < s.limit {
            rules &= SECOND[b[i + 1] as usize];
        }
        if rules != 0
            && let Some(hit) = s.first_hit(i, rules)
        {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[last..hit.start]);
            out.push_str(MARKER_OPEN);
            out.push_str(hit.kind);
            out.push(']');
            count += 1;
            last = hit.end;
            i = hit.end.max(i + 1);
            in_word = b[i - 1].is_ascii_alphanumeric();
            continue;
        }
        i += 1;
    }
    out.map(|mut out| {
        out.push_str(&text[last..]);
        (out, count)
    })
}

/// Where a value's own text ends: before the `…[cut: N bytes]` the payload cut added, or the
/// `…` of a summary cut to one line. A secret running into it was cut short and still counts.
fn content_end(text: &str) -> usize {
    if text.ends_with(" bytes]")
        && let Some(at) = text.rfind("…[cut: ")
    {
        return at;
    }
    text.strip_suffix('…').map_or(text.len(), str::len)
}

struct Hit {
    start: usize,
    end: usize,
    kind: &'static str,
}

struct Scan<'a> {
    text: &'a str,
    b: &'a [u8],
    /// The end of the value's own text (see [`content_end`]).
    limit: usize,
}

impl Scan<'_> {
    fn first_hit(&self, i: usize, mut rules: u64) -> Option<Hit> {
        while rules != 0 {
            let r = rules.trailing_zeros() as usize;
            rules &= rules - 1;
            let rule = &RULES[r];
            let hit = match &rule.pattern {
                Pattern::Token { prefix, body, min, max, keep } => {
                    self.token(i, prefix.as_bytes(), *body, *min, *max, *keep, rule.kind)
                }
                Pattern::Jwt => self.jwt(i),
                Pattern::PrivateKey => self.private_key(i),
                Pattern::Bearer => self.bearer(i),
                Pattern::UrlPassword => self.url_password(i),
                Pattern::Named => self.named(i),
                Pattern::Flag => self.flag(i),
            };
            if hit.is_some() {
                return hit;
            }
        }
        None
    }

    /// The end of the run of `class` bytes from `from`, looking at no more than `max` of them.
    fn run(&self, from: usize, class: Class, max: usize) -> usize {
        let stop = self.limit.min(from.saturating_add(max));
        let mut j = from;
        while j < stop && class.has(self.b[j]) {
            j += 1;
        }
        j
    }

    /// `word` is at `i`, compared inline: prefixes are a few bytes, not worth a `memcmp` call.
    fn at(&self, i: usize, word: &[u8]) -> bool {
        self.limit - i >= word.len() && self.b[i..i + word.len()].iter().zip(word).all(|(a, b)| a == b)
    }

    fn word_start(&self, i: usize) -> bool {
        i == 0 || !self.b[i - 1].is_ascii_alphanumeric()
    }

    fn word_end(&self, j: usize) -> bool {
        j >= self.limit || !self.b[j].is_ascii_alphanumeric()
    }

    /// A run that reaches a cut marker was cut short: any length of it is part of a secret.
    fn cut_short(&self, end: usize, len: usize) -> bool {
        end == self.limit && self.limit < self.b.len() && len > 0
    }

    #[allow(clippy::too_many_arguments)]
    fn token(
        &self,
        i: usize,
        prefix: &[u8],
        body: Class,
        min: usize,
        max: usize,
        keep: bool,
        kind: &'static str,
    ) -> Option<Hit> {
        if !self.at(i, prefix) || !(keep || self.word_start(i)) {
            return None;
        }
        let from = i + prefix.len();
        let end = self.run(from, body, max + 1);
        let len = end - from;
        if len > max || (len < min && !self.cut_short(end, len)) || !self.word_end(end) {
            return None;
        }
        Some(Hit { start: if keep { from } else { i }, end, kind })
    }

    fn jwt(&self, i: usize) -> Option<Hit> {
        let b = self.b;
        if !self.at(i, b"eyJ") || !self.word_start(i) {
            return None;
        }
        let header = self.run(i, Class::Url64, ANY);
        if header - i < 10 || header >= self.limit || b[header] != b'.' || !self.at(header + 1, b"eyJ") {
            return None;
        }
        let claims = self.run(header + 1, Class::Url64, ANY);
        if claims - header < 10 {
            return None;
        }
        if claims < self.limit && b[claims] == b'.' {
            return Some(Hit { start: i, end: self.run(claims + 1, Class::Url64, ANY), kind: "jwt" });
        }
        self.cut_short(claims, 1).then_some(Hit { start: i, end: claims, kind: "jwt" })
    }

    fn private_key(&self, i: usize) -> Option<Hit> {
        const BEGIN: &[u8] = b"-----BEGIN ";
        let window = &self.b[i..self.limit];
        if !window.starts_with(BEGIN) {
            return None;
        }
        let label_len = find(&window[BEGIN.len()..window.len().min(BEGIN.len() + 64)], b"-----")?;
        // A public key or a certificate is no secret.
        find(&window[BEGIN.len()..BEGIN.len() + label_len], b"PRIVATE KEY")?;
        let body = BEGIN.len() + label_len + 5;
        // No END line: the value was cut short (or the key is broken); redact to its end.
        let end = find(&window[body..], b"-----END ")
            .and_then(|at| {
                let after = body + at + 9;
                find(&window[after..], b"-----").map(|close| after + close + 5)
            })
            .unwrap_or(window.len());
        Some(Hit { start: i, end: i + end, kind: "private-key" })
    }

    fn bearer(&self, i: usize) -> Option<Hit> {
        if !(self.at(i, b"Bearer ") || self.at(i, b"bearer ")) || !self.word_start(i) {
            return None;
        }
        let from = self.skip_blanks(i + 7);
        let mut end = from;
        while end < self.limit && (self.b[end].is_ascii_alphanumeric() || b"._~+/=-".contains(&self.b[end])) {
            end += 1;
        }
        let token = &self.b[from..end];
        // Prose ("bearer of bad news") is short and has no digits; tokens are long or do.
        let tokenish = token.len() >= 8 && (token.iter().any(u8::is_ascii_digit) || token.len() >= 24);
        (tokenish || self.cut_short(end, token.len())).then_some(Hit { start: from, end, kind: "bearer-token" })
    }

    fn url_password(&self, i: usize) -> Option<Hit> {
        let b = self.b;
        if !self.at(i, b"://") {
            return None;
        }
        let stop = |c: u8| c.is_ascii_whitespace() || b"/@?#\"'<>".contains(&c);
        let user = i + 3;
        let mut j = user;
        while j < self.limit && j - user < 256 && !stop(b[j]) && b[j] != b':' {
            j += 1;
        }
        if j == user || j >= self.limit || b[j] != b':' {
            return None;
        }
        let from = j + 1;
        let mut end = from;
        while end < self.limit && end - from < 256 && !stop(b[end]) {
            end += 1;
        }
        if end == from || end >= self.limit || b[end] != b'@' || !worth_redacting(&self.text[from..end]) {
            return None;
        }
        Some(Hit { start: from, end, kind: "url-password" })
    }

    fn skip_blanks(&self, mut j: usize) -> usize {
        while j < self.limit && matches!(self.b[j], b' ' | b'\t') {
            j += 1;
        }
        j
    }

    /// `NAME=value`, `NAME := value`, `NAME: value` (a YAML or env line, a header, an object),
    /// `"name": "value"`.
    fn named(&self, i: usize) -> Option<Hit> {
        let b = self.b;
        let op = b[i];
        let next = b.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|p| b[p]);
        let mut name_end = i;
        if op == b'=' {
            match (prev, next) {
                (_, Some(b'=' | b'>' | b'~')) => return None,
                (Some(b':' | b'?'), _) => name_end = i - 1,
                (Some(b'=' | b'!' | b'<' | b'>' | b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^'), _) => {
                    return None;
                }
                _ => {}
            }
        } else if matches!(next, Some(b':' | b'=' | b'/')) || prev == Some(b':') {
            // `::` paths, `:=` (handled at the `=`), `scheme://`.
            return None;
        }

        // The name, looking back over blanks and a closing quote.
        let mut k = name_end;
        while k > 0 && name_end - k < 8 && matches!(b[k - 1], b' ' | b'\t') {
            k -= 1;
        }
        let spaced = k < name_end || matches!(next, Some(b' ' | b'\t'));
        let quote = (k > 0 && matches!(b[k - 1], b'"' | b'\'')).then(|| {
            k -= 1;
            b[k]
        });
        let name_to = k;
        while k > 0 && name_to - k < 64 && (b[k - 1].is_ascii_alphanumeric() || b"_.-".contains(&b[k - 1])) {
            k -= 1;
        }
        let name_from = k;
        if name_from == name_to {
            return None;
        }
        if let Some(q) = quote
            && (name_from == 0 || b[name_from - 1] != q)
        {
            return None;
        }
        // `"X-Api-Key: value"`: a header inside quotes, whose value is not quoted again.
        let mut in_quotes = false;
        if op == b':' && quote.is_none() {
            // Prose has `word: ` everywhere; a key starts a line, an object member or a header.
            let mut p = name_from;
            while p > 0 && matches!(b[p - 1], b' ' | b'\t') {
                p -= 1;
            }
            let starts = p == 0 || matches!(b[p - 1], b'\n' | b'\r' | b',' | b'"' | b'\'' | b'-');
            // `{` opens an object, unless it is the shell's `${VAR:-default}`.
            let object = p > 0 && b[p - 1] == b'{' && (p < 2 || b[p - 2] != b'$');
            if !(starts || object) {
                return None;
            }
            in_quotes = p > 0 && matches!(b[p - 1], b'"' | b'\'');
        }
        let kind = classify(&self.text[name_from..name_to])?;

        let j = self.skip_blanks(i + 1);
        if j >= self.limit || (in_quotes && matches!(b[j], b'"' | b'\'')) {
            // `find("TOKEN:")`, a Rust lifetime `'token: 'a`: the quote ends the text, not a value.
            return None;
        }
        let (from, end) = if matches!(b[j], b'"' | b'\'' | b'`') {
            self.quoted(j)
        } else if kind == "authorization" {
            let (scheme, _) = split_scheme(&self.text[j..self.limit]);
            let from = j + scheme.len();
            let mut end = from;
            while end < self.limit && !matches!(b[end], b'\n' | b'\r' | b'"' | b'\'') {
                end += 1;
            }
            while end > from && b[end - 1] == b' ' {
                end -= 1;
            }
            (from, end)
        } else {
            let end = self.word(j, op == b':');
            let rest = self.skip_blanks(end);
            let line_ends = rest >= self.limit || matches!(b[rest], b'\n' | b'\r');
            if op == b':' && quote.is_none() && !(line_ends || matches!(b[rest], b'"' | b'\'')) {
                // `Password: must be 8 characters` is a sentence, `token: Token,` a field of a
                // struct; a setting's value ends its line or its header.
                return None;
            }
            let value = &b[j..end];
            if op == b'=' && spaced && !(line_ends && value.len() >= 8 && value.iter().any(u8::is_ascii_digit)) {
                // `token = get_token()` is code; an unquoted secret after ` = ` is a config line.
                return None;
            }
            (j, end)
        };
        let value = &self.text[from..end];
        if !worth_redacting(value) {
            return None;
        }
        Some(Hit { start: from, end, kind: token_kind(value).unwrap_or(kind) })
    }

    /// `--password value`, `--api-key "value"`; `--password=value` is [`Scan::named`]'s.
    fn flag(&self, i: usize) -> Option<Hit> {
        let b = self.b;
        if b.get(i + 1) != Some(&b'-') || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'-')) {
            return None;
        }
        let name = i + 2;
        let mut end = name;
        while end < self.limit && (b[end].is_ascii_alphanumeric() || b[end] == b'_' || b[end] == b'-') {
            end += 1;
        }
        if end == name || end >= self.limit || b[end] != b' ' {
            return None;
        }
        let kind = classify(&self.text[name..end])?;
        let j = self.skip_blanks(end);
        if j >= self.limit || b[j] == b'-' {
            return None;
        }
        let (from, end) = if matches!(b[j], b'"' | b'\'') { self.quoted(j) } else { (j, self.word(j, false)) };
        let value = &self.text[from..end];
        if !worth_redacting(value) {
            return None;
        }
        Some(Hit { start: from, end, kind: token_kind(value).unwrap_or(kind) })
    }

    /// The inside of a quoted value starting at `j`: to its closing quote, else to the end of
    /// the line (a value cut short).
    fn quoted(&self, j: usize) -> (usize, usize) {
        let q = self.b[j];
        let mut end = j + 1;
        while end < self.limit && self.b[end] != q && self.b[end] != b'\n' {
            end += 1;
        }
        (j + 1, end)
    }

    /// An unquoted value: to the next blank or shell/markup punctuation.
    fn word(&self, j: usize, in_object: bool) -> usize {
        let mut end = j;
        while end < self.limit {
            let c = self.b[end];
            if c.is_ascii_whitespace() || b"\"'`;&|<>()".contains(&c) || (in_object && (c == b',' || c == b'}')) {
                break;
            }
            end += 1;
        }
        end
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `Bearer `, `Basic `, `token ` … at the start of an authorization value: kept visible.
fn split_scheme(value: &str) -> (&str, &str) {
    const SCHEMES: &[&str] = &["Bearer", "bearer", "Basic", "basic", "Token", "token", "Digest", "Bot", "ApiKey"];
    for scheme in SCHEMES {
        if let Some(rest) = value.strip_prefix(scheme)
            && rest.starts_with(' ')
        {
            let secret = rest.trim_start_matches(' ');
            return (&value[..value.len() - secret.len()], secret);
        }
    }
    ("", value)
}

/// False for values that are not secrets: empty or punctuation, a variable reference (`$TOKEN`,
/// `${X}`, `$(cmd)`), a boolean or null, a structure or type opening, or a marker already.
fn worth_redacting(value: &str) -> bool {
    let v = value.trim();
    let reference = v
        .strip_prefix('$')
        .is_some_and(|r| r.bytes().next().is_none_or(|c| matches!(c, b'{' | b'(' | b'_') || c.is_ascii_alphabetic()));
    let word = ["true", "false", "null", "none", "None", "undefined", "yes", "no"].contains(&v);
    // `{`, `[`, `(`, `<` open a structure or a type (`privateKey: {`, `token: Option<String>`).
    let structure = v.starts_with(['{', '[', '(', '<']);
    let punctuation = !v.bytes().any(|c| c.is_ascii_alphanumeric() || c >= 0x80);
    !(punctuation || reference || word || structure || v.starts_with(MARKER_OPEN.trim_end()))
}

/// The kind of token `value` is, when all of it is one (so `GITHUB_TOKEN=ghp_…` is marked a
/// github-token, not just a token).
fn token_kind(value: &str) -> Option<&'static str> {
    let s = Scan { text: value, b: value.as_bytes(), limit: value.len() };
    let first = *value.as_bytes().first()?;
    let tokens = DISPATCH[0][first as usize];
    let hit = s.first_hit(0, tokens)?;
    (hit.start == 0 && hit.end == value.len() && !matches!(hit.kind, "password")).then_some(hit.kind)
}

/// Last words of a name that make its value something other than the secret: a path, a name,
/// a length, a switch (`SSH_KEY_PATH`, `TOKEN_URL`, `PASSWORD_MIN_LENGTH`).
const NOT_SECRET_LAST: &[&str] = &[
    "PATH",
    "FILE",
    "FILES",
    "DIR",
    "NAME",
    "NAMES",
    "ID",
    "IDS",
    "TYPE",
    "KIND",
    "LEN",
    "LENGTH",
    "SIZE",
    "COUNT",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "PORT",
    "HEADER",
    "FIELD",
    "ENV",
    "VAR",
    "PREFIX",
    "SUFFIX",
    "FORMAT",
    "MODE",
    "ALGORITHM",
    "ALG",
    "TTL",
    "EXPIRY",
    "EXPIRES",
    "EXPIRATION",
    "LIMIT",
    "MAX",
    "MIN",
    "FILTER",
    "ENABLED",
    "DISABLED",
    "REQUIRED",
    "TIMEOUT",
    "USAGE",
    "STDIN",
    "HINT",
    "POLICY",
    "LABEL",
    "REF",
    "ARN",
    "VERSION",
    "STORE",
    "MANAGER",
    "PROVIDER",
    "HELPER",
    "SOURCE",
    "TEMPLATE",
    "FINGERPRINT",
    "LOCATION",
    "CMD",
    "COMMAND",
    "PROMPT",
    "ROTATION",
    "INDEX",
    "LEVEL",
    "STRENGTH",
];

/// First words of a name that make it a switch or a function, not a value (`--no-password`,
/// `ask_password`, `get_token`).
const NOT_SECRET_FIRST: &[&str] = &[
    "NO", "ASK", "PROMPT", "SHOW", "PRINT", "SKIP", "USE", "WITH", "WITHOUT", "REQUIRE", "ENABLE", "DISABLE", "FORGET",
    "GENERATE", "ROTATE", "HAS", "IS", "VALIDATE", "VERIFY", "CHECK", "GET", "READ", "LOAD", "FETCH",
];

/// Last words that say how a value is kept, not what it is (`client_secret_value`).
const CONTAINERS: &[&str] =
    &["VALUE", "STRING", "STR", "DATA", "B64", "BASE64", "HEX", "RAW", "TEXT", "PLAIN", "PLAINTEXT", "BASE", "BYTES"];

/// Words next to KEY that make it a credential (`ACCESS_KEY`, `clientKey`); an env-style
/// upper-case name with KEY is one too (`AZURE_STORAGE_ACCOUNT_KEY`).
const KEY_QUALIFIERS: &[&str] = &[
    "ACCESS",
    "AUTH",
    "CLIENT",
    "ENCRYPTION",
    "SIGNING",
    "MASTER",
    "SERVICE",
    "ACCOUNT",
    "APP",
    "LICENSE",
    "SSH",
    "HMAC",
    "SESSION",
    "SHARED",
    "STORAGE",
    "WEBHOOK",
    "DEPLOY",
    "ADMIN",
    "SUBSCRIPTION",
];

/// What a name says its value is: `password`, `secret`, `token`, `credential`, `api-key`,
/// `private-key`, `key` or `authorization`; `None` for every other name. Words are split at
/// `_ - .` and camelCase, and compared without case.
pub fn classify(name: &str) -> Option<&'static str> {
    if !may_say_secret(name.as_bytes()) {
        return None;
    }
    let mut words = [""; 16];
    let mut n = 0;
    for word in split_words(name) {
        if n == words.len() {
            break;
        }
        words[n] = word;
        n += 1;
    }
    let words = &words[..n];
    let (first, mut last) = (*words.first()?, *words.last()?);
    if NOT_SECRET_LAST.iter().any(|w| last.eq_ignore_ascii_case(w))
        || (n > 1 && NOT_SECRET_FIRST.iter().any(|w| first.eq_ignore_ascii_case(w)))
    {
        return None;
    }
    let is = |w: &str, x: &str| w.eq_ignore_ascii_case(x);
    let has = |w: &str, x: &str| contains_ignore_case(w, x);
    let ends = |w: &str, x: &str| w.len() >= x.len() && w[w.len() - x.len()..].eq_ignore_ascii_case(x);
    let any = |f: &dyn Fn(&str) -> bool| words.iter().any(|w| f(w));
    // The last word says what the value is (`traffic_secret_expander` is no secret); a last word
    // that only says how it is stored hands over to the one before (`secret_key_base`).
    if n > 1 && CONTAINERS.iter().any(|c| is(last, c)) {
        last = words[n - 2];
    }
    if is(last, "AUTHORIZATION") {
        return Some("authorization");
    }
    if has(last, "PASSWORD")
        || has(last, "PASSWD")
        || has(last, "PASSPHRASE")
        || (n > 1 && (is(last, "PWD") || is(last, "PASS")))
    {
        return Some("password");
    }
    if ends(last, "SECRET") {
        return Some("secret");
    }
    if ends(last, "TOKEN") {
        return Some("token");
    }
    if has(last, "CREDENTIAL") {
        return Some("credential");
    }
    if is(last, "KEY") || ends(last, "APIKEY") || ends(last, "PRIVATEKEY") || ends(last, "SECRETKEY") {
        if any(&|w| is(w, "API") || has(w, "APIKEY")) {
            return Some("api-key");
        }
        if any(&|w| has(w, "PRIVATE")) {
            return Some("private-key");
        }
        if any(&|w| ends(w, "SECRET") || ends(w, "SECRETKEY")) {
            return Some("secret");
        }
        // `AZURE_STORAGE_ACCOUNT_KEY`, not a lone `KEY` (a placeholder as often as not).
        let env_style = n > 1 && name.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
        if env_style || any(&|w| KEY_QUALIFIERS.iter().any(|q| is(w, q))) {
            return Some("key");
        }
    }
    None
}

/// A quick no for almost every name: none of the words [`classify`] looks for is in it.
fn may_say_secret(name: &[u8]) -> bool {
    let at = |j: usize, word: &[u8]| name.len() - j >= word.len() && name[j..j + word.len()].eq_ignore_ascii_case(word);
    (0..name.len()).any(|j| match name[j].to_ascii_lowercase() {
        b'p' => at(j, b"pass") || at(j, b"pwd"),
        b's' => at(j, b"secret"),
        b't' => at(j, b"token"),
        b'c' => at(j, b"credential"),
        b'k' => at(j, b"key"),
        b'a' => at(j, b"authorization"),
        _ => false,
    })
}

/// The words of a name: split at anything not alphanumeric and at camelCase humps
/// (`clientSecret`, `APIKey`).
fn split_words(name: &str) -> impl Iterator<Item = &str> {
    let b = name.as_bytes();
    let mut start = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            let c = b[i];
            if !c.is_ascii_alphanumeric() {
                let word = &name[start..i];
                i += 1;
                start = i;
                if !word.is_empty() {
                    return Some(word);
                }
                continue;
            }
            let hump = i > start
                && c.is_ascii_uppercase()
                && (b[i - 1].is_ascii_lowercase()
                    || (b[i - 1].is_ascii_uppercase() && b.get(i + 1).is_some_and(u8::is_ascii_lowercase)));
            if hump {
                let word = &name[start..i];
                start = i;
                i += 1;
                return Some(word);
            }
            i += 1;
        }
        if start < b.len() {
            let word = &name[start..];
            start = b.len();
            return Some(word);
        }
        None
    })
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_redacts_its_example_and_names_its_kind() {
        for rule in RULES {
            let text = format!("before {} after", rule.example);
            let clean = redact_text(&text).unwrap_or_else(|| panic!("{}: {} not redacted", rule.kind, rule.example));
            assert!(!clean.contains(rule.secret), "{}: {clean}", rule.kind);
            assert!(clean.contains(&format!("[redacted: {}]", rule.kind)), "{}: {clean}", rule.kind);
            assert!(clean.starts_with("before ") && clean.ends_with(" after"), "{clean}");
            assert_eq!(redact_text(&clean), None, "a marker is never redacted again: {clean}");
        }
    }

    #[test]
    fn names_say_what_their_values_are() {
        let cases = [
            ("AWS_SECRET_ACCESS_KEY", Some("secret")),
            ("GITHUB_TOKEN", Some("token")),
            ("PGPASSWORD", Some("password")),
            ("MYSQL_PWD", Some("password")),
            ("db_pass", Some("password")),
            ("clientSecret", Some("secret")),
            ("accessToken", Some("token")),
            ("OPENAI_API_KEY", Some("api-key")),
            ("x-api-key", Some("api-key")),
            ("apiKey", Some("api-key")),
            ("APIKey", Some("api-key")),
            ("privateKey", Some("private-key")),
            ("AZURE_STORAGE_ACCOUNT_KEY", Some("key")),
            ("GOOGLE_APPLICATION_CREDENTIALS", Some("credential")),
            ("Authorization", Some("authorization")),
            ("--password", Some("password")),
            ("key", None),
            ("monkey", None),
            ("sort_key", None),
            ("PWD", None),
            ("OLDPWD", None),
            ("input_tokens", None),
            ("max_tokens", None),
            ("SSH_KEY_PATH", None),
            ("CLAUDE_SESSION_SECRETS_FILTER", None),
            ("TOKEN_URL", None),
            ("no-password", None),
            ("password-stdin", None),
            ("get_token", None),
            ("AWS_ACCESS_KEY_ID", None),
            ("tool_use_id", None),
            ("session_id", None),
        ];
        for (name, kind) in cases {
            assert_eq!(classify(name), kind, "{name}");
        }
    }

    #[test]
    fn assignments_in_commands_and_files() {
        let cases = [
            ("export GITHUB_TOKEN=abc123xyz", "export GITHUB_TOKEN=[redacted: token]"),
            (
                "GITHUB_TOKEN=ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d gh pr list",
                "GITHUB_TOKEN=[redacted: github-token] gh pr list",
            ),
            (
                "curl 'https://x.io/a?access_token=s3cr3t&page=2'",
                "curl 'https://x.io/a?access_token=[redacted: token]&page=2'",
            ),
            ("DB_PASSWORD=\"correct horse\"\nDB_HOST=db\n", "DB_PASSWORD=\"[redacted: password]\"\nDB_HOST=db\n"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
                "aws_secret_access_key = [redacted: secret]\n",
            ),
            ("{\"client_secret\": \"abc\", \"id\": 1}", "{\"client_secret\": \"[redacted: secret]\", \"id\": 1}"),
            ("password: hunter2\nuser: me", "password: [redacted: password]\nuser: me"),
            ("  api_key: 'k-123'\n", "  api_key: '[redacted: api-key]'\n"),
            (
                "curl -H \"Authorization: Bearer abc.def.ghi\" x",
                "curl -H \"Authorization: Bearer [redacted: authorization]\" x",
            ),
            ("curl -H 'X-Api-Key: k123456' x", "curl -H 'X-Api-Key: [redacted: api-key]' x"),
            ("Authorization: Basic dXNlcjpwYXNz\r\n", "Authorization: Basic [redacted: authorization]\r\n"),
            ("token := \"abc\"", "token := \"[redacted: token]\""),
            ("login --token abc123 --verbose", "login --token [redacted: token] --verbose"),
            ("login --password=abc123", "login --password=[redacted: password]"),
            (
                "git clone https://me:pa55@github.com/x/y",
                "git clone https://me:[redacted: url-password]@github.com/x/y",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(redact_text(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn what_is_not_a_secret_stays() {
        let keep = [
            "the password is stored hashed, never in plain text",
            "Enter your password: ",
            "Password: must be at least 8 characters long",
            "if token == expected { return }",
            "let token = next_token(&mut lexer);",
            "password = os.environ[\"DB_PASSWORD\"]",
            "export GITHUB_TOKEN=$(gh auth token)",
            "TOKEN=${TOKEN:-none}",
            "docker login --password-stdin < pw.txt",
            "ssh-keygen --no-password x",
            "a3008a2b-25c3-4791-b916-3ad5effae209",
            "commit 85f589b2c1d4e8f9a0b1c2d3e4f5a6b7c8d9e0f1",
            "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  file.tar.gz",
            "SGVsbG8sIHRoaXMgaXMgb3JkaW5hcnkgdGV4dCBpbiBiYXNlNjQu",
            "the bearer of bad news",
            "https://github.com/atuinsh/atuin/blob/main/README.md",
            "std::fs::read(path)",
            "12:30:45 build ok",
            "sk-learn is a library; ask-ant-colony",
            "toolu_fake0001132657d176d1 a3f7f0963b7f0d067 ef3f4d58fd63c712",
            "CLAUDE_SESSION_SECRETS_FILTER=0 claude",
            "{\"input_tokens\": 50, \"output_tokens\": 10}",
            "key=value in a list of key: value pairs",
            "<a href=\"x34.html\" accesskey=\"p\" rel=\"prev\">Prev</a>",
            "        semi_token: node.semi_token,\n        enum_token: Token![enum](span),",
            "    let traffic_secret_expander = hkdf.expander(secret1234);",
            "  privateKeyEncoding: {\n    type: 'pkcs8',",
            "-D <KEY=VALUE>  set a variable",
            "struct Config {\n    api_key: Option<String>,\n    password: String,\n}",
            "auto Beg = S.find(\"DEDUP_TOKEN:\");",
            "impl<'iter, 'token: 'iter> Lexer",
            "I: Stream<Token=&'static str>,",
            "log(\"$git_token=$query->{$git_token}\")",
        ];
        for text in keep {
            assert_eq!(redact_text(text), None, "{text}");
        }
    }

    #[test]
    fn a_private_key_cut_short_is_redacted_to_its_end_and_the_cut_marker_kept() {
        let text = "cat id_rsa\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA…[cut: 3000 bytes]";
        assert_eq!(redact_text(text).unwrap(), "cat id_rsa\n[redacted: private-key]…[cut: 3000 bytes]");
        let text = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----";
        assert_eq!(redact_text(text), None, "a public key is not a secret");
    }

    #[test]
    fn a_token_cut_short_by_the_field_cap_is_still_redacted() {
        assert_eq!(
            redact_text("export X=1 ghp_u8jzPde0Ig…[cut: 90000 bytes]").unwrap(),
            "export X=1 [redacted: github-token]…[cut: 90000 bytes]"
        );
        assert_eq!(redact_text("ghp_u8jzPde0Ig is short"), None, "not cut: too short to be a token");
    }

    #[test]
    fn json_members_named_secret_are_redacted_whole_at_any_depth() {
        let mut v = serde_json::json!({
            "tool_input": {"env": {"API_KEY": "abc", "HOME": "/h", "GH_TOKEN": "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d"},
                           "headers": [{"Authorization": "Bearer xyz"}]},
            "input_tokens": 50, "password": "", "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d": 1
        });
        assert_eq!(redact_value(&mut v), 4);
        assert_eq!(v["tool_input"]["env"]["API_KEY"], "[redacted: api-key]");
        assert_eq!(v["tool_input"]["env"]["GH_TOKEN"], "[redacted: github-token]");
        assert_eq!(v["tool_input"]["env"]["HOME"], "/h");
        assert_eq!(v["tool_input"]["headers"][0]["Authorization"], "Bearer [redacted: authorization]");
        assert_eq!((v["input_tokens"].as_u64(), v["password"].as_str()), (Some(50), Some("")));
        assert_eq!(v["[redacted: github-token]"], 1, "a key that is a token is renamed: {v}");
    }

    #[test]
    fn redact_line_rewrites_only_lines_with_secrets() {
        let clean = "{\"event\":\"PreToolUse\",\"summary\":\"echo hello\"}\n";
        assert_eq!(redact_line(clean), None);
        let line = "{\"event\":\"PreToolUse\",\"summary\":\"export TOKEN=abc12345…\",\"n\":1}\n";
        let out = redact_line(line).unwrap();
        assert_eq!(out, "{\"event\":\"PreToolUse\",\"summary\":\"export TOKEN=[redacted: token]…\",\"n\":1}\n");
        assert_eq!(redact_line(&out), None);
        assert_eq!(
            redact_line("{\"torn\": \"npm_SrCGIZEG8pSH4487q7J58m1CiAhzCueQpBen").unwrap(),
            "{\"torn\": \"[redacted: npm-token]"
        );
    }

    #[test]
    fn non_ascii_text_is_scanned_safely() {
        let text = "mot de passe: é PASSWORD=héhé€ ü ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d…";
        let out = redact_text(text).unwrap();
        assert_eq!(out, "mot de passe: é PASSWORD=[redacted: password] ü [redacted: github-token]…");
    }
}
