#!/bin/sh
# Builds the static claude-session binary and installs it with its hook symlinks.
set -eu

bin_dir="$HOME/.local/bin"
hook_dir="$HOME/.claude/hooks/claude-session"
target=x86_64-unknown-linux-gnu

while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) bin_dir="$2"; shift 2 ;;
        --bin-dir=*) bin_dir="${1#*=}"; shift ;;
        -h|--help) echo "usage: install.sh [--bin-dir DIR]"; exit 0 ;;
        *) echo "install.sh: unknown option $1" >&2; exit 1 ;;
    esac
done

cd "$(dirname "$0")"
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target"

mkdir -p "$bin_dir" "$hook_dir"
install -m 0755 "target/$target/release/claude-session" "$bin_dir/claude-session"
for applet in session-start pre-tool post-tool cleanup show; do
    ln -sf "$bin_dir/claude-session" "$hook_dir/$applet"
done
echo "installed $bin_dir/claude-session and its hooks in $hook_dir"
