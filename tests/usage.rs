//! Tokens and cost from transcripts, through the real binary: hand-made transcripts with known
//! usage for the edge cases (repeated response lines, subagents, a model switch, compaction, a
//! resumed session, a truncated last line, an unknown model, hostile files), totals checked
//! exactly per turn, subagent, model and session.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::server::Recorder;
use common::{TestEnv, payload, stdout};
use serde_json::{Value, json};

const DAY: &str = "2026-12-05";
/// Two models with a price in the built-in table.
const OPUS: &str = "claude-opus-5-5";
const SONNET: &str = "claude-sonnet-5-5";

fn at(second: u32) -> String {
    format!("{DAY}T10:00:{second:02}.000Z")
}

fn user(prompt: &str, second: u32) -> String {
    json!({"type": "user", "promptId": prompt, "message": {"role": "user", "content": "do it"}, "timestamp": at(second)})
        .to_string()
}

/// One transcript line of a response: `usage` is [input, output, cache write, cache read].
fn assistant(id: &str, request: &str, model: &str, usage: [u64; 4], second: u32) -> String {
    json!({
        "type": "assistant", "requestId": request, "timestamp": at(second),
        "message": {"id": id, "role": "assistant", "model": model, "content": [{"type": "text", "text": "ok"}],
                    "usage": {"input_tokens": usage[0], "output_tokens": usage[1],
                              "cache_creation_input_tokens": usage[2], "cache_read_input_tokens": usage[3]}},
    })
    .to_string()
}

fn write_lines(path: &Path, lines: &[String]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(path, text).unwrap();
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    fs::OpenOptions::new().append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}

struct Session {
    id: String,
    transcript: PathBuf,
    cwd: String,
}

impl Session {
    fn new(env: &TestEnv, id: &str) -> Session {
        let project = env.home.join(".claude/projects/-work");
        Session {
            id: id.into(),
            transcript: project.join(format!("{id}.jsonl")),
            cwd: env.cwd.to_string_lossy().into_owned(),
        }
    }

    fn event(&self, env: &TestEnv, event: &str, extra: Value) {
        let mut fields = json!({"transcript_path": self.transcript});
        for (k, v) in extra.as_object().unwrap() {
            fields[k] = v.clone();
        }
        let applet = match event {
            "PreToolUse" => "pre-tool",
            "PostToolUse" => "post-tool",
            _ => "session-start",
        };
        env.hook(applet, &payload(event, Some(&self.id), &self.cwd, fields));
    }

    /// A turn with no tool call: its prompt, then its Stop.
    fn turn(&self, env: &TestEnv, prompt: &str) {
        self.event(env, "UserPromptSubmit", json!({"prompt_id": prompt}));
        self.event(env, "Stop", json!({"prompt_id": prompt}));
    }

    fn subagent_path(&self, agent: &str) -> PathBuf {
        self.transcript.with_extension("").join(format!("subagents/agent-{agent}.jsonl"))
    }

    fn timeline(&self, env: &TestEnv) -> Value {
        let out = env.run("show", &["--timeline", &self.id, "--json"], b"");
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        common::json(&out.stdout)
    }
}

fn tokens(v: &Value) -> [u64; 4] {
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    [n("input_tokens"), n("output_tokens"), n("cache_creation_input_tokens"), n("cache_read_input_tokens")]
}

fn row_usage<'a>(timeline: &'a Value, event: &str, nth: usize) -> &'a Value {
    let rows = timeline["rows"].as_array().unwrap();
    let row = rows.iter().filter(|r| r["event"] == event).nth(nth).unwrap_or_else(|| panic!("no {event} {nth}"));
    &row["usage"]
}

