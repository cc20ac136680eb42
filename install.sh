#!/bin/sh
# Builds claude-session for this machine, installs it and wires it into Claude Code; --uninstall
# undoes exactly that.
#
#   ./install.sh [--bin-dir DIR] [--hook-dir DIR] [--project DIR] [--server URL] [--otlp URL] [--tls] [--cron]
#   ./install.sh --uninstall [--purge] [--bin-dir DIR] [--hook-dir DIR] [--project DIR]
#   ./install.sh --build-only [--glibc]     # build as an install would; print the binary's path
set -eu

usage() {
    cat <<'TXT'
usage: install.sh [options]

Builds claude-session for this machine (Linux: a static musl binary, else a static glibc one;
macOS: a release binary), installs it, and wires its hooks into ~/.claude/settings.json (keeping
everything else in it). Nothing is installed if the settings cannot be wired.

  --bin-dir DIR    where the binary goes (default ~/.local/bin)
  --hook-dir DIR   where the applet symlinks go (default ~/.claude/hooks/claude-session)
  --project DIR    wire DIR/.claude/settings.json instead of ~/.claude/settings.json
  --server URL     send events to this observability server (its base URL, e.g.
                   http://127.0.0.1:4000, or its .../events URL)
  --otlp URL       send events to this OpenTelemetry collector
  --tls            build with TLS (OpenSSL), for https servers and collectors (a larger
                   binary; needs a C compiler, perl and make)
  --cron           add an hourly `claude-session cleanup` to your crontab
  --uninstall      remove the hooks, the symlinks, the cron line, the binary, and the
                   directories install made; say what is kept (journal, outbox, store)
  --purge          with --uninstall: remove the journal, the outbox and the store too
  --build-only     only build, as an install would, and print the path of the binary built
  --glibc          on Linux, build the static glibc binary even when musl is available
TXT
}

bin_dir=""
hook_dir=""
project=""
server=""
otlp=""
cron=false
uninstall=false
purge=false
build_only=false
glibc=false
tls=false
manifest=""
cron_tag="# claude-session cleanup"

need_value() {
    if [ $# -lt 2 ] || [ -z "$2" ]; then
        echo "install.sh: $1 needs a value" >&2
        exit 2
    fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) need_value "$@"; bin_dir="$2"; shift 2 ;;
        --hook-dir) need_value "$@"; hook_dir="$2"; shift 2 ;;
        --project) need_value "$@"; project="$2"; shift 2 ;;
        --server) need_value "$@"; server="$2"; shift 2 ;;
        --otlp) need_value "$@"; otlp="$2"; shift 2 ;;
        --cron) cron=true; shift ;;
        --uninstall) uninstall=true; shift ;;
        --purge) purge=true; shift ;;
        --build-only) build_only=true; shift ;;
        --glibc) glibc=true; shift ;;
        --tls) tls=true; shift ;;
        # Another crate built exactly the same way: the benchmark's empty binaries.
        --manifest-path) need_value "$@"; manifest="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)

if [ "$purge" = true ] && [ "$uninstall" = false ]; then
    echo "install.sh: --purge goes with --uninstall" >&2
    exit 2
