//! Every environment value we parse, on any text: durations, sizes, numbers and URLs never
//! panic; what is accepted is in range and usable (a timeout can be added to a clock); and
//! `localhost` is rewritten without touching anything else.
#![no_main]

use std::time::{Duration, Instant};

use claude_session::config;
use claude_session::sink::http::loopback_literal;
use libfuzzer_sys::fuzz_target;

const VARS: &[&str] = &[
    "CLAUDE_SESSION_TTL",
    "CLAUDE_SESSION_LOG_DAYS",
    "CLAUDE_SESSION_LOG_FIELD_MAX",
    "CLAUDE_SESSION_SERVER_URL",
    "OBSERVABILITY_SERVER_URL",
    "CLAUDE_SESSION_SERVER_TIMEOUT",
    "CLAUDE_SESSION_OUTBOX_MAX",
    "CLAUDE_SESSION_STDIN_MAX",
    "CLAUDE_SESSION_DEBUG",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.contains('\0') || text.contains('=') {
        return;
    }

    if let Some(d) = config::parse_duration(text) {
        // Whole seconds or milliseconds, as written.
        assert!(d.subsec_nanos() % 1_000_000 == 0);
        assert_eq!(
            config::parse_duration(&format!("{}ms", d.as_millis())),
            Some(d).filter(|d| d.as_millis() <= u64::MAX as u128)
        );
    }
    if let Some(n) = config::parse_size(text) {
        assert_eq!(config::parse_size(&n.to_string()), Some(n));
    }

    let url = loopback_literal(text);
    if !text.to_ascii_lowercase().contains("localhost") {
        assert_eq!(url, text);
    }
    assert_eq!(loopback_literal(&url), url, "rewriting twice changes nothing");

    // Every variable at once, as a hook would read them.
    for var in VARS {
        // SAFETY: the fuzz target is single-threaded.
        unsafe { std::env::set_var(var, text) };
    }
    let _ = config::ttl();
    let _ = config::log_days();
    assert!((64..=1 << 30).contains(&config::log_field_max()));
    assert!(config::outbox_max() >= 1);
    assert!((1 << 10..=1 << 30).contains(&config::stdin_max()));
    let _ = config::server_url();
    let _ = config::debug();
    let timeout = config::server_timeout();
    assert!(timeout > Duration::ZERO, "a zero timeout fails every POST");
    assert!(Instant::now().checked_add(timeout).is_some(), "a timeout must fit a clock: {timeout:?}");
});