/// Two turns, a model switch in the second, every response written as several lines, one
/// subagent: each total exact.
#[test]
fn totals_are_exact_per_turn_subagent_model_and_session() {
    let env = TestEnv::new();
    let s = Session::new(&env, "sess-1");
    write_lines(
        &s.transcript,
        &[
            user("p1", 1),
            // One response, three content blocks: three lines, counted once.
            assistant("msg_1", "req_1", OPUS, [10, 20, 300, 4000], 2),
            assistant("msg_1", "req_1", OPUS, [10, 20, 300, 4000], 2),
            assistant("msg_1", "req_1", OPUS, [10, 20, 300, 4000], 2),
            user("p1", 3),
            assistant("msg_2", "req_2", OPUS, [1, 2, 3, 4], 4),
            user("p2", 5),
            assistant("msg_3", "req_3", SONNET, [100, 200, 0, 50], 6),
            assistant("msg_3", "req_3", SONNET, [100, 200, 0, 50], 6),
        ],
    );
    let agent = s.subagent_path("a1");
    write_lines(&agent, &[user("p2", 5), assistant("msg_a", "req_a", OPUS, [7, 8, 9, 10], 6)]);
    s.event(&env, "SessionStart", json!({"source": "startup"}));
    s.event(&env, "UserPromptSubmit", json!({"prompt_id": "p1", "prompt": "one"}));
    s.event(&env, "Stop", json!({"prompt_id": "p1"}));
    s.event(&env, "UserPromptSubmit", json!({"prompt_id": "p2", "prompt": "two"}));
    s.event(
        &env,
        "SubagentStop",
        json!({"prompt_id": "p2", "agent_id": "a1", "agent_type": "general-purpose", "agent_transcript_path": agent}),
    );
    s.event(&env, "Stop", json!({"prompt_id": "p2"}));

    let t = s.timeline(&env);
    assert_eq!(tokens(row_usage(&t, "Stop", 0)), [11, 22, 303, 4004], "turn 1: msg_1 once, msg_2");
    assert_eq!(row_usage(&t, "Stop", 0)["responses"], 2);
    assert_eq!(tokens(row_usage(&t, "Stop", 1)), [100, 200, 0, 50], "turn 2: the main transcript's only");
    assert_eq!(tokens(row_usage(&t, "SubagentStop", 0)), [7, 8, 9, 10]);
    let usage = &t["usage"];
    assert_eq!(tokens(&usage["main"]), [111, 222, 303, 4054]);
    assert_eq!(tokens(&usage["subagents"]["a1"]), [7, 8, 9, 10]);
    assert_eq!(tokens(&usage["total"]), [118, 230, 312, 4064]);
    assert_eq!(tokens(&usage["total"]["models"][OPUS]), [18, 30, 312, 4014]);
    assert_eq!(tokens(&usage["total"]["models"][SONNET]), [100, 200, 0, 50]);
    // Our table applied to those totals, exactly: opus $4/$20/$5 write/$0.20 read, sonnet
    // $2/$10/$2.50/$0.10 per million.
    let opus_cost = (18.0 * 4.0 + 30.0 * 20.0 + 312.0 * 5.0 + 4014.0 * 0.2) / 1e6;
    let sonnet_cost = (100.0 * 2.0 + 200.0 * 10.0 + 50.0 * 0.1) / 1e6;
    let cost = usage["total"]["cost_usd"].as_f64().unwrap();
    assert!((cost - (opus_cost + sonnet_cost)).abs() < 1e-12, "{cost}");

    let text = stdout(&env.run("show", &["--timeline", "sess-1"], b""));
    assert!(text.contains("turn usage"), "{text}");
    assert!(text.contains("subagent usage"), "{text}");
    assert!(text.contains("1 subagent, apart:"), "{text}");
    assert!(text.contains("session total: 4.5k in / 230 out"), "{text}");

    let sessions = common::json(&env.run("show", &["--sessions", "--json"], b"").stdout);
    assert_eq!(tokens(&sessions["sessions"][0]["usage"]["total"]), [118, 230, 312, 4064]);
    let table = stdout(&env.run("show", &["--sessions"], b""));
    assert!(table.contains("TOKENS") && table.contains("4.5k in / 230 out"), "{table}");

    let cost = common::json(&env.run("show", &["--cost", "--since", "2026-12-01", "--json"], b"").stdout);
    let rows = cost["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{cost}");
    assert_eq!((rows[0]["day"].as_str(), rows[0]["model"].as_str()), (Some(DAY), Some(OPUS)));
    assert_eq!(tokens(&rows[0]), [18, 30, 312, 4014]);
    assert_eq!(tokens(&rows[1]), [100, 200, 0, 50]);
    assert_eq!(tokens(&cost["total"]), [118, 230, 312, 4064]);
    let text = stdout(&env.run("show", &["--cost", "--since", "2026-12-01"], b""));
    assert!(text.contains(OPUS) && text.contains("total"), "{text}");
}