fi
# The defaults live in the home directory (the settings too, unless --project).
if [ "$build_only" = false ]; then
    case "${HOME:-}" in
        /*) ;;
        *)
            echo "install.sh: HOME is not set (or not absolute): set it to your home directory, e.g. export HOME=/home/$(id -un 2>/dev/null || echo you)" >&2
            exit 2
            ;;
    esac
    [ -n "$bin_dir" ] || bin_dir="$HOME/.local/bin"
    [ -n "$hook_dir" ] || hook_dir="$HOME/.claude/hooks/claude-session"
fi

# Absolute paths, taken before the build moves to the repository: settings that Claude Code
# runs from any directory get them.
absolute() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$(pwd)" "$1" ;;
    esac
}
[ -z "$manifest" ] || manifest=$(absolute "$manifest")

# Builds for the host and prints the path of the executable cargo produced, wherever
# CARGO_TARGET_DIR or cargo's config puts it.
build() {
    command -v cargo >/dev/null 2>&1 || {
        echo "install.sh: cargo not found; install Rust (https://rustup.rs) first" >&2
        exit 1
    }
    cd "$here"
    host=$(rustc -vV | sed -n 's/^host: //p')
    if [ -z "$host" ]; then
        echo "install.sh: \`rustc -vV\` names no host; is a Rust toolchain set up?" >&2
        exit 1
    fi
    target=$host
    flags=""
    case "$host" in
        *-linux-gnu*)
            musl=$(printf '%s\n' "$host" | sed 's/-linux-gnu/-linux-musl/')
            # TLS compiles OpenSSL (C, with perl and make) for musl: that needs musl's C compiler
            # (Debian: musl-tools).
            if [ "$tls" = true ] && [ "$glibc" = false ] && ! command -v musl-gcc >/dev/null 2>&1; then
                echo "install.sh: --tls on musl needs musl-gcc (apt-get install musl-tools): building the static glibc binary instead" >&2
                glibc=true
            fi
            if [ "$tls" = true ] && command -v musl-gcc >/dev/null 2>&1; then
                export "CC_$(printf '%s\n' "$musl" | tr '.-' '__')=musl-gcc"
            fi
            if [ "$glibc" = false ] && has_target "$musl"; then
                # Static and non-PIE: .cargo/config.toml says why.
                target=$musl
            else
                [ "$glibc" = true ] || echo "install.sh: no $musl target (rustup target add $musl failed): building a static glibc binary, whose resolver cannot use NSS" >&2
                # The same flags as the musl build (see .cargo/config.toml), on glibc.
                flags="-C target-feature=+crt-static -C relocation-model=static"
            fi
            ;;
    esac
    # Our flags come from the target's config; RUSTFLAGS would silently replace them.
    if [ -n "${RUSTFLAGS:-}${CARGO_ENCODED_RUSTFLAGS:-}" ]; then
        echo "install.sh: ignoring RUSTFLAGS: the build uses the flags .cargo/config.toml sets" >&2
    fi
    unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
    if [ -n "$flags" ]; then
        var=CARGO_TARGET_$(printf '%s\n' "$target" | tr 'a-z.-' 'A-Z__')_RUSTFLAGS
        export "$var=$flags"
    fi
    echo "building (cargo build --release --target $target)" >&2
    set -- build --release --locked --target "$target" --message-format=json-render-diagnostics
    if [ "$tls" = true ]; then
        set -- "$@" --features tls
    fi
    if [ -n "$manifest" ]; then
        set -- "$@" --manifest-path "$manifest"
    fi
    json=$(cargo "$@") || exit 1
    artifact=$(printf '%s\n' "$json" | grep '"reason":"compiler-artifact"' | grep '"kind":\["bin"\]' |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    if [ -z "$artifact" ] || [ ! -x "$artifact" ]; then
        echo "install.sh: cargo reported no executable I can use (got '$artifact')" >&2
        exit 1
    fi
    printf '%s\n' "$artifact"
}

# Whether the standard library for $1 is installed, or rustup can add it.
has_target() {
    libdir=$(rustc --print target-libdir --target "$1" 2>/dev/null) || return 1
    for lib in "$libdir"/libstd-*.rlib; do
        [ -e "$lib" ] && return 0
    done
    command -v rustup >/dev/null 2>&1 && rustup target add "$1" >/dev/null 2>&1
}

if [ "$build_only" = true ]; then
    build
    exit 0
fi

bin_dir=$(absolute "$bin_dir")
hook_dir=$(absolute "$hook_dir")
binary="$bin_dir/claude-session"
cron_line="17 * * * * '$binary' cleanup $cron_tag"

# The arguments every `hooks` call shares.
set -- --hook-dir "$hook_dir"
if [ -n "$project" ]; then
    set -- "$@" --project "$(absolute "$project")"
fi

# Takes our line out of the crontab; true when there was one.
cron_remove() {
    command -v crontab >/dev/null 2>&1 || return 1
    current=$(crontab -l 2>/dev/null) || return 1
    case "$current" in
        *"$cron_tag"*) printf '%s\n' "$current" | grep -vF "$cron_tag" | crontab - ;;
        *) return 1 ;;
    esac
}

# The directories install made, as `hooks install` lists them in the hook directory.
made_list="$hook_dir/.made-by-install"

if [ "$uninstall" = true ]; then
    if [ "$purge" = true ]; then
        set -- "$@" --purge
    fi
    settings="$HOME/.claude/settings.json"
    [ -z "$project" ] || settings="$(absolute "$project")/.claude/settings.json"
    # The list is read as `hooks uninstall` reads it (src/cmd/remains.rs): only a regular file
    # of ours, never through a link (a planted one could name directories elsewhere), 64 KiB at
    # most; and of what it names, only absolute paths above the hook directory, the settings
    # file or the binary, since install makes nothing else.
    made=""
    if [ ! -L "$made_list" ] && [ -n "$(find "$made_list" -prune -type f -user "$(id -u)" 2>/dev/null)" ]; then
        made=$(head -c 65536 "$made_list" | while IFS= read -r dir; do
            case "$dir" in
                /*) ;;
                *) continue ;;
            esac
            case "$hook_dir/" in "${dir%/}"/*) printf '%s\n' "$dir"; continue ;; esac
            case "$(dirname "$settings")/" in "${dir%/}"/*) printf '%s\n' "$dir"; continue ;; esac
            case "$bin_dir/" in "${dir%/}"/*) printf '%s\n' "$dir" ;; esac
        done)
    fi
    # The settings are unwired by the installed binary; without one (removed by hand, or by a
    # failed uninstall) by a fresh build, but only when the settings still name our hooks.
    unwire=""
    if [ -x "$binary" ]; then
        unwire=$binary
    else
        if grep -qF "$hook_dir/" "$settings" 2>/dev/null || [ "$purge" = true ]; then
            echo "install.sh: no $binary; building one to unwire $settings with" >&2
            unwire=$(build)
        fi
    fi
    if [ -n "$unwire" ]; then
        "$unwire" hooks uninstall "$@" || exit 1
    fi
    did=""
    # Links an older binary (or none) left behind.
    for link in "$hook_dir"/*; do
        if [ -L "$link" ] && [ "$(readlink "$link")" = "$binary" ]; then
            rm -f "$link"
        fi
    done
    rmdir "$hook_dir" 2>/dev/null || true
    if cron_remove; then
        echo "removed the hourly cleanup from your crontab"
        did=yes
    fi
    if [ -e "$binary" ]; then
        rm -f "$binary"
        echo "removed $binary"
        did=yes
    fi
    # Deepest first: the list's longest paths.
    printf '%s\n' "$made" | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2- | while IFS= read -r dir; do
        if [ -n "$dir" ] && rmdir "$dir" 2>/dev/null; then
            echo "removed the empty directory $dir"
        fi
    done
    if [ -z "$unwire" ] && [ -z "$did" ]; then
        echo "nothing to do: claude-session is not installed here ($binary, $hook_dir)"
    fi
    exit 0
fi

artifact=$(build)

set -- "$@" --binary "$binary"
if [ -n "$server" ]; then
    set -- "$@" --server "$server"
fi
if [ -n "$otlp" ]; then
    set -- "$@" --otlp "$otlp"
fi
# Everything the install checks, before anything is changed.
if ! "$artifact" hooks install --dry-run "$@" >/dev/null; then
    echo "install.sh: nothing installed" >&2
    exit 1
fi

# From here a failure puts back what was there: no binary, or the previous one, and no new dirs.
top_new=""
dir=$bin_dir
while [ ! -e "$dir" ]; do
    top_new=$dir
    dir=$(dirname "$dir")
done
previous=""
finished=false
rollback() {
    [ "$finished" = false ] || return 0
    rm -f "$binary.new.$$"
    if [ -n "$previous" ]; then
        mv -f "$previous" "$binary"
    else
        rm -f "$binary"
    fi
    if [ -n "$top_new" ]; then
        dir=$bin_dir
        while rmdir "$dir" 2>/dev/null && [ "$dir" != "$top_new" ]; do
            dir=$(dirname "$dir")
        done
    fi
    echo "install.sh: nothing installed" >&2
}
trap rollback EXIT
trap 'exit 1' INT TERM HUP

mkdir -p "$bin_dir"
if [ -e "$binary" ]; then
    previous="$binary.old.$$"
    cp -p "$binary" "$previous"
fi
# Copy beside, then rename: a hook running right now keeps its old binary.
cp "$artifact" "$binary.new.$$"
chmod 0755 "$binary.new.$$"
mv -f "$binary.new.$$" "$binary"
# The installed binary makes the applet links and wires the settings, and undoes its own part
# when that fails.
"$binary" hooks install "$@"
# The binary's directories too, for --uninstall to remove once empty.
if [ -n "$top_new" ]; then
    dir=$bin_dir
    while :; do
        printf '%s\n' "$dir" >>"$made_list"
        [ "$dir" != "$top_new" ] || break
        dir=$(dirname "$dir")
    done
fi
[ -z "$previous" ] || rm -f "$previous"
finished=true
trap - EXIT INT TERM HUP
echo "installed $binary"

if [ "$cron" = true ]; then
    if ! command -v crontab >/dev/null 2>&1; then
        echo "install.sh: no crontab command; add this line to your scheduler by hand:" >&2
        echo "  $cron_line" >&2
    else
        case "$binary" in
            # cron reads % as a newline, and the line quotes the path with '.
            *%* | *\'*) echo "install.sh: $binary cannot be written into a crontab line; no cron line added" >&2 ;;
            *)
                # Read the table whole before writing it: never read and replace it in one pipeline.
                current=$(crontab -l 2>/dev/null || true)
                case "$current" in
                    *"$cron_tag"*) echo "cron: the hourly cleanup is already there" ;;
                    "") echo "$cron_line" | crontab - && echo "cron: added an hourly cleanup" ;;
                    *) printf '%s\n%s\n' "$current" "$cron_line" | crontab - && echo "cron: added an hourly cleanup" ;;
                esac
                ;;
        esac
    fi
fi

echo
echo "Every Claude Code session from now on is recorded."
case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *)
        # The line for the user's shell, with $HOME kept as a variable where it can be.
        shown_dir=$bin_dir
        case "$bin_dir" in
            "$HOME"/*) shown_dir="\$HOME${bin_dir#"$HOME"}" ;;
        esac
        case "${SHELL:-}" in
            */zsh) rc=.zshrc ;;
            */bash) rc=.bashrc ;;
            *) rc=.profile ;;
        esac
        echo
        echo "$bin_dir is not on your PATH yet. Put it there (for this shell and the next ones):"
        case "${SHELL:-}" in
            */fish) echo "  fish_add_path $bin_dir" ;;
            *) echo "  export PATH=\"$shown_dir:\$PATH\"; echo 'export PATH=\"$shown_dir:\$PATH\"' >> ~/$rc" ;;
        esac
        ;;
esac
cat <<TXT

Next:
  claude-session hooks status        # what is wired, and whether it works
  claude-session show --timeline     # after a session, in its project: what happened in it
  $here/install.sh --uninstall       # take it out again (--purge: the recorded data too)
TXT
