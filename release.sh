#!/bin/sh
# Builds the prebuilt release: for each target, an archive with the binary and the Claude Code
# plugin marketplace around it, its SHA-256, and the npm packages (one per platform, and the main
# one that installs the right binary). Publishes nothing. --check then installs and runs what it
# built, from the files alone: each archive's binary as a hook (aarch64 under qemu-user), and the
# npm packages into a fresh prefix, offline.
#
#   ./release.sh [--out DIR] [--target TRIPLE]... [--check]
set -eu

usage() {
    cat <<'TXT'
usage: release.sh [--out DIR] [--target TRIPLE]... [--check]

  --out DIR        where the archives, SHA256SUMS and npm/ go (default target/dist)
  --target TRIPLE  build only this target (repeatable; default: every target below)
  --check          then install each archive and the npm packages from the files, and run a hook

Targets: x86_64-unknown-linux-musl, aarch64-unknown-linux-musl (static, non-PIE; linked by
rust-lld, so no cross C compiler is needed), aarch64-apple-darwin, x86_64-apple-darwin (linked by
zig through cargo-zigbuild, both from PyPI, installed into target/zig-venv; skipped with the
reason when that cannot be had).
TXT
}

here=$(cd "$(dirname "$0")" && pwd)
out="$here/target/dist"
targets=""
check=false
all="x86_64-unknown-linux-musl aarch64-unknown-linux-musl aarch64-apple-darwin x86_64-apple-darwin"

while [ $# -gt 0 ]; do
    case "$1" in
        --out) [ $# -ge 2 ] || { echo "release.sh: --out needs a value" >&2; exit 2; }; out="$2"; shift 2 ;;
        --target) [ $# -ge 2 ] || { echo "release.sh: --target needs a value" >&2; exit 2; }; targets="$targets $2"; shift 2 ;;
        --check) check=true; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "release.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$targets" ] || targets=$all
