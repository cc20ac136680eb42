//! The one HTTP client setup every sink uses: bounded timeouts, no redirects, our user agent,
//! statuses as values rather than errors, `localhost` as a literal, the proxy chosen as curl
//! chooses it (never for loopback), TLS roots as curl finds them, and the status-to-`Outcome` rule.

use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use ureq::http::Uri;
use ureq::http::uri::{Authority, Parts};

use super::Outcome;

/// An answer's text kept for reports: enough to say why, never the whole echo.
const ANSWER_MAX: u64 = 1024;
/// A Retry-After longer than this is read as this: a server cannot park delivery for days.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(300);

/// The agent configuration every sink starts from, for requests to `url`, trusting `certificate`
/// (a PEM file) for https when given. ureq's own proxy choice (`ALL_PROXY` first, for every scheme,
/// loopback too) is replaced by [`proxy_for`]'s.
pub fn config(
    timeout: Duration,
    url: &str,
    certificate: Option<&Path>,
) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    let timeout = Some(timeout);
    let builder = ureq::Agent::config_builder();
    #[cfg(feature = "tls")]
    let builder = builder.tls_config(tls_config(certificate));
    #[cfg(not(feature = "tls"))]
    let _ = certificate;
    // No global or resolve timeout: with them ureq resolves on a thread even for IP literals.
    builder
        .proxy(proxy_for(url).ok().flatten().map(|p| p.proxy))
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(timeout)
        .timeout_send_request(timeout)
        .timeout_send_body(timeout)
        .timeout_recv_response(timeout)
        .timeout_recv_body(timeout)
        .user_agent(concat!("claude-session/", env!("CARGO_PKG_VERSION")))
}

pub fn agent(timeout: Duration, url: &str) -> ureq::Agent {
    config(timeout, url, None).build().new_agent()
}

/// Where distributions keep their CA bundle; `SSL_CERT_FILE` first, as OpenSSL reads it.
#[cfg(feature = "tls")]
const SYSTEM_BUNDLES: &[&str] =
    &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// The CA file given, else the system's bundle, else the Mozilla roots compiled in; verified by
/// OpenSSL (Security.framework on macOS) as curl verifies, so a collector's own self-signed
/// certificate, which `openssl req -x509` makes a CA, can be the one trusted (rustls refuses a CA
/// as the server's certificate).
#[cfg(feature = "tls")]
fn tls_config(certificate: Option<&Path>) -> ureq::tls::TlsConfig {
    use std::path::PathBuf;
    use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};
    let env_file = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    let candidates = certificate
        .map(Path::to_path_buf)
        .into_iter()
        .chain(env_file.filter(|_| certificate.is_none()))
        .chain(SYSTEM_BUNDLES.iter().map(PathBuf::from).filter(|_| certificate.is_none()));
    let roots = candidates
        // Never waits on a FIFO (SSL_CERT_FILE may name anything): a regular file or nothing.
        .filter_map(|path| crate::private::read_regular(&path, crate::config::otlp::CERTIFICATE_MAX).ok())
        .map(|pem| {
            ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(c)) => Some(c.to_owned()),
                    _ => None,
                })
                .collect::<Vec<Certificate<'static>>>()
        })
        .find(|certs| !certs.is_empty())
        .map(|certs| RootCerts::new_with_certs(&certs))
        .unwrap_or(RootCerts::WebPki);
    TlsConfig::builder().provider(TlsProvider::NativeTls).root_certs(roots).build()
}

/// The proxy a request goes through, and how errors name it (no credentials).
pub struct Via {
    pub proxy: ureq::Proxy,
    pub name: String,
}

