#!/bin/sh
# Records every fixture payload through the real binary into fuzz/seeds/journal.jsonl: a real
# journal for the journal_read seeds. Run from the repository root after `cargo build`.
set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/store" "$tmp/logs"
for f in tests/fixtures/claude-code-2.1.330/*.json; do
  CLAUDE_SESSION_DIR="$tmp/store" CLAUDE_SESSION_LOG_DIR="$tmp/logs" ./target/debug/claude-session post-tool < "$f"
done
while IFS= read -r line; do
  printf '%s\n' "$line" | CLAUDE_SESSION_DIR="$tmp/store" CLAUDE_SESSION_LOG_DIR="$tmp/logs" ./target/debug/claude-session pre-tool
done < tests/fixtures/claude-code-2.1.330/recorded-sessions.jsonl
cat "$tmp"/logs/*.jsonl > fuzz/seeds/journal.jsonl
