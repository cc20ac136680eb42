#!/bin/sh
# A newcomer's first ten minutes, checked: a fresh clone of this repository's HEAD, a fresh HOME
# holding nothing, only Rust and python3 on PATH, and the README's two commands run exactly as its
# first code block writes them. Each must exit 0; `cargo test` exiting 0 means every test binary
# ran (cargo stops at the first that fails). .ci/run runs this as its `cargo test`.
#
# Cheap to repeat: cargo's registry (CARGO_HOME) and the tests' dependency cache
# (CLAUDE_SESSION_TEST_CACHE: Python venvs, npm packages) are the caller's, so nothing is
# downloaded twice; the clone's builds are its own. Set KEEP=1 to keep the temp directory.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/claude-session-fresh-clone.XXXXXX")
# mktemp makes it 0700: other users (the tests run the binary as `nobody` when they are root)
# must reach the clone's binary, as they reach a checkout's.
chmod 755 "$work"
if [ "${KEEP:-0}" != 1 ]; then
    trap 'rm -rf "$work"' EXIT
fi

# The caller's toolchain and caches, resolved before HOME changes.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
if [ -n "${CLAUDE_SESSION_TEST_CACHE:-}" ]; then
    cache=$CLAUDE_SESSION_TEST_CACHE
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
    cache=$XDG_CACHE_HOME/claude-session/test
else
    cache=$HOME/.cache/claude-session/test
fi
cargo=$(command -v cargo) || { echo "fresh-clone: no cargo on PATH" >&2; exit 1; }
python3=$(python3 -c 'import sys; print(sys.executable)') || { echo "fresh-clone: no python3" >&2; exit 1; }

# PATH: Rust, python3 (its real executable, not a shim that needs the old HOME), the system.
mkdir -p "$work/bin" "$work/home"
ln -s "$python3" "$work/bin/python3"
path="$work/bin:$(dirname "$cargo"):/usr/local/bin:/usr/bin:/bin"

git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
echo "fresh-clone: $(git log --oneline -1) in $work/clone, HOME=$work/home" >&2

# The README's first sh block, comments dropped: exactly the commands a newcomer copies.
commands=$(awk '/^```sh$/ { inside = 1; next } inside && /^```/ { exit } inside' README.md | sed 's/[[:space:]]*#.*$//' | sed '/^$/d')
[ "$(printf '%s\n' "$commands" | wc -l)" -eq 2 ] || {
    echo "fresh-clone: README's first sh block should hold two commands, not:" >&2
    printf '%s\n' "$commands" >&2
    exit 1
}

printf '%s\n' "$commands" | while IFS= read -r command; do
    echo "fresh-clone: \$ $command" >&2
    # A clean environment: what a new user's shell has, plus where Rust and the caches live.
    if ! env -i HOME="$work/home" PATH="$path" USER="${USER:-$(id -un)}" LANG=C.UTF-8 TERM=dumb \
        CARGO_HOME="$cargo_home" RUSTUP_HOME="$rustup_home" CLAUDE_SESSION_TEST_CACHE="$cache" \
        ${RUSTUP_TOOLCHAIN:+RUSTUP_TOOLCHAIN="$RUSTUP_TOOLCHAIN"} \
        sh -c "$command" </dev/null >"$work/output" 2>&1; then
        tail -n 60 "$work/output" >&2
        echo "fresh-clone: \`$command\` failed (the output's end is above)" >&2
        exit 1
    fi
    case "$command" in
        cargo\ test*)
            passed=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$work/output" | awk '{ n += $1 } END { print n + 0 }')
            binaries=$(grep -c '^test result: ' "$work/output" || true)
            echo "fresh-clone: $passed tests passed in $binaries test binaries" >&2
            # A test whose registry or tool is missing passes with one `skipped:` line: say which.
            grep -o 'skipped: .*' "$work/output" | sed 's/^/fresh-clone: /' >&2 || true
            ;;
        *) tail -n 8 "$work/output" >&2 ;;
    esac
done
echo "fresh-clone: both README commands passed" >&2
