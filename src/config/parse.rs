//! The shapes a variable's text takes, checked: absolute directories, bounded numbers, durations,
//! sizes, server URLs and `k=v,k2=v2` lists. Pure functions of the text, shared by every value.

use std::path::PathBuf;
use std::time::Duration;

pub(super) fn absolute_dir(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_absolute() { Ok(path) } else { Err(format!("{text:?} is a relative directory; give an absolute one")) }
}

pub(super) fn number_in(text: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: u64 = text.parse().map_err(|_| format!("{text:?} is not a whole number"))?;
    if (min..=max).contains(&n) { Ok(n) } else { Err(format!("{n} is outside {min}..={max}")) }
}
/// An `http://` or `https://` URL with a host, an optional port from 1 to 65535, and no
/// credentials (they would be journaled and shown): checked before anything is written.
pub fn check_url(url: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{url:?} is not a server URL: {why}"));
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it holds a space or control character");
    }
    let Ok(uri) = url.parse::<ureq::http::Uri>() else { return bad("it does not parse") };
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") if cfg!(feature = "tls") => {}
        Some("https") => return bad("https needs a build with TLS (./install.sh --tls); this one speaks plain http"),
        _ => return bad("it does not start with http://"),
    }
    if uri.host().is_none_or(str::is_empty) {
        return bad("it names no host");
    }
    let authority = uri.authority().map_or("", |a| a.as_str());
    if authority.contains('@') {
        return bad("credentials in the URL are not supported");
    }
    if !port_in_range(authority) {
        return bad("its port is not a number from 1 to 65535");
    }
    Ok(())
}

/// Whether a URL's authority (`user:pass@host:port`, `[::1]:3128`, `host`) names no port or one
/// from 1 to 65535: ureq reads `:99999` as no port at all, and would send to port 80.
pub fn port_in_range(authority: &str) -> bool {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let after_host = host_port.rsplit_once(']').map_or(host_port, |(_, rest)| rest);
    after_host.rsplit_once(':').is_none_or(|(_, port)| port.parse::<u16>().is_ok_and(|p| p != 0))
}
/// The dashboard's events endpoint for a server URL as a person writes it: a base URL
/// (`http://127.0.0.1:4000`, or one with a proxy's path prefix) gets `/events`; one that ends in
/// `/events` is taken as it is. `--server`, CLAUDE_SESSION_SERVER_URL and OBSERVABILITY_SERVER_URL
/// all go through here, so each form means the same in all three.
pub fn events_url(text: &str) -> Result<String, String> {
    check_url(text)?;
    // check_url took it: `scheme://authority[/path]`.
    let after_scheme = text.split_once("://").map_or("", |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    if text.contains(['?', '#']) {
        return Err(format!("{text:?} is not a server URL: it has a query; give the server's base URL"));
    }
    let base = text.trim_end_matches('/');
    if path.trim_end_matches('/').ends_with("/events") {
        return Ok(base.to_owned());
    }
    if let Some((prefix, _)) = base.split_once("/events/") {
        return Err(format!("{text:?} is one of the dashboard's API paths; give {prefix}/events"));
    }
    Ok(format!("{base}/events"))
}

/// `3600`, `3600s`, `250ms`, `90m`, `24h`, `2d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    if unit.trim() == "ms" {
        return Some(Duration::from_millis(n));
    }
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    n.checked_mul(scale).map(Duration::from_secs)
}

/// `65536`, `64K`, `64KiB`, `16M`, `1G` (binary units).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "K" | "k" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

pub fn parse_key_values(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    // A header's value is a secret as often as not, and a comma left unencoded in a value makes
    // the rest of it look like a member: an error names a member by its number, never its text.
    for (n, member) in text.split(',').map(str::trim).filter(|m| !m.is_empty()).enumerate() {
        let n = n + 1;
        let (k, v) = member.split_once('=').ok_or_else(|| format!("member {n} is not key=value"))?;
        let key = percent_decode(k.trim()).ok_or_else(|| format!("member {n}: bad %-escape in its key"))?;
        let value = percent_decode(v.trim()).ok_or_else(|| format!("member {n}: bad %-escape in its value"))?;
        if key.is_empty() || key.chars().any(|c| c.is_control()) || value.chars().any(|c| c == '\r' || c == '\n') {
            return Err(format!("member {n}: empty key or a line break"));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// An RFC 9110 token: what a header's name may be (letters, digits and ``!#$%&'*+-.^_`|~``).
/// Anything else (a space, a `:`) is a value taken for a name, which no request can carry.
pub fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration(" 2d "), Some(Duration::from_secs(172800)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("10y"), None);
        assert_eq!(parse_duration("-5"), None);
        assert_eq!(parse_duration("18446744073709551615d"), None);
    }

    #[test]
    fn a_base_server_url_gets_the_events_path() {
        for (given, url) in [
            ("http://127.0.0.1:4000", "http://127.0.0.1:4000/events"),
            ("http://127.0.0.1:4000/", "http://127.0.0.1:4000/events"),
            ("http://127.0.0.1:4000/events", "http://127.0.0.1:4000/events"),
            ("http://127.0.0.1:4000/events/", "http://127.0.0.1:4000/events"),
            ("http://h/observability", "http://h/observability/events"),
            ("http://h/observability/events", "http://h/observability/events"),
        ] {
            assert_eq!(events_url(given).as_deref(), Ok(url), "{given}");
        }
        for bad in ["http://h/events/recent", "http://h/?x=1", "notaurl"] {
            assert!(events_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        for good in ["http://127.0.0.1:4000/events", "http://localhost/events", "http://[::1]:4000/e", "http://h"] {
            check_url(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "notaurl",
            "",
            "ftp://h/",
            "http://",
            "http:///x",
            "http://h /x",
            "http://u:p@h/",
            "http://h:99999/",
            "http://h:/",
            "http://h:0/",
            "/events",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert_eq!(check_url("https://h/events").is_ok(), cfg!(feature = "tls"));
    }

    #[test]
    fn key_values() {
        assert_eq!(
            parse_key_values("Authorization=Bearer%20abc%3D%3D, x-team = a=b ,").unwrap(),
            vec![("Authorization".into(), "Bearer abc==".into()), ("x-team".into(), "a=b".into())]
        );
        assert_eq!(parse_key_values("").unwrap(), vec![]);
        assert!(parse_key_values("novalue").is_err());
        assert!(parse_key_values("=v").is_err());
        assert!(parse_key_values("k=%zz").is_err());
        assert!(parse_key_values("k=%0d%0aX: y").is_err());
        for bad in ["Authorization=Bearer%zzs3cr3t", "Authorization=Bearer abc,s3cr3t%zz=x", "s3cr3t"] {
            let e = parse_key_values(bad).unwrap_err();
            assert!(!e.contains("s3cr3t") && e.starts_with("member "), "{e}");
        }
    }

    #[test]
    fn tokens() {
        for good in ["Authorization", "x-api-key", "X_Key.1", "a!#$%&'*+-.^_`|~z"] {
            assert!(is_token(good), "{good}");
        }
        for bad in ["", "api-key 9f8e7d", "x-api-key: tok", "a\tb", "a(b)", "a,b", "a=b", "é"] {
            assert!(!is_token(bad), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("64K"), Some(65536));
        assert_eq!(parse_size(" 16MiB "), Some(16 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("1T"), None);
        assert_eq!(parse_size("M"), None);
        assert_eq!(parse_size("18446744073709551615K"), None);
    }
}
