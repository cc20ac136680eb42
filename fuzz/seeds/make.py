#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/seeds/<target>/ from the real fixtures and hand-made edge cases.
Run from the repository root: python3 fuzz/seeds/make.py (a journal from the real binary is
made by fuzz/seeds/journal.sh first, if present)."""
import hashlib, json, os, pathlib, shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "tests/fixtures/claude-code-2.1.330"
OUT = ROOT / "fuzz/seeds"


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


for t in ["payload", "session_file", "settings_merge", "journal_read", "outbox", "store_read", "env_values", "secrets"]:
    shutil.rmtree(OUT / t, ignore_errors=True)

# payload: first byte picks the field cap (64 + 64 * b): 64, 256, 1 KiB, 16 KiB.
payloads = [p.read_bytes() for p in sorted(FIX.glob("*.json"))]
payloads += [l.encode() for l in (FIX / "recorded-sessions.jsonl").read_text().splitlines() if l.strip()]
for i, p in enumerate(payloads):
    put("payload", bytes([255 if i % 2 else 3]) + p)
    if i % 5 == 0:
        put("payload", bytes([0]) + p)
big = json.loads((FIX / "PostToolUse-Bash.json").read_text())
edge = [
    '{"zeta":1,"alpha":2,"mid":{"z":1.50,"a":-0,"big":12345678901234567890123,"e":1E+400}}',
    '{"session_id":"s","%s":1}' % ("k" * 40000),
    "{" + ",".join('"k%d":%d' % (i, i) for i in range(3000)) + "}",
    '{"session_id":"s","tool_input":{"file_path":"/a","content":"%s"},"tool_response":{"filePath":"/a","content":"%s","structuredPatch":[],"userModified":false}}' % ("c" * 20000, "d" * 20000),
    '{"session_id":"s","tool_input":' + "[" * 300 + "]" * 300 + "}",
    '{"session_id":"s","tool_input":{"a":{"b":{"c":{"d":{"e":{"f":"%s"}}}}}}}' % ("x" * 20000),
    '{"session_id":"s","tool_response":"%s"}' % ("\\u0001\\\"\\\\\\ud83d\\ude00" * 1500),
    '{"session_id":"s","hook_event_name":"PostToolUse","tool_response":"' + "a" * 20000,
    '{"session_id":"s","a":1}{"b":2}',
    '{"session_id":"s","dup":1,"dup":[1,2,3]}',
    '{"session_id":"s",' + ",".join('"%s":"%s"' % ("key" * 30 + str(i), "v" * 300) for i in range(100)) + "}",
    '{"session_id":"s","n":' + "9" * 20000 + "}",
    "[1,2,3]",
    '"just a string"',
    "\xff\xfe not json",
    "   ",
]
for e in edge:
    for cap in (0, 3, 255) if len(e) < 4096 else (3, 255):
        put("payload", bytes([cap]) + e.encode("utf-8", "surrogateescape"))
big["tool_response"] = {"stdout": "y" * 40000, "stderr": "", "interrupted": False}
put("payload", bytes([255]) + json.dumps(big).encode())

# session_file: first byte even = a file, odd = a directory path.
ID = "a3008a2b-25c3-4791-b916-3ad5effae209"
T = "2027-01-15T08:00:00.123456789Z"
files = [
    f"{ID}\n{T}\n/home/dev/src/proj\n",
    f"{ID}\n{T}\n",
    f"{ID}\n2025-09-24T12:52:51.430382\n",
    f"{ID}\n{T}\n/home/dev/My Project/caf\u00e9 \u65e5\u672c/%41%0A%ff\n",
    f"{'i' * 256}\n2027-01-15T08:00:00+14:00\n/{'d' * 7000}\n",
    f"{'i' * 256}\n{T}\n/{'%20' * 2389}\n",
    f"{ID}\n{T}\n/{'%ff' * 2390}\n",
    f"{ID}\n{T}\n/{'x' * 7168}\n",
    f"{ID}\r\n{T}\r\n",
    f"{ID}\n{T}\n/a\n/b\nextra\n",
    f"\n{T}\n",
    f"{'i' * 257}\n{T}\n",
    f"{ID}\n2099-01-01T00:00:00Z\n",
    f"{ID}\n{T}\n" + "/x" * 4200,
]
for f in files:
    put("session_file", b"\x00" + f.encode())
for d in ["home/dev/src/proj", "a b/c%d/\u00e9", "x" * 7167, "\u00e9" * 3583, " " * 7167, "\n\r\t" * 2390, "%" * 2390]:
    put("session_file", b"\x01" + d.encode())
put("session_file", b"\x01" + b"\xff\xfe/\x80" * 600)

# store_read: first byte picks the kind (0: 0600 file, 1: 0644, 2: 0620, 3: symlink, 4: FIFO, 5: dir).
for i, f in enumerate(files):
    put("store_read", bytes([i % 6 if i % 3 == 0 else 0]) + f.encode())
put("store_read", b"\x00" + f"{ID}\n{T}\n".encode() + b"x" * 8200)

# settings_merge: first byte odd = install with a server URL.
HOOK = lambda c, **kw: dict({"type": "command", "command": c}, **kw)
settings = [
    {},
    {"permissions": {"allow": ["Bash(git status)", "Read(~/.zshrc)"], "deny": ["Bash(curl:*)"]}, "model": "opus", "statusLine": {"type": "command", "command": "~/.claude/statusline.sh"}},
    {"env": {"CLAUDE_SESSION_SERVER_URL": "http://10.0.0.5:4000/events", "ANTHROPIC_MODEL": "x", "DISABLE_TELEMETRY": "1"}},
    {"hooks": {"Notification": [], "PreToolUse": [{"matcher": "x", "hooks": []}]}, "env": {}},
    {"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [HOOK("~/bin/guard.sh", timeout=5)]}], "PostToolUse": [{"matcher": "Edit|Write", "hooks": [HOOK("prettier --write \"$CLAUDE_FILE_PATHS\"")]}], "Stop": [{"hooks": [HOOK("say done")]}]}},
    {"hooks": {"PreToolUse": [{"matcher": "", "hooks": [HOOK("/fuzz/hooks/pre-tool", timeout=10), HOOK("other")]}]}},
    {"hooks": {"SessionStart": [{"matcher": "", "hooks": [HOOK("/fuzz/hooks/session-start", timeout=10)]}]}, "env": {"CLAUDE_SESSION_SERVER_URL": "http://127.0.0.1:4000/events"}},
    {"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "prompt", "prompt": "check"}]}, {"matcher": "Bash"}], "UnknownEvent": [{"x": 1}]}, "numbers": [1e2, -0, 12345678901234567890123, 1.0], "unicode": "caf\u00e9 \U0001F600"},
    {"hooks": {}},
    {"env": {"A": "1"}, "hooks": {"PostToolUseFailure": [{"matcher": "", "hooks": [HOOK("x")]}]}, "zzz": None, "aaa": [[], {}]},
]
for i, s in enumerate(settings):
    text = json.dumps(s, indent=2, ensure_ascii=False)
    put("settings_merge", bytes([i % 2]) + text.encode())
    put("settings_merge", bytes([1 - i % 2]) + json.dumps(s, separators=(",", ":")).encode())
raw_texts = [
    '{"numbers": 1e2, "big": 12345678901234567890123, "neg": -0, "huge": 1.0E+400}',
    '{"hooks": {"PreToolUse": [{"matcher": "", "hooks": []}]}, "hooks": {}}',
    '{ "a" : 1 ,\n\t"hooks" : { } }\n',
    '[]',
    '{"hooks": []}',
    '{"env": "x"}',
    '{"hooks": {"PreToolUse": {}}}',
]
for t in raw_texts:
    put("settings_merge", b"\x00" + t.encode())
    put("settings_merge", b"\x01" + t.encode())

# journal_read: a real journal (made by the real binary from the fixtures), torn and foreign lines.
journal = OUT / "journal.jsonl"
lines = journal.read_text().splitlines(keepends=True) if journal.exists() else []
if lines:
    put("journal_read", "".join(lines))
    put("journal_read", "".join(lines)[:-40])
    for i in range(0, len(lines), 7):
        put("journal_read", "".join(lines[i:i + 7]))
foreign = [
    '{"session_id":"a","event":"PreToolUse","tool_use_id":"t1","timestamp":"2026-11-21T19:21:49.669Z","tool":"Bash"}\n{"session_id":"a","event":"PostToolUse","tool_use_id":"t1","duration_ms":18}\n',
    '{"session_id":"a","event":"PostToolUseFailure","tool_use_id":"t2","error":"\\u001b[2Jboom","is_interrupt":true}\n',
    '{"session_id":"\\u0061","event":"Stop"}\n{"session_id":"a","k\\n":1}\n',
    '{"session_id":1}\n[1,2]\n"x"\nnull\n\xff\xfe\n{"session_id":"b","timestamp":"not a time","duration_ms":-5}\n',
    '{"session_id":"a","event":"PostToolUse","tool_use_id":"t3","duration_ms":18446744073709551615,"tool_response":{"agentId":7}}\n',
    '{"session_id":"a","timestamp":"2026-11-21T19:21:49Z","event":"PreToolUse","tool_use_id":"t4"}\n{"session_id":"a","timestamp":"2020-01-01T00:00:00Z","event":"PostToolUse","tool_use_id":"t4"}\n',
    '{"session_id":"a","session_id":"b","event":"x"}\n',
    '{"session_id":"torn","event":"PreToolUse"',
]
for f in foreign:
    put("journal_read", f.encode("utf-8", "surrogateescape"))

# outbox: first byte even = a file name, odd = state.json.
names = ["%020d-%010d-%04d.json" % (1763752909669000000, 1234, 7), "state.json", ".lock", "rejected",
         ".%020d-%010d-%04d.json.123.0.tmp" % (1, 2, 3), "%020d-%010d-%04d.json" % (1, 2, 3) + ".answer",
         "%020d-%010d-%05d.json" % (1, 2, 3), "\u0661" * 20 + "-0000000001-0001.json"]
for n in names:
    put("outbox", b"\x00" + n.encode())
states = [
    {"delivered": 12, "set_aside": 1, "dropped": 0, "last_error": "connection refused", "last_error_at": "2026-11-21T19:21:49Z", "last_delivered_at": None},
    {"delivered": 18446744073709551615, "set_aside": -1, "dropped": 1e2, "last_error": 5},
    [], "null", "", "{\"delivered\":", "{\"delivered\":1,\"delivered\":\"x\"}",
]
for s in states:
    put("outbox", b"\x01" + (s.encode() if isinstance(s, str) else json.dumps(s).encode()))

# env_values: every form a variable takes.
for v in ["3600", "90m", "24h", "2d", "250ms", "5s", " 2d ", "0", "0ms", "18446744073709551615", "18446744073709551615ms",
          "18446744073709551615s", "213503982334601d", "10y", "-5", "1e3", "64K", "64KiB", "16M", "1G", "1T",
          "http://localhost:4000/events", "http://LOCALHOST/events", "http://u:p@localhost:1/x", "http://[::1]:4000/events",
          "http://10.0.0.5:4000/events", "http://localhost.example.com/e", "localhost", "http://localhost:/x",
          "https://localhost:99999999999/", "not a url", "1", "true", "yes", "on", "off", "16384", "63", "1073741825"]:
    put("env_values", v)

# secrets: every string of the filter's source (its tables' examples, the forms, what stays, the
# unit tests' texts) and of the leak corpus' forms, each alone and all in one text.
import ast, re, sys
source = (ROOT / "src/secrets.rs").read_text()
texts = []
for m in re.finditer(r'r#"(.*?)"#|"((?:[^"\\]|\\.)*)"', source, re.S):
    raw, plain = m.group(1), m.group(2)
    if raw is not None:
        texts.append(raw)
    elif len(plain) > 3:
        try:
            texts.append(ast.literal_eval('"' + plain + '"'))
        except (ValueError, SyntaxError):
            texts.append(plain)
sys.path.insert(0, str(ROOT / "tests/secrets"))
import corpus
texts += [text for text, _ in corpus.FORMS]
for t in texts:
    put("secrets", t)
put("secrets", "\n".join(texts))

print({t: len(list((OUT / t).iterdir())) for t in sorted(os.listdir(OUT)) if (OUT / t).is_dir()})
