#!/usr/bin/env bash
# An incremental push to a branch that does not deploy: Skiff against OpenSSH's
# sshd running git receive-pack on a plain bare repo, in the same run, on loopback.
# Such a push is only stored, so it should cost about what plain git does.
#
# Prints both medians and their ratio (target: at most 1.1).
# Needs: the set-up (npm start or npm test ran once), hyperfine, openssh-server.
# Usage: bench/push-branch.sh [RUNS]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-30}"
# shellcheck source=bench/lib.sh
source bench/lib.sh
needs hyperfine /usr/sbin/sshd
bash scripts/setup.sh >/dev/null

work="$(mktemp -d /tmp/skiff-bench.XXXXXX)"
pids=()
cleanup() {
  stop_all
  rm -rf "$work"
}
trap cleanup EXIT


ssh-keygen -q -t ed25519 -N '' -f "$work/id"
ssh_opts="-i $work/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"

# --- OpenSSH's sshd on loopback, serving a plain bare repo -----------------
start_sshd
git init -q --bare "$work/plain.git"

# --- Skiff on loopback ------------------------------------------------------
skiff_port="$(free_port)"
export SKIFF_HOME="$work/home" SKIFF_SSH_PORT="$skiff_port" SKIFF_BIND=127.0.0.1 SKIFF_DOMAIN=localhost \
  SKIFF_ROUTER_PORT="$(free_port)" SKIFF_HTTP_PORT=0
node bin/skiff.js apps:create bench >/dev/null
start_skiff

# --- One work tree per path, each pushing a new commit to a feature branch ----
work_trees feature plain skiff
git -C "$work/plain-app" remote add origin "ssh://root@127.0.0.1:$sshd_port$work/plain.git"
git -C "$work/skiff-app" remote add origin "ssh://git@127.0.0.1:$skiff_port/bench.git"
export GIT_SSH_COMMAND="ssh $ssh_opts"
change() { echo "change $RANDOM$RANDOM" > "$work/$1-app/index.html" && git -C "$work/$1-app" -c user.name=b -c user.email=b@b commit -qam change; }
export -f change
export work
for path in plain skiff; do git -C "$work/$path-app" push -q origin feature 2>/dev/null; done

hyperfine --shell bash --style basic --runs "$runs" --warmup 3 --export-json "$work/results.json" \
  --prepare "change plain" --command-name "plain git" "git -C $work/plain-app push -q origin feature 2>/dev/null" \
  --prepare "change skiff" --command-name "skiff" "git -C $work/skiff-app push -q origin feature 2>/dev/null"

print_ratio "$work/results.json" "plain git" "skiff" 1.1
