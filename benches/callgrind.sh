#!/bin/sh
# Instructions per hook (callgrind), for several builds in one run, in an environment like the one
# Claude Code gives a hook (~100 variables: a user's shell plus Claude Code's own).
#
#   sh benches/callgrind.sh tests/fixtures/claude-code-2.1.330 LABEL=BINARY [LABEL=BINARY ...]
#
# e.g. main="$(sh install.sh --build-only)" after building each commit to compare. Needs valgrind.
#
# BINARY is what `sh install.sh --build-only` prints (release, static musl, layout.ld). Each
# build gets a fresh private root (home, runtime dir, state, a git project); each hook runs once
# to warm up (creates the store and journal), then is measured on its fixture. No sink is
# configured unless SINKS=1 (then a dead loopback server and OTLP endpoint: a hook only queues;
# callgrind follows no child, so the deliverer's fork is not counted). SMALL=1: only the 5
# variables `cargo bench` gives a hook, instead of the ~100. KEEP=DIR: callgrind's files kept
# there as DIR/LABEL.HOOK, for callgrind_annotate.
set -eu
fixtures=$(cd "$1" && pwd)
shift
cases="session-start:SessionStart-startup.json pre-tool:PreToolUse-Bash.json post-tool:PostToolUse-Bash.json"
printf '%-12s' build
for c in $cases; do printf ' %14s' "${c%%:*}"; done
echo
for build in "$@"; do
    label=${build%%=*}
    bin=${build#*=}
    root=$(mktemp -d /tmp/hookpath-cg.XXXXXX)
    mkdir -p "$root/bin" "$root/home" "$root/run" "$root/state" "$root/work/proj/.git" "$root/tmp"
    chmod 700 "$root/run"
    cp "$bin" "$root/bin/claude-session"
    for a in session-start pre-tool post-tool; do ln -s claude-session "$root/bin/$a"; done
    set -- \
        PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games:/home/dev/.cargo/bin:/home/dev/.local/bin:/home/dev/.nvm/versions/node/v22.11.0/bin \
        HOME="$root/home" USER=dev LOGNAME=dev SHELL=/bin/bash TERM=xterm-256color COLORTERM=truecolor \
        LANG=en_US.UTF-8 LANGUAGE=en_US:en LC_ALL=en_US.UTF-8 LC_CTYPE=en_US.UTF-8 \
        EDITOR=vim VISUAL=vim PAGER=less \
        LESS=-R LESSOPEN='| /usr/bin/lesspipe %s' LESSCLOSE='/usr/bin/lesspipe %s %s' \
        XDG_RUNTIME_DIR="$root/run" XDG_STATE_HOME="$root/state" XDG_SESSION_ID=3 XDG_SESSION_TYPE=tty \
        XDG_SESSION_CLASS=user XDG_DATA_DIRS=/usr/local/share:/usr/share XDG_CONFIG_DIRS=/etc/xdg \
        DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus SSH_AUTH_SOCK=/tmp/ssh-XXXX/agent.1234 \
        SHLVL=2 PWD="$root/work/proj" OLDPWD="$root/home" HOSTNAME=devbox MAIL=/var/mail/dev \
        HISTSIZE=100000 HISTFILESIZE=200000 HISTCONTROL=ignoreboth PS1='\u@\h:\w\$ ' \
        NVM_DIR="$root/home/.nvm" NVM_BIN=/home/dev/.nvm/versions/node/v22.11.0/bin \
        NVM_INC=/home/dev/.nvm/versions/node/v22.11.0/include/node NVM_CD_FLAGS= \
        NODE_OPTIONS=--max-old-space-size=8192 npm_config_prefix=/home/dev/.npm-global \
        CARGO_HOME=/home/dev/.cargo RUSTUP_HOME=/home/dev/.rustup GOPATH=/home/dev/go GOROOT=/usr/local/go \
        PYENV_ROOT=/home/dev/.pyenv VIRTUAL_ENV_DISABLE_PROMPT=1 PIP_REQUIRE_VIRTUALENV=false \
        JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 DOCKER_HOST=unix:///run/user/1000/docker.sock \
        KUBECONFIG=/home/dev/.kube/config AWS_PROFILE=dev AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1 \
        GPG_TTY=/dev/pts/0 GIT_EDITOR=vim GIT_PAGER=delta MANPAGER='sh -c "col -bx | bat -l man -p"' \
        TMUX=/tmp/tmux-1000/default,1234,0 TMUX_PANE=%0 TERM_PROGRAM=tmux TERM_PROGRAM_VERSION=3.4 \
        LS_COLORS='rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:do=01;35:bd=40;33;01:cd=40;33;01' \
        FZF_DEFAULT_COMMAND='rg --files --hidden' FZF_DEFAULT_OPTS='--height 40%' BAT_THEME=ansi \
        RIPGREP_CONFIG_PATH=/home/dev/.ripgreprc STARSHIP_SHELL=bash STARSHIP_SESSION_KEY=8412093284123 \
        MOTD_SHOWN=pam WSL_DISTRO_NAME= DISPLAY=:0 WAYLAND_DISPLAY=wayland-0 XAUTHORITY=/run/user/1000/.Xauth \
        DEBIAN_FRONTEND=noninteractive TZ=Europe/Berlin TMPDIR="$root/tmp" \
        _=/home/dev/.nvm/versions/node/v22.11.0/bin/claude \
        NoDefaultCurrentDirectoryInExePath=1 GIT_ASKPASS= OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE= \
        DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
        CLAUDE_CODE_ENABLE_TELEMETRY=0 ANTHROPIC_MODEL=claude-sonnet-4-5 \
        CLAUDECODE=1 CLAUDE_CODE_ENTRYPOINT=cli CLAUDE_PROJECT_DIR="$root/work/proj" \
        CLAUDE_CODE_SESSION_ID=a3008a2b-25c3-4791-b916-3ad5effae209 CLAUDE_PID=41234 \
        CLAUDE_CODE_TMPDIR="$root/tmp" CLAUDE_EFFORT=medium CLAUDE_CODE_CHILD_SESSION=0 \
        CLAUDE_ENV_FILE="$root/tmp/env-a3008a2b.sh" CLAUDE_CODE_SSE_PORT=38121 \
        MCP_TIMEOUT=30000 MAX_THINKING_TOKENS=8000 BASH_DEFAULT_TIMEOUT_MS=120000 \
        COREPACK_ENABLE_AUTO_PIN=0 FORCE_COLOR=0 NO_COLOR= GIT_TERMINAL_PROMPT=0 \
        SECURITYSESSIONID=186a4 ZDOTDIR= INFOPATH=/usr/share/info PKG_CONFIG_PATH=/usr/lib/pkgconfig
    if [ "${SMALL:-0}" = 1 ]; then
        # The environment `cargo bench` gives a hook (benches/hooks.rs, Bench::command).
        set -- PATH=/usr/bin:/bin HOME="$root/home" USER=bench XDG_RUNTIME_DIR="$root/run" XDG_STATE_HOME="$root/state"
    fi
    if [ "${SINKS:-0}" = 1 ]; then
        set -- "$@" CLAUDE_SESSION_SERVER_URL=http://127.0.0.1:9/events CLAUDE_SESSION_OTLP_ENDPOINT=http://127.0.0.1:9
    fi
    printf '%-12s' "$label"
    for c in $cases; do
        hook=${c%%:*}
        input=$fixtures/${c#*:}
        (cd "$root/work/proj" && env -i "$@" "$root/bin/$hook" <"$input" >/dev/null 2>&1) || true
        out=$root/cg.$hook
        # VGARGS is a list of valgrind options: split on purpose.
        # shellcheck disable=SC2086
        (cd "$root/work/proj" && env -i "$@" valgrind --tool=callgrind ${VGARGS:-} --callgrind-out-file="$out" \
            "$root/bin/$hook" <"$input" >/dev/null 2>"$root/vg.log") || true
        ir=$(sed -n 's/^summary: //p' "$out")
        printf ' %14s' "$ir"
    done
    echo " (env: $# variables)"
    if [ -n "${KEEP:-}" ]; then cp "$root"/cg.* "$KEEP/" 2>/dev/null; for h in session-start pre-tool post-tool; do mv "$KEEP/cg.$h" "$KEEP/$label.$h"; done; fi
    rm -rf "$root"
done