/// The proxy for a request to `url`, chosen as curl chooses it: `https_proxy` (or
/// `HTTPS_PROXY`) for https, `http_proxy` (or `HTTP_PROXY`, which curl leaves out) for http, else
/// `all_proxy` (`ALL_PROXY`); none for a host that `no_proxy` (`NO_PROXY`) lists, and never for a
/// loopback host (`localhost`, 127.0.0.0/8, ::1), which no proxy can reach. A value that is not a
/// proxy URL is an error naming its variable.
pub fn proxy_for(url: &str) -> Result<Option<Via>, String> {
    let Ok(uri) = url.parse::<Uri>() else { return Ok(None) };
    let Some(host) = uri.host() else { return Ok(None) };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if is_loopback(&host) {
        return Ok(None);
    }
    if crate::config::proxy_variable("no_proxy").is_some_and(|(_, list)| no_proxy_lists(&list, &host)) {
        return Ok(None);
    }
    let scheme = if uri.scheme_str() == Some("https") { "https_proxy" } else { "http_proxy" };
    let Some((name, value)) =
        crate::config::proxy_variable(scheme).or_else(|| crate::config::proxy_variable("all_proxy"))
    else {
        return Ok(None);
    };
    if !port_in_range(&value) {
        return Err(format!("{name}: not a proxy URL: its port is not a number from 1 to 65535"));
    }
    let proxy = ureq::Proxy::new(&value).map_err(|e| format!("{name}: not a proxy URL: {e}"))?;
    let name = format!("{}://{}:{}", proxy.uri().scheme_str().unwrap_or("http"), proxy.host(), proxy.port());
    Ok(Some(Via { proxy, name }))
}

/// Whether a proxy URL (`http://u:p@host:port/`, `host:port`, `[::1]:3128`) names no port or
/// one from 1 to 65535, by the rule a server's URL follows.
fn port_in_range(proxy: &str) -> bool {
    let rest = proxy.split_once("://").map_or(proxy, |(_, rest)| rest);
    crate::config::port_in_range(rest.split(['/', '?', '#']).next().unwrap_or_default())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether curl's `no_proxy` list names `host`: `*` is every host; an entry is a host and its
/// subdomains (a leading dot is the same); an IP entry is that address, or with `/bits` a network.
fn no_proxy_lists(list: &str, host: &str) -> bool {
    let ip = host.parse::<std::net::IpAddr>().ok();
    list.split(',').map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase()).filter(|e| !e.is_empty()).any(
        |entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.trim_start_matches('[').replace(']', "");
            if let (Some(ip), Some((net, bits))) = (ip, entry.split_once('/')) {
                return in_network(ip, net, bits);
            }
            host == entry || host.strip_suffix(entry.as_str()).is_some_and(|rest| rest.ends_with('.'))
        },
    )
}

fn in_network(ip: std::net::IpAddr, net: &str, bits: &str) -> bool {
    use std::net::IpAddr;
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else { return false };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// What a receiver answered: its status, the head of its body (only when not 2xx), and how long
/// it asked us to wait.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub text: String,
    pub retry_after: Option<Duration>,
}

/// POSTs `body` and reads the answer. A 2xx body (which may echo the event) is read to the end
/// so the connection can carry the next request.
pub fn post(agent: &ureq::Agent, url: &str, content_type: &str, body: &[u8]) -> Result<Answer, String> {
    let mut response = agent.post(url).header("Content-Type", content_type).send(body).map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
    if (200..300).contains(&status) {
        let _ = io::copy(&mut reader, &mut io::sink());
        return Ok(Answer { status, text: String::new(), retry_after });
    }
    let mut text = Vec::new();
    let _ = reader.take(ANSWER_MAX).read_to_end(&mut text);
    Ok(Answer { status, text: String::from_utf8_lossy(&text).into_owned(), retry_after })
}

/// 2xx is stored; 400 and 413 will never be taken; anything else (5xx, 429, 3xx, 401...) may
/// be taken later.
pub fn outcome(answer: Result<Answer, String>) -> Outcome {
    match answer {
        Ok(Answer { status: 200..=299, .. }) => Outcome::Delivered,
        Ok(Answer { status: status @ (400 | 413), text, .. }) => Outcome::Rejected { status, answer: text },
        Ok(Answer { status, text, retry_after }) => Outcome::Retry {
            error: format!("HTTP {status}: {}", crate::text::one_line(&text, 200)),
            after: retry_after,
        },
        Err(error) => Outcome::Retry { error, after: None },
    }
}

