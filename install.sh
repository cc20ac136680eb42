#!/bin/sh
# Installs claude-session and wires it into Claude Code; --uninstall undoes exactly that.
#
#   ./install.sh [--bin-dir DIR] [--hook-dir DIR] [--project DIR] [--server URL] [--cron]
#   ./install.sh --uninstall [--bin-dir DIR] [--hook-dir DIR] [--project DIR]
set -eu

usage() {
    cat <<'TXT'
usage: install.sh [options]

Builds the static claude-session binary, installs it, links its hook applets, and wires them
into ~/.claude/settings.json (keeping everything else in it).

  --bin-dir DIR    where the binary goes (default ~/.local/bin)
  --hook-dir DIR   where the applet symlinks go (default ~/.claude/hooks/claude-session)
  --project DIR    wire DIR/.claude/settings.json instead of ~/.claude/settings.json
  --server URL     send events to this observability server (a full .../events URL)
  --cron           add an hourly `claude-session cleanup` to your crontab
  --uninstall      remove the hooks, the server entry, the symlinks, the cron line, the binary
TXT
}

bin_dir="$HOME/.local/bin"
hook_dir="$HOME/.claude/hooks/claude-session"
project=""
server=""
cron=false
uninstall=false
target=x86_64-unknown-linux-gnu
applets="session-start pre-tool post-tool cleanup show"
cron_tag="# claude-session cleanup"

need_value() {
    if [ $# -lt 2 ] || [ -z "$2" ]; then
        echo "install.sh: $1 needs a value" >&2
        exit 1
    fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) need_value "$@"; bin_dir="$2"; shift 2 ;;
        --hook-dir) need_value "$@"; hook_dir="$2"; shift 2 ;;
        --project) need_value "$@"; project="$2"; shift 2 ;;
        --server) need_value "$@"; server="$2"; shift 2 ;;
        --cron) cron=true; shift ;;
        --uninstall) uninstall=true; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
    esac
done

# Absolute paths: they are written into settings that Claude Code runs from any directory.
absolute() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$(pwd)" "$1" ;;
    esac
}
bin_dir=$(absolute "$bin_dir")
hook_dir=$(absolute "$hook_dir")
binary="$bin_dir/claude-session"
set --
if [ -n "$project" ]; then
    set -- --project "$(absolute "$project")"
fi

cron_remove() {
    command -v crontab >/dev/null 2>&1 || return 0
    current=$(crontab -l 2>/dev/null) || return 0
    case "$current" in
        *"$cron_tag"*) printf '%s\n' "$current" | grep -vF "$cron_tag" | crontab - ;;
    esac
}

if [ "$uninstall" = true ]; then
    if [ -x "$binary" ]; then
        "$binary" hooks uninstall --hook-dir "$hook_dir" "$@"
    fi
    for applet in $applets; do
        link="$hook_dir/$applet"
        if [ -L "$link" ] && [ "$(readlink "$link")" = "$binary" ]; then
            rm -f "$link"
        fi
    done
    rmdir "$hook_dir" 2>/dev/null || true
    cron_remove
    rm -f "$binary"
    echo "claude-session uninstalled"
    exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
echo "building the static binary (cargo build --release --target $target)"
(cd "$here" && RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --quiet --target "$target")

mkdir -p "$bin_dir" "$hook_dir"
# Install beside, then rename: a hook running right now keeps its old binary.
install -m 0755 "$here/target/$target/release/claude-session" "$binary.new"
mv -f "$binary.new" "$binary"
for applet in $applets; do
    ln -sfn "$binary" "$hook_dir/$applet"
done
echo "installed $binary, hooks linked in $hook_dir"

if [ -n "$server" ]; then
    "$binary" hooks install --hook-dir "$hook_dir" --server "$server" "$@"
else
    "$binary" hooks install --hook-dir "$hook_dir" "$@"
fi

if [ "$cron" = true ]; then
    if ! command -v crontab >/dev/null 2>&1; then
        echo "install.sh: no crontab command; add this line to your scheduler by hand:" >&2
        echo "  17 * * * * '$binary' cleanup $cron_tag" >&2
    else
        # Read the table whole before writing it: never read and replace it in one pipeline.
        current=$(crontab -l 2>/dev/null || true)
        case "$current" in
            *"$cron_tag"*) echo "cron: the hourly cleanup is already there" ;;
            "") echo "17 * * * * '$binary' cleanup $cron_tag" | crontab - && echo "cron: added an hourly cleanup" ;;
            *) printf '%s\n%s\n' "$current" "17 * * * * '$binary' cleanup $cron_tag" | crontab - &&
                echo "cron: added an hourly cleanup" ;;
        esac
    fi
fi

case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) echo "warning: $bin_dir is not on your PATH; add it to run claude-session show" >&2 ;;
esac

cat <<TXT

Every Claude Code session from now on is recorded. To check:
  claude-session hooks status     # what is wired, and whether it works
  claude-session show --all       # the sessions stored per project
TXT