case "$out" in /*) ;; *) out="$(pwd)/$out" ;; esac

cd "$here"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || { echo "release.sh: no version in Cargo.toml" >&2; exit 1; }
plugin_version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' plugin/.claude-plugin/plugin.json)
if [ "$plugin_version" != "$version" ]; then
    echo "release.sh: plugin.json says $plugin_version, Cargo.toml $version" >&2
    exit 1
fi
# The flags come from .cargo/config.toml, per target; RUSTFLAGS would replace them.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

rm -rf "$out"
mkdir -p "$out/npm"
skipped=""
built=""

# npm's names for a target's platform: "os cpu".
npm_platform() {
    case "$1" in
        x86_64-unknown-linux-musl) echo "linux x64" ;;
        aarch64-unknown-linux-musl) echo "linux arm64" ;;
        x86_64-apple-darwin) echo "darwin x64" ;;
        aarch64-apple-darwin) echo "darwin arm64" ;;
    esac
}

# cargo-zigbuild and zig from PyPI, in a venv of our own; prints the venv's bin directory.
zig_tools() {
    venv="$here/target/zig-venv"
    if [ ! -x "$venv/bin/cargo-zigbuild" ]; then
        python3 -m venv "$venv" >/dev/null 2>&1 &&
            "$venv/bin/pip" install --quiet --disable-pip-version-check cargo-zigbuild ziglang >/dev/null 2>&1 ||
            return 1
    fi
    [ -x "$venv/bin/cargo-zigbuild" ] && echo "$venv/bin"
}

# Builds $1 and prints the binary's path; on a failure, says why on stderr and returns 1.
build() {
    target=$1
    if ! rustc --print target-libdir --target "$target" >/dev/null 2>&1 ||
        ! ls "$(rustc --print target-libdir --target "$target")"/libstd-*.rlib >/dev/null 2>&1; then
        rustup target add "$target" >/dev/null 2>&1 || { echo "no Rust standard library for $target (rustup target add failed)" >&2; return 1; }
    fi
    case "$target" in
        *-linux-musl)
            var=CARGO_TARGET_$(printf '%s\n' "$target" | tr 'a-z.-' 'A-Z__')_LINKER
            # The host's own C compiler links the host's musl target; rust-lld links any other
            # (musl's start files and libc come with the Rust target).
            if [ "$target" != "$(rustc -vV | sed -n 's/^host: //p' | sed 's/-linux-gnu/-linux-musl/')" ]; then
                export "$var=rust-lld"
            fi
            cargo build --release --locked --target "$target" >&2 || return 1
            ;;
        *-apple-darwin)
            bin=$(zig_tools) || { echo "no cargo-zigbuild and zig (pip install cargo-zigbuild ziglang failed): Apple's linker and SDK come with Xcode only" >&2; return 1; }
            PATH="$bin:$PATH" cargo-zigbuild build --release --locked --target "$target" >&2 || return 1
            ;;
        *) echo "no recipe for $target" >&2; return 1 ;;
    esac
    printf '%s\n' "${CARGO_TARGET_DIR:-$here/target}/$target/release/claude-session"
}

for target in $targets; do
    echo "== $target" >&2
    if ! binary=$(build "$target") || [ ! -x "$binary" ]; then
        skipped="$skipped $target"
        continue
    fi
    name="claude-session-$version-$target"
    stage="$out/stage/$name"
    mkdir -p "$stage/.claude-plugin" "$stage/plugin/.claude-plugin" "$stage/plugin/hooks" "$stage/plugin/bin"
    cp "$binary" "$stage/claude-session"
    cp LICENSE README.md "$stage/"
    cp .claude-plugin/marketplace.json "$stage/.claude-plugin/"
    cp plugin/.claude-plugin/plugin.json "$stage/plugin/.claude-plugin/"
    cp plugin/hooks/hooks.json "$stage/plugin/hooks/"
    cp "$binary" "$stage/plugin/bin/claude-session"
    chmod 0755 "$stage/claude-session" "$stage/plugin/bin/claude-session"
    # Reproducible: one owner, one time, sorted names.
    (cd "$out/stage" && find "$name" | LC_ALL=C sort |
        tar --owner=0 --group=0 --numeric-owner --mtime=@0 --no-recursion -T - -czf "$out/$name.tar.gz")

    # shellcheck disable=SC2046 # "os cpu", split on purpose
    set -- $(npm_platform "$target")
    pkg="$out/npm/claude-session-$1-$2"
    mkdir -p "$pkg/bin"
    cp "$binary" "$pkg/bin/claude-session"
    chmod 0755 "$pkg/bin/claude-session"
    cat >"$pkg/package.json" <<JSON
{
  "name": "claude-session-$1-$2",
  "version": "$version",
  "description": "The claude-session binary for $1 $2 (installed by the claude-session package)",
  "license": "MIT",
  "os": ["$1"],
  "cpu": ["$2"],
  "files": ["bin/claude-session"],
  "preferUnplugged": true
}
JSON
    cp LICENSE "$pkg/"
    built="$built $target"
done
rm -rf "$out/stage"

[ -n "$built" ] || { echo "release.sh: nothing built" >&2; exit 1; }

# The main npm package: the launcher, the installer that puts the platform's binary in its place,
# and the plugin marketplace (so `claude plugin marketplace add "$(npm root -g)/claude-session"`).
main="$out/npm/claude-session"
mkdir -p "$main/bin" "$main/.claude-plugin" "$main/plugin/.claude-plugin" "$main/plugin/hooks" "$main/plugin/bin"
cp .claude-plugin/marketplace.json "$main/.claude-plugin/"
cp plugin/.claude-plugin/plugin.json "$main/plugin/.claude-plugin/"
cp plugin/hooks/hooks.json "$main/plugin/hooks/"
cp LICENSE README.md "$main/"
optional=""
for target in $all; do
    # shellcheck disable=SC2046
    set -- $(npm_platform "$target")
    optional="$optional${optional:+,
}    \"claude-session-$1-$2\": \"$version\""
done
cat >"$main/package.json" <<JSON
{
  "name": "claude-session",
  "version": "$version",
  "description": "Claude Code hooks that give every recorded event the right session id (prebuilt; with the Claude Code plugin)",
  "license": "MIT",
  "bin": { "claude-session": "bin/claude-session" },
  "scripts": { "postinstall": "node install.js" },
  "files": ["bin", "install.js", ".claude-plugin", "plugin", "README.md", "LICENSE"],
  "optionalDependencies": {
$optional
  }
}
JSON
# Until postinstall runs (or with --ignore-scripts), the command is this launcher, which runs the
# platform package's binary. A hook never goes through it: the plugin runs plugin/bin/.
cat >"$main/bin/claude-session" <<'JS'
#!/usr/bin/env node
// Runs the binary of this platform's package; install.js replaces this file with that binary.
const { spawnSync } = require("child_process");
const name = `claude-session-${process.platform}-${process.arch}`;
let binary;
try {
  binary = require.resolve(`${name}/bin/claude-session`);
} catch {
  console.error(`claude-session: no prebuilt binary for ${process.platform} ${process.arch} (${name} is not installed)`);
  process.exit(1);
}
const run = spawnSync(binary, process.argv.slice(2), { stdio: "inherit" });
process.exit(run.status ?? 1);
JS
chmod 0755 "$main/bin/claude-session"
cat >"$main/install.js" <<'JS'
// postinstall: puts this platform's binary in place of the launcher (no node between the user and
// the program) and in the plugin's bin/, which its hooks run. Never downloads anything.
const fs = require("fs");
const path = require("path");
const name = `claude-session-${process.platform}-${process.arch}`;
let binary;
try {
  binary = require.resolve(`${name}/bin/claude-session`);
} catch {
  console.warn(`claude-session: no prebuilt binary for ${process.platform} ${process.arch}; build it from source (install.sh)`);
  process.exit(0);
}
for (const to of [path.join(__dirname, "bin", "claude-session"), path.join(__dirname, "plugin", "bin", "claude-session")]) {
  fs.mkdirSync(path.dirname(to), { recursive: true }); // npm packs no empty directory
  const tmp = `${to}.${process.pid}.tmp`;
  fs.copyFileSync(binary, tmp);
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, to);
}
JS
for pkg in "$out"/npm/*/; do
    (cd "$out/npm" && npm pack --silent "$pkg" >/dev/null)