/// `http://localhost:4000/events` → `http://127.0.0.1:4000/events`, so that no name lookup
/// happens for a loopback receiver (a static glibc binary may not be able to make one). Anything
/// that is not a URL with the host `localhost` is returned as given.
pub fn loopback_literal(url: &str) -> String {
    let Ok(uri) = url.parse::<Uri>() else { return url.to_owned() };
    let Some(authority) = uri.authority() else { return url.to_owned() };
    if !authority.host().eq_ignore_ascii_case("localhost") {
        return url.to_owned();
    }
    let userinfo = authority.as_str().rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
    let port = authority.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    let Ok(literal) = Authority::try_from(format!("{userinfo}127.0.0.1{port}")) else { return url.to_owned() };
    let mut parts = Parts::from(uri);
    parts.authority = Some(literal);
    Uri::from_parts(parts).map(|u| u.to_string()).unwrap_or_else(|_| url.to_owned())
}

/// A `Retry-After` in seconds, capped at [`RETRY_AFTER_MAX`] (an HTTP date is not honoured).
pub fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    let seconds = headers.get("retry-after")?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds).min(RETRY_AFTER_MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_becomes_a_literal() {
        assert_eq!(loopback_literal("http://localhost:4000/events"), "http://127.0.0.1:4000/events");
        assert_eq!(loopback_literal("http://LOCALHOST/events"), "http://127.0.0.1/events");
        assert_eq!(loopback_literal("http://u:p@localhost:1/x"), "http://u:p@127.0.0.1:1/x");
        assert_eq!(loopback_literal("https://localhost:4318/v1/logs?a=b"), "https://127.0.0.1:4318/v1/logs?a=b");
        assert_eq!(loopback_literal("http://10.0.0.5:4000/events"), "http://10.0.0.5:4000/events");
        assert_eq!(loopback_literal("http://localhost.example.com/e"), "http://localhost.example.com/e");
        assert_eq!(loopback_literal("not a url"), "not a url");
    }

    #[test]
    fn no_proxy_as_curl_reads_it() {
        assert!(no_proxy_lists("*", "collector.example"));
        assert!(no_proxy_lists("example.com", "example.com"));
        assert!(no_proxy_lists(" .example.com", "otel.example.com"));
        assert!(no_proxy_lists("foo, example.com", "a.b.example.com"));
        assert!(!no_proxy_lists("example.com", "badexample.com"));
        assert!(no_proxy_lists("10.0.0.0/8", "10.2.3.4"));
        assert!(!no_proxy_lists("10.0.0.0/8", "11.2.3.4"));
        assert!(no_proxy_lists("192.168.1.5", "192.168.1.5"));
        assert!(no_proxy_lists("[fd00::]/8", "fd12::1"));
        assert!(!no_proxy_lists("", "example.com"));
        for host in ["localhost", "127.0.0.1", "127.8.9.10", "::1", "a.localhost"] {
            assert!(is_loopback(host), "{host}");
        }
        assert!(!is_loopback("10.0.0.1") && !is_loopback("localhost.example.com"));
    }

    #[test]
    fn a_proxy_port_is_checked() {
        for good in ["http://127.0.0.1:3128", "http://u:p@proxy:8080/", "proxy:1", "http://[::1]:65535", "http://proxy"]
        {
            assert!(port_in_range(good), "{good}");
        }
        for bad in ["http://127.0.0.1:99999", "http://u:p@127.0.0.1:99999/", "proxy:0", "[::1]:65536", "http://h:x"] {
            assert!(!port_in_range(bad), "{bad}");
        }
    }

    #[test]
    fn statuses() {
        let answer = |status, retry_after| Ok(Answer { status, text: "no".into(), retry_after });
        assert_eq!(outcome(answer(204, None)), Outcome::Delivered);
        assert_eq!(outcome(answer(413, None)), Outcome::Rejected { status: 413, answer: "no".into() });
        let later = Some(Duration::from_secs(7));
        assert_eq!(outcome(answer(429, later)), Outcome::Retry { error: "HTTP 429: no".into(), after: later });
        assert!(matches!(outcome(Err("refused".into())), Outcome::Retry { after: None, .. }));
    }
}
