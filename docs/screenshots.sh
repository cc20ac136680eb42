#!/bin/sh
# Makes docs/phoenix-trace.png (a turn's trace tree: a background subagent inside its Agent call)
# and docs/phoenix-session.png (a session page: the session's turns with their prompts and
# answers): the recorded sessions are replayed through the hooks into Arize Phoenix on loopback,
# delivered with `flush`, and Phoenix's own pages are shot with headless Chromium. Nothing leaves
# the machine: Phoenix's telemetry is off and Chromium resolves no name but 127.0.0.1.
#
# Needs cargo, python3 (Phoenix is installed from PyPI into the test cache on first use) and
# Chromium (`apt-get install -y chromium`). Rerun any time: docs/screenshots.sh
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CLAUDE_SESSION_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-session/test}
venv=$cache/venv-phoenix
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "no chromium: apt-get install -y chromium" >&2; exit 1; }
if [ ! -x "$venv/bin/phoenix" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet arize-phoenix
fi
python=$venv/bin/python3

cargo build --quiet --release --manifest-path "$repo/Cargo.toml"
bin=$repo/target/release/claude-session

work=$(mktemp -d)
pid=
cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
grpc=$(free_port)
PHOENIX_WORKING_DIR=$work/phoenix PHOENIX_HOST=127.0.0.1 PHOENIX_PORT=$port PHOENIX_GRPC_PORT=$grpc \
    PHOENIX_TELEMETRY_ENABLED=false "$venv/bin/phoenix" serve >"$work/phoenix.log" 2>&1 &
pid=$!
base=http://127.0.0.1:$port
tries=0
until "$python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1])" "$base/healthz" 2>/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -lt 240 ] || { cat "$work/phoenix.log" >&2; exit 1; }
    sleep 0.5
done

# The hooks as Claude Code runs them, in a home of their own, sending to Phoenix: traces only
# (Phoenix has no logs endpoint), prompts and tool details opted in.
mkdir -p "$work/bin" "$work/home" "$work/state" "$work/run" "$work/proj"
chmod 700 "$work/run"
for applet in session-start pre-tool post-tool; do ln -s "$bin" "$work/bin/$applet"; done
export HOME="$work/home" XDG_STATE_HOME="$work/state" XDG_RUNTIME_DIR="$work/run"
export CLAUDE_SESSION_SERVER_URL=http://127.0.0.1:9/events CLAUDE_SESSION_OTLP_ENDPOINT="$base"
export OTEL_LOGS_EXPORTER=none OTEL_LOG_USER_PROMPTS=1 OTEL_LOG_TOOL_DETAILS=1

# Replayed at the recorded pace where the payloads tell it: a tool call takes its duration_ms,
# a subagent the time its calls took.
cd "$work/proj"
"$python" - "$work/bin" "$repo"/tests/fixtures/claude-code-*/recorded-sessions.jsonl <<'EOF'
import json, subprocess, sys, time

bin_dir, paths = sys.argv[1], sys.argv[2:]
applet = {"PreToolUse": "pre-tool", "PostToolUse": "post-tool", "PostToolUseFailure": "post-tool"}
for path in paths:
    for line in open(path):
        event = json.loads(line)
        name = event["hook_event_name"]
        if name.startswith("PostToolUse") and "duration_ms" in event:
            time.sleep(min(event["duration_ms"], 3000) / 1000)
        else:
            time.sleep(0.05)
        subprocess.run([f"{bin_dir}/{applet.get(name, 'session-start')}"], input=line.encode(), check=True)
EOF
"$bin" flush >/dev/null || true

# What to shoot: the trace of the turn that ran a background subagent, and that session.
urls=$("$python" - "$base" <<'EOF'
import json, sys, urllib.request

base = sys.argv[1]
def graphql(query):
    req = urllib.request.Request(base + "/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))["data"]

project = graphql("{ projects { edges { node { id name } } } }")["projects"]["edges"][0]["node"]["id"]
spans = json.load(urllib.request.urlopen(f"{base}/v1/projects/default/spans?limit=1000"))["data"]
agent = next(s for s in spans if s["name"] == "Agent" and
             '"async_launched"' in (s["attributes"].get("output.value") or ""))
trace = agent["context"]["trace_id"]
session = agent["attributes"]["session.id"]
sessions = json.load(urllib.request.urlopen(f"{base}/v1/projects/default/sessions"))["data"]
node = next(s["id"] for s in sessions if s["session_id"] == session)
print(f"{base}/projects/{project}/traces/{trace}")
print(f"{base}/projects/{project}/sessions/{node}")
EOF
)
trace_url=$(echo "$urls" | sed -n 1p)
session_url=$(echo "$urls" | sed -n 2p)

shoot() {
    "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --no-first-run --hide-scrollbars --user-data-dir="$work/chromium" \
        --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
        --window-size=1600,1000 --virtual-time-budget=20000 --screenshot="$1" "$2" >/dev/null 2>&1
}
shoot "$repo/docs/phoenix-trace.png" "$trace_url"
shoot "$repo/docs/phoenix-session.png" "$session_url"
echo "docs/phoenix-trace.png: $trace_url"
echo "docs/phoenix-session.png: $session_url"