/// A model we have no price for shows its tokens and "no price", never a number.
#[test]
fn an_unknown_model_shows_tokens_and_no_price() {
    let env = TestEnv::new();
    let s = Session::new(&env, "sess-unknown");
    write_lines(&s.transcript, &[user("p1", 1), assistant("m1", "r1", "claude-nova-9", [1000, 2000, 0, 0], 2)]);
    s.turn(&env, "p1");
    let t = s.timeline(&env);
    assert_eq!(tokens(&t["usage"]["total"]), [1000, 2000, 0, 0]);
    assert_eq!(t["usage"]["total"]["cost_usd"], Value::Null);
    assert_eq!(t["usage"]["total"]["unpriced_tokens"], 3000);
    let text = stdout(&env.run("show", &["--sessions"], b""));
    assert!(text.contains("1.0k in / 2.0k out") && text.contains("no price"), "{text}");
    assert!(!text.contains('$'), "{text}");

    // The user's table prices it.
    let mut env = env;
    env.set("CLAUDE_SESSION_PRICES", r#"{"claude-nova-9": {"input": 1, "output": 2}}"#);
    let t = s.timeline(&env);
    assert_eq!(t["usage"]["total"]["cost_usd"].as_f64(), Some(0.005));
    let file = env.root.join("prices.json");
    fs::write(&file, r#"{"claude-nova-9": {"input": "2", "output": "2"}}"#).unwrap();
    env.set("CLAUDE_SESSION_PRICES", &file);
    assert_eq!(s.timeline(&env)["usage"]["total"]["cost_usd"].as_f64(), Some(0.006));
    env.set("CLAUDE_SESSION_PRICES", r#"{"claude-nova-9": {"input": "cheap"}}"#);
    let out = env.run("show", &["--cost"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("CLAUDE_SESSION_PRICES"), "{}", common::stderr(&out));
}

/// A last line still being written is not counted until it is whole, then once; a resumed
/// session appending to its transcript is read on from where reading stopped.
#[test]
fn a_truncated_last_line_counts_once_when_whole_and_a_resumed_session_reads_on() {
    let env = TestEnv::new();
    let s = Session::new(&env, "sess-grow");
    write_lines(&s.transcript, &[user("p1", 1), assistant("m1", "r1", OPUS, [1, 1, 0, 0], 2)]);
    let partial = assistant("m2", "r2", OPUS, [10, 10, 0, 0], 3);
    let (head, tail) = partial.split_at(partial.len() / 2);
    append(&s.transcript, head);
    s.turn(&env, "p1");
    assert_eq!(tokens(&s.timeline(&env)["usage"]["total"]), [1, 1, 0, 0]);
    append(&s.transcript, &format!("{tail}\n"));
    assert_eq!(tokens(&s.timeline(&env)["usage"]["total"]), [11, 11, 0, 0]);
    assert_eq!(tokens(&s.timeline(&env)["usage"]["total"]), [11, 11, 0, 0], "read again: nothing new");

    // Resumed: the same transcript goes on with a new turn (and a repeat of a line already
    // counted, which still counts once).
    s.event(&env, "SessionStart", json!({"source": "resume"}));
    append(&s.transcript, &format!("{}\n{}\n", user("p2", 10), assistant("m3", "r3", OPUS, [100, 100, 0, 0], 11)));
    append(&s.transcript, &format!("{}\n", assistant("m2", "r2", OPUS, [10, 10, 0, 0], 3)));
    s.turn(&env, "p2");
    let t = s.timeline(&env);
    assert_eq!(tokens(&t["usage"]["total"]), [111, 111, 0, 0]);
    assert_eq!(tokens(row_usage(&t, "Stop", 1)), [100, 100, 0, 0]);

    // Replaced by a shorter file (not ours to guess why): read again from its start.
    write_lines(&s.transcript, &[user("p1", 1), assistant("m9", "r9", OPUS, [5, 5, 0, 0], 2)]);
    assert_eq!(tokens(&s.timeline(&env)["usage"]["total"]), [5, 5, 0, 0]);
}

/// Compaction writes a boundary and a summary as a user line; the responses before and after it
/// count, each in its turn.
#[test]
fn compaction_keeps_every_response_in_its_turn() {
    let env = TestEnv::new();
    let s = Session::new(&env, "sess-compact");
    let boundary = json!({"type": "system", "subtype": "compact_boundary", "timestamp": at(4)}).to_string();
    let summary = json!({"type": "user", "isCompactSummary": true, "promptId": "p2",
                         "message": {"role": "user", "content": "summary"}, "timestamp": at(5)})
    .to_string();
    write_lines(
        &s.transcript,
        &[
            user("p1", 1),
            assistant("m1", "r1", OPUS, [1, 2, 3, 4], 2),
            boundary,
            summary,
            assistant("m2", "r2", OPUS, [10, 20, 30, 40], 6),
        ],
    );
    s.turn(&env, "p1");
    s.event(&env, "SessionStart", json!({"source": "compact", "model": OPUS}));
    s.turn(&env, "p2");
    let t = s.timeline(&env);
    assert_eq!(tokens(row_usage(&t, "Stop", 0)), [1, 2, 3, 4]);
    assert_eq!(tokens(row_usage(&t, "Stop", 1)), [10, 20, 30, 40]);
    assert_eq!(tokens(&t["usage"]["total"]), [11, 22, 33, 44]);
}

/// Transcripts that are not ours or not transcripts cost nothing and break nothing: a FIFO, a
/// directory, a link, garbage, a line far over the bound, a relative path.
#[test]
fn hostile_transcripts_cost_nothing() {
    let env = TestEnv::new();
    let dir = env.root.join("hostile");
    fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo.jsonl");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let real = dir.join("real.jsonl");
    write_lines(&real, &[assistant("m1", "r1", OPUS, [1, 1, 0, 0], 1)]);
    let link = dir.join("link.jsonl");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let garbage = dir.join("garbage.jsonl");
    fs::write(&garbage, b"\xff\xfe not json\n{\"type\":\"assistant\",\"usage\":{}}\n{\"type\":\"assistant\"\n")
        .unwrap();
    let huge = dir.join("huge.jsonl");
    let mut big = String::from("{\"type\":\"assistant\",\"usage\":\"");
    big.push_str(&"x".repeat(17 << 20));
    big.push_str("\"}\n");
    big.push_str(&assistant("m2", "r2", OPUS, [3, 3, 0, 0], 2));
    big.push('\n');
    fs::write(&huge, big).unwrap();
    // Another user's transcript (made when the tests run as root) is not our usage.
    let theirs = dir.join("theirs.jsonl");
    write_lines(&theirs, &[assistant("m1", "r1", OPUS, [1, 1, 0, 0], 1)]);
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    } else {
        fs::remove_file(&theirs).unwrap();
    }
    let cwd = env.cwd.to_string_lossy().into_owned();
    let paths = [
        fifo.to_str().unwrap(),
        dir.to_str().unwrap(),
        link.to_str().unwrap(),
        garbage.to_str().unwrap(),
        theirs.to_str().unwrap(),
        "rel.jsonl",
    ];
    for (i, path) in paths.iter().enumerate() {
        let id = format!("hostile-{i}");
        env.hook(
            "session-start",
            &payload("UserPromptSubmit", Some(&id), &cwd, json!({"transcript_path": path, "prompt_id": "p"})),
        );
        env.hook(
            "session-start",
            &payload("Stop", Some(&id), &cwd, json!({"transcript_path": path, "prompt_id": "p"})),
        );
        let out = env.run("show", &["--timeline", &id, "--json"], b"");
        assert_eq!(out.status.code(), Some(0), "{path}: {}", common::stderr(&out));
        assert_eq!(common::json(&out.stdout)["usage"], Value::Null, "{path}");
    }
    // Over the line bound: skipped, and the line after it still counts.
    env.hook("session-start", &payload("Stop", Some("huge"), &cwd, json!({"transcript_path": huge})));
    let t = common::json(&env.run("show", &["--timeline", "huge", "--json"], b"").stdout);
    assert_eq!(tokens(&t["usage"]["total"]), [3, 3, 0, 0]);
    let out = env.run("show", &["--sessions"], b"");
    assert_eq!(out.status.code(), Some(0));
    let out = env.run("show", &["--cost"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
}

/// The journal's one session id.
fn only_session(env: &TestEnv) -> String {
    let text: String = common::list(&env.journal_dir())
        .iter()
        .filter(|n| n.ends_with(".jsonl"))
        .map(|n| fs::read_to_string(env.journal_dir().join(n)).unwrap())
        .collect();
    let ids: std::collections::BTreeSet<String> =
        text.lines().map(|l| common::json(l.as_bytes())["session_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids.into_iter().next().unwrap()
}

fn sum(usages: &[[u64; 4]]) -> [u64; 4] {
    let mut total = [0; 4];
    for u in usages {
        for (t, n) in total.iter_mut().zip(u) {
            *t += n;
        }
    }
    total
}

/// The real CLI against the fake Messages API, which reports the usage it is told: our totals
/// per turn, subagent, model and session are exactly those, a resumed session's second turn
/// included; and ccusage, reading the same transcripts, counts the same tokens.
#[test]
fn a_real_sessions_usage_is_what_the_api_reported_and_ccusage_agrees() {
    use common::claude::{self, FakeApi, Step};
    let Some(cli) = common::deps::or_skip(claude::cli()) else { return };
    let env = TestEnv::new();
    let out = env.run("claude-session", &["hooks", "install"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let api = FakeApi::start();
    let main = [[50, 10, 200, 1000], [60, 20, 0, 1300], [70, 30, 100, 1500]];
    let helper = [[5, 6, 7, 8], [9, 10, 11, 12]];
    let resumed = [80, 40, 0, 2000];
    let step = |s: Step, u: [u64; 4]| s.usage(u[0], u[1], u[2], u[3]);
    api.script(
        "count the tokens",
        vec![
            step(Step::tool("Bash", json!({"command": "echo one", "description": "one"})), main[0]),
            step(
                Step::tool(
                    "Agent",
                    json!({"description": "helper", "prompt": "helper marker: say hi", "subagent_type": "general-purpose",
                           "run_in_background": false}),
                ),
                main[1],
            ),
            step(Step::text("All counted."), main[2]).model(SONNET),
            step(Step::text("Counted again."), resumed),
        ],
    );
    api.script(
        "helper marker",
        vec![
            step(Step::tool("Bash", json!({"command": "echo two", "description": "two"})), helper[0]),
            step(Step::text("hi"), helper[1]),
        ],
    );
    env.claude_p(&cli, &api, "count the tokens", &["--model", OPUS]);
    let id = only_session(&env);
    let timeline = |env: &TestEnv| {
        let out = env.run("show", &["--timeline", &id, "--json"], b"");
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        common::json(&out.stdout)
    };
    let t = timeline(&env);
    let usage = &t["usage"];
    assert_eq!(tokens(&usage["main"]), sum(&main), "{usage:#}");
    assert_eq!(tokens(&usage["main"]["models"][OPUS]), sum(&main[..2]));
    assert_eq!(tokens(&usage["main"]["models"][SONNET]), main[2]);
    let agents = usage["subagents"].as_object().unwrap();
    assert_eq!(agents.len(), 1, "{usage:#}");
    assert_eq!(tokens(agents.values().next().unwrap()), sum(&helper));
    assert_eq!(tokens(row_usage(&t, "Stop", 0)), sum(&main), "the turn is the whole main transcript");

    // Resumed: a second turn in the same session.
    env.claude_p(&cli, &api, "count again", &["--model", OPUS, "--resume", &id]);
    let t = timeline(&env);
    let stops = t["rows"].as_array().unwrap().iter().filter(|r| r["event"] == "Stop").count();
    assert_eq!(tokens(row_usage(&t, "Stop", stops - 1)), resumed, "the resumed turn alone");
    let ours = tokens(&t["usage"]["total"]);
    assert_eq!(ours, sum(&[sum(&main), sum(&helper), resumed]));

    // ccusage: per project, its subagent rows added.
    let Some(modules) = common::deps::or_skip(common::deps::npm("ccusage", &["ccusage@18"])) else { return };
    let mut cmd = env.command(modules.join(".bin/ccusage"));
    cmd.args(["session", "--json", "--offline"]).env("CLAUDE_CONFIG_DIR", env.home.join(".claude"));
    let out = common::feed(cmd, b"");
    assert!(out.status.success(), "ccusage: {}", common::stderr(&out));
    let report = common::json(&out.stdout);
    let mut theirs = [0u64; 4];
    for row in report["sessions"].as_array().unwrap() {
        let n = |k: &str| row[k].as_u64().unwrap_or_else(|| panic!("{k} in {row}"));
        let row = [n("inputTokens"), n("outputTokens"), n("cacheCreationTokens"), n("cacheReadTokens")];
        theirs = sum(&[theirs, row]);
    }
    assert_eq!(ours, theirs, "ccusage: {report:#}");
}

/// The dashboard's Stop summary leads with the turn's tokens and cost, its SubagentStop's with
/// the subagent's; the hook itself reads no transcript (the deliverer does).
#[test]
fn the_dashboards_stop_summary_says_what_the_turn_cost() {
    let server = common::server::TestServer::start();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", &server.url);
    let s = Session::new(&env, "sess-dash");
    write_lines(
        &s.transcript,
        &[user("p1", 1), assistant("m1", "r1", OPUS, [2000, 1100, 300, 10_000], 2), user("p2", 3)],
    );
    let agent = s.subagent_path("a9");
    write_lines(&agent, &[assistant("ma", "ra", OPUS, [100, 50, 0, 0], 4)]);
    s.event(&env, "UserPromptSubmit", json!({"prompt_id": "p1"}));
    s.event(&env, "Stop", json!({"prompt_id": "p1", "last_assistant_message": "All done."}));
    s.event(&env, "SubagentStop", json!({"agent_id": "a9", "agent_transcript_path": agent}));
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let received = server.wait_for(3, std::time::Duration::from_secs(30));
    let stop = received.iter().find(|e| e["hook_event_type"] == "Stop").unwrap();
    // 2000 + 300 + 10000 in; $4 × 2000 + $20 × 1100 + $5 × 300 + $0.20 × 10000 per million.
    assert_eq!(stop["summary"], "done · 12.3k in / 1.1k out · $0.03 · All done.");
    let sub = received.iter().find(|e| e["hook_event_type"] == "SubagentStop").unwrap();
    assert!(sub["summary"].as_str().unwrap().starts_with("100 in / 50 out · $0.0014 · "), "{sub}");
}

/// `cleanup` removes ledgers not written for as long as the journal is kept, and only those.
#[test]
fn cleanup_removes_old_ledgers_only() {
    let env = TestEnv::new();
    let s = Session::new(&env, "sess-old");
    write_lines(&s.transcript, &[user("p1", 1), assistant("m1", "r1", OPUS, [1, 1, 0, 0], 2)]);
    s.event(&env, "Stop", json!({"prompt_id": "p1"}));
    s.timeline(&env);
    let dir = env.journal_dir().join("usage");
    let ledgers: Vec<String> = common::list(&dir).into_iter().filter(|n| n.ends_with(".json")).collect();
    assert_eq!(ledgers.len(), 1, "{ledgers:?}");
    let fresh = dir.join("0123456789abcdef.json");
    fs::write(&fresh, "{}").unwrap();
    let old = nix::sys::time::TimeVal::new(1_000_000_000, 0);
    nix::sys::stat::utimes(&dir.join(&ledgers[0]), &old, &old).unwrap();
    let out = env.run("cleanup", &[], b"");
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(!dir.join(&ledgers[0]).exists());
    assert!(fresh.exists());
    // Read again from the transcript: the same totals.
    assert_eq!(tokens(&s.timeline(&env)["usage"]["total"]), [1, 1, 0, 0]);
}

/// Every span a collector received as OTLP/HTTP JSON, its attributes as a map.
fn spans(collector: &Recorder) -> Vec<Value> {
    let mut spans = Vec::new();
    for request in collector.requests().iter().filter(|r| r.path.ends_with("/v1/traces")) {
        let body = request.json();
        for rs in body["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for span in ss["spans"].as_array().into_iter().flatten() {
                    let mut span = span.clone();
                    let attrs: serde_json::Map<String, Value> = span["attributes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| {
                            let v = &a["value"];
                            let v = v.get("intValue").or(v.get("stringValue")).or(v.get("doubleValue")).cloned();
                            (a["key"].as_str().unwrap().to_owned(), v.unwrap_or(Value::Null))
                        })
                        .collect();
                    span["attrs"] = Value::Object(attrs);
                    spans.push(span);
                }
            }
        }
    }
    spans
}

/// OTLP: under the turn's span a span of kind LLM per model with its tokens (GenAI and
/// OpenInference names) and cost; the same under a subagent's span; nothing counted twice.
#[test]
fn otlp_turns_and_subagents_carry_their_usage_per_model() {
    let collector = Recorder::start();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &collector.url);
    // The collector here reads JSON; the default is http/protobuf.
    env.set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
    let s = Session::new(&env, "3f8a3c1e-1111-4222-8333-944455556666");
    write_lines(
        &s.transcript,
        &[
            user("p1", 1),
            assistant("m1", "r1", OPUS, [10, 20, 300, 4000], 2),
            assistant("m1", "r1", OPUS, [10, 20, 300, 4000], 2),
            assistant("m2", "r2", SONNET, [1, 2, 0, 0], 3),
        ],
    );
    let agent = s.subagent_path("a7");
    write_lines(&agent, &[assistant("ma", "ra", OPUS, [5, 6, 7, 8], 4)]);
    s.event(&env, "SessionStart", json!({"source": "startup"}));
    s.event(&env, "UserPromptSubmit", json!({"prompt_id": "p1"}));
    let call = json!({"prompt_id": "p1", "tool_name": "Agent", "tool_use_id": "toolu_1",
                      "tool_input": {"description": "help", "prompt": "help"}});
    s.event(&env, "PreToolUse", call.clone());
    s.event(&env, "SubagentStart", json!({"prompt_id": "p1", "agent_id": "a7", "agent_type": "general-purpose"}));
    s.event(
        &env,
        "SubagentStop",
        json!({"prompt_id": "p1", "agent_id": "a7", "agent_type": "general-purpose", "agent_transcript_path": agent}),
    );
    let mut done = call;
    done["tool_response"] = json!({"status": "completed", "agentId": "a7"});
    s.event(&env, "PostToolUse", done);
    s.event(&env, "Stop", json!({"prompt_id": "p1"}));
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let spans = spans(&collector);
    let llm: Vec<&Value> = spans.iter().filter(|s| s["attrs"]["openinference.span.kind"] == "LLM").collect();
    assert_eq!(llm.len(), 3, "opus and sonnet under the turn, opus under the subagent: {spans:#?}");
    let find = |parent_name: &str, model: &str| {
        let parent = spans.iter().find(|s| s["name"] == parent_name).unwrap_or_else(|| panic!("no {parent_name} span"));
        *llm.iter()
            .find(|s| s["parentSpanId"] == parent["spanId"] && s["attrs"]["llm.model_name"] == model)
            .unwrap_or_else(|| panic!("no {model} under {parent_name}"))
    };
    let n = |s: &Value, k: &str| s["attrs"][k].as_str().and_then(|v| v.parse::<u64>().ok()).or(s["attrs"][k].as_u64());
    let turn_opus = find("turn", OPUS);
    assert_eq!(n(turn_opus, "gen_ai.usage.input_tokens"), Some(4310), "input, cache write and cache read");
    assert_eq!(n(turn_opus, "gen_ai.usage.output_tokens"), Some(20), "the repeated line once");
    assert_eq!(n(turn_opus, "gen_ai.usage.cache_read.input_tokens"), Some(4000));
    assert_eq!(n(turn_opus, "gen_ai.usage.cache_creation.input_tokens"), Some(300));
    assert_eq!(n(turn_opus, "llm.token_count.prompt"), Some(4310));
    assert_eq!(n(turn_opus, "llm.token_count.completion"), Some(20));
    assert_eq!(n(turn_opus, "llm.token_count.total"), Some(4330));
    assert_eq!(n(turn_opus, "llm.token_count.prompt_details.cache_read"), Some(4000));
    assert_eq!(turn_opus["name"], format!("chat {OPUS}"));
    let cost = turn_opus["attrs"]["llm.cost.total"].as_f64().unwrap();
    assert!((cost - (10.0 * 4.0 + 20.0 * 20.0 + 300.0 * 5.0 + 4000.0 * 0.2) / 1e6).abs() < 1e-12, "{cost}");
    assert_eq!(n(find("turn", SONNET), "gen_ai.usage.output_tokens"), Some(2));
    let sub = spans.iter().find(|s| {
        s["name"] != "turn"
            && llm.iter().any(|l| {
                l["parentSpanId"] == s["spanId"]
                    && l["attrs"]["llm.model_name"] == OPUS
                    && n(l, "gen_ai.usage.output_tokens") == Some(6)
            })
    });
    assert!(sub.is_some(), "the subagent's usage under its own span: {spans:#?}");
    let turns = spans.iter().filter(|s| s["name"] == "turn").count();
    assert_eq!(turns, 1);
    assert!(
        spans
            .iter()
            .filter(|s| s["attrs"]["openinference.span.kind"] != "LLM")
            .all(|s| s["attrs"].get("llm.token_count.total").is_none()),
        "tokens only on the usage spans"
    );
}

/// Phoenix, from PyPI on loopback, prices the usage spans: a replayed session with known usage
/// shows a non-zero cost there, the one our table gives (Phoenix's own prices for these models
/// are the same).
#[test]
fn phoenix_shows_the_sessions_cost() {
    use common::backends::Backend;
    let Some(phoenix) = common::deps::or_skip(Backend::phoenix()) else { return };
    let mut env = TestEnv::new();
    phoenix.configure(&mut env);
    let s = Session::new(&env, "4b1c2d3e-1111-4222-8333-944455556666");
    write_lines(
        &s.transcript,
        &[
            user("p1", 1),
            assistant("m1", "r1", OPUS, [2000, 1100, 300, 10_000], 2),
            assistant("m2", "r2", OPUS, [5, 50, 0, 12_000], 3),
        ],
    );
    s.event(&env, "SessionStart", json!({"source": "startup"}));
    s.turn(&env, "p1");
    s.event(&env, "SessionEnd", json!({"reason": "other"}));
    let out = env.run("claude-session", &["flush"], b"");
    // The hooks' own deliverer may have sent everything already: nothing is left either way.
    assert!(
        out.status.success() && !common::stdout(&out).contains("set aside 1"),
        "{}{}\n{}",
        common::stdout(&out),
        common::stderr(&out),
        phoenix.log()
    );
    let ours = s.timeline(&env)["usage"]["total"]["cost_usd"].as_f64().unwrap();
    let query = json!({"query": "{ projects { edges { node { name costSummary { total { cost tokens } } } } } }"});
    // Phoenix computes costs as it inserts spans, in the background: ask until it has them.
    let mut cost = None;
    for _ in 0..600 {
        let answer = phoenix.post_json("/graphql", &query);
        let total = &answer["data"]["projects"]["edges"][0]["node"]["costSummary"]["total"];
        if let Some(c) = total["cost"].as_f64().filter(|c| *c > 0.0) {
            cost = Some((c, total["tokens"].as_f64()));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (cost, tokens) = cost.unwrap_or_else(|| panic!("Phoenix has no cost\n{}", phoenix.log()));
    assert!((cost - ours).abs() < 1e-9, "Phoenix ${cost}, ours ${ours}");
    assert_eq!(tokens, Some((2000 + 1100 + 300 + 10_000 + 5 + 50 + 12_000) as f64));
}

#[test]
fn absurd_token_counts_neither_abort_nor_wrap() {
    let env = TestEnv::new();
    let session = Session::new(&env, "absurd");
    let max = u64::MAX;
    // Counts near u64::MAX (a hand-edited or corrupt transcript): summed, they overflowed.
    write_lines(
        &session.transcript,
        &[
            user("p1", 1),
            assistant("m1", "r1", OPUS, [max, max, 0, max], 2),
            assistant("m2", "r2", OPUS, [max, 7, max, 0], 3),
        ],
    );
    session.turn(&env, "p1");
    let t = session.timeline(&env);
    assert_eq!(tokens(&t["usage"]["total"]), [max, max, max, max], "saturated, not wrapped");
    for args in [&["--sessions"][..], &["--cost", "--since", "30d"], &["--cost", "--since", "30d", "--json"]] {
        let out = env.run("show", args, b"");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", common::stderr(&out));
    }
}

/// The OTLP deliverer's LLM span summed prompt and output tokens unsaturated: with counts near
/// `u64::MAX` the deliverer panicked on every try (debug) or sent a wrapped total (release), and
/// the turn's usage span never arrived.
#[test]
fn absurd_token_counts_reach_the_collector_saturated() {
    let collector = Recorder::start();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &collector.url);
    env.set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
    let s = Session::new(&env, "absurd-otlp");
    let max = u64::MAX;
    write_lines(&s.transcript, &[user("p1", 1), assistant("m1", "r1", OPUS, [max, max, 0, 0], 2)]);
    s.event(&env, "SessionStart", json!({"source": "startup"}));
    s.turn(&env, "p1");
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let spans = spans(&collector);
    let llm = spans.iter().find(|s| s["attrs"]["openinference.span.kind"] == "LLM").expect("the usage span");
    let total = &llm["attrs"]["llm.token_count.total"];
    assert_eq!(total.as_str().and_then(|v| v.parse::<i64>().ok()).or(total.as_i64()), Some(i64::MAX), "{llm}");
}
