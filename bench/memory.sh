#!/usr/bin/env bash
# The server's resident memory: idle after start, and after PUSHES deploys of
# one app (each a build and a zero-downtime release), against the bare minimum
# measured in the same run: a node process that does nothing.
#
# Prints the three in MiB, the idle ratio to bare node, and the growth over the
# pushes (targets: idle at most 60 MiB, growth under 5 MiB).
# Needs: the set-up (npm start or npm test ran once).
# Usage: bench/memory.sh [PUSHES]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
pushes="${1:-100}"
# shellcheck source=bench/lib.sh
source bench/lib.sh
bash scripts/setup.sh --test >/dev/null

work="$(mktemp -d /tmp/skiff-bench.XXXXXX)"
pids=()
cleanup() {
  stop_all
  docker rm -f $(docker ps -aq --filter label=skiff.app=bench) >/dev/null 2>&1 || true
  docker rmi -f $(docker images -q --filter label=skiff.app=bench) >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# RSS swings by a few MiB as V8 collects (its memory reducer runs some seconds after a busy spell):
# each figure is the median of 5 samples 2 s apart, taken after 20 s of quiet.
steady_rss() {
  sleep 20
  local samples=()
  for _ in 1 2 3 4 5; do samples+=("$(rss_kib "$1")"); sleep 2; done
  printf '%s\n' "${samples[@]}" | sort -n | sed -n 3p
}

ssh-keygen -q -t ed25519 -N '' -f "$work/id"
export GIT_SSH_COMMAND="ssh -i $work/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"

# --- The bare minimum: node, doing nothing ----------------------------------
node -e 'setInterval(() => {}, 1000)' &
bare_pid=$!
pids+=("$bare_pid")

# --- Skiff on loopback ------------------------------------------------------
skiff_port="$(free_port)"
export SKIFF_HOME="$work/home" SKIFF_SSH_PORT="$skiff_port" SKIFF_BIND=127.0.0.1 SKIFF_DOMAIN=localhost \
  SKIFF_ROUTER_PORT="$(free_port)" SKIFF_HTTP_PORT=0 SKIFF_DRAIN_SECONDS=0 SKIFF_STOP_TIMEOUT=1
start_skiff
server_pid="${pids[-1]}"
bare="$(steady_rss "$bare_pid")"
idle="$(steady_rss "$server_pid")"

work_trees main skiff
git -C "$work/skiff-app" remote add paas "ssh://git@127.0.0.1:$skiff_port/bench.git"
git -C "$work/skiff-app" push -q paas main 2>/dev/null
first="$(steady_rss "$server_pid")"
for i in $(seq 1 "$pushes"); do
  change skiff
  git -C "$work/skiff-app" push -q paas main 2>/dev/null || { echo " !     push $i failed" >&2; exit 1; }
  # Pushes run in the server (git's hook hands them over); commands do too: some of those.
  [ $((i % 10)) -ne 0 ] || $GIT_SSH_COMMAND -p "$skiff_port" git@127.0.0.1 ps bench >/dev/null
done
after="$(steady_rss "$server_pid")"

node -e '
const [bare, idle, first, after, pushes] = process.argv.slice(1).map(Number);
const mib = (k) => (k / 1024).toFixed(1);
console.log(`bare node idle:          ${mib(bare)} MiB`);
console.log(`skiff idle:              ${mib(idle)} MiB (${(idle / bare).toFixed(2)} x bare node; target <= 60 MiB)`);
console.log(`skiff after 1 push:      ${mib(first)} MiB`);
console.log(`skiff after ${pushes + 1} pushes:  ${mib(after)} MiB (growth over the last ${pushes}: ${mib(after - first)} MiB; target < 5 MiB)`);
' "$bare" "$idle" "$first" "$after" "$pushes"