done

(cd "$out" && sha256sum -- *.tar.gz npm/*.tgz >SHA256SUMS)
echo "built:$built" >&2
[ -z "$skipped" ] || echo "not built (see above):$skipped" >&2
cat "$out/SHA256SUMS"

[ "$check" = true ] || exit 0

# ---- --check: install from the files alone, run a hook ----
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Runs $2 (a binary, through qemu-user when it is not the host's) as the pre-tool hook in a home
# of its own, and checks the journal holds the event with the payload's session id.
hook_runs() {
    label=$1 binary=$2
    h="$work/home-$label"
    mkdir -p "$h"
    runner=""
    case "$label" in
        *aarch64-unknown-linux*) [ "$(uname -m)" = aarch64 ] || runner=qemu-aarch64 ;;
        *x86_64-unknown-linux*) [ "$(uname -m)" = x86_64 ] || runner=qemu-x86_64 ;;
        *apple-darwin*) echo "$label: a macOS binary does not run here; built and archived only"; return 0 ;;
    esac
    if [ -n "$runner" ] && ! command -v "$runner" >/dev/null 2>&1; then
        echo "release.sh: $label needs $runner (Debian: qemu-user) to run here" >&2
        return 1
    fi
    payload='{"session_id":"release-check-1","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"cwd":"/"}'
    printf '%s\n' "$payload" | env -i HOME="$h" XDG_STATE_HOME="$h/state" XDG_RUNTIME_DIR="$h/run" PATH=/usr/bin:/bin \
        $runner "$binary" pre-tool >"$h/stdout" 2>"$h/stderr" || { echo "$label: the hook failed" >&2; return 1; }
    [ ! -s "$h/stdout" ] || { echo "$label: the hook printed on stdout" >&2; return 1; }
    grep -q '"session_id":"release-check-1"' "$h"/state/claude-session/logs/*.jsonl ||
        { echo "$label: nothing journaled" >&2; return 1; }
    version_out=$($runner "$binary" --version)
    [ "$version_out" = "claude-session $version" ] || { echo "$label: --version said $version_out" >&2; return 1; }
    echo "$label: ok ($version_out, a hook journaled its event${runner:+, under $runner})"
}

(cd "$out" && sha256sum -c --quiet SHA256SUMS) || { echo "release.sh: a checksum does not match" >&2; exit 1; }
for target in $built; do
    name="claude-session-$version-$target"
    tar -xzf "$out/$name.tar.gz" -C "$work"
    for file in claude-session plugin/bin/claude-session plugin/hooks/hooks.json .claude-plugin/marketplace.json; do
        [ -e "$work/$name/$file" ] || { echo "release.sh: $name.tar.gz lacks $file" >&2; exit 1; }
    done
    hook_runs "$target" "$work/$name/claude-session"
    hook_runs "$target-plugin" "$work/$name/plugin/bin/claude-session"
done

# npm, offline, from the packed files into a fresh prefix: the main package and this platform's.
host_target="$(uname -m | sed 's/arm64/aarch64/')-unknown-linux-musl"
[ "$(uname -s)" = Linux ] || host_target="$(uname -m | sed 's/arm64/aarch64/')-apple-darwin"
# shellcheck disable=SC2046
set -- $(npm_platform "$host_target")
platform_tgz="$out/npm/claude-session-$1-$2-$version.tgz"
if [ -f "$platform_tgz" ]; then
    prefix="$work/npm-prefix"
    npm install --global --offline --no-audit --no-fund --prefix "$prefix" \
        "$platform_tgz" "$out/npm/claude-session-$version.tgz" >"$work/npm.log" 2>&1 ||
        { cat "$work/npm.log" >&2; echo "release.sh: npm install from the packed files failed" >&2; exit 1; }
    installed="$prefix/lib/node_modules/claude-session"
    # The command on the prefix's PATH is the native binary now, not the launcher.
    ! head -c 2 "$prefix/bin/claude-session" | grep -q '#!' ||
        { echo "release.sh: npm left the launcher in place of the binary" >&2; exit 1; }
    hook_runs "npm-$1-$2" "$prefix/bin/claude-session"
    hook_runs "npm-$1-$2-plugin" "$installed/plugin/bin/claude-session"
else
    echo "no npm package for this machine's platform was built: npm not checked" >&2
fi
echo "release check: ok"
