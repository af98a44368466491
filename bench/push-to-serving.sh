#!/usr/bin/env bash
# Warm redeploy (a code change only, layers cached): Skiff against the same work
# done by hand on the same app, in the same run, on loopback.
#
#   by hand: git push to a bare repo behind OpenSSH's sshd, git archive, docker
#            build, docker run, wait for HTTP 200, stop the old container
#   skiff:   git push paas main (which does all of that, and records it)
#
# Prints both medians and their ratio (target: at most 0.85), then where the
# time of each side's median run went, step by step (Skiff's from builds:info).
# Needs: the set-up (npm start or npm test ran once), hyperfine, openssh-server.
# Usage: bench/push-to-serving.sh [RUNS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
# shellcheck source=bench/lib.sh
source bench/lib.sh
needs hyperfine /usr/sbin/sshd curl
bash scripts/setup.sh --test >/dev/null

work="$(mktemp -d /tmp/skiff-bench.XXXXXX)"
pids=()
cleanup() {
  stop_all
  docker rm -f $(docker ps -aq --filter label=skiff.app=bench) >/dev/null 2>&1 || true
  docker rm -f $(docker ps -aq --filter label=skiff.bench) >/dev/null 2>&1 || true
  docker rmi -f $(docker images -q --filter label=skiff.app=bench) >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT


ssh-keygen -q -t ed25519 -N '' -f "$work/id"
ssh_opts="-i $work/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"

# --- OpenSSH's sshd on loopback, serving a plain bare repo -----------------
start_sshd
git init -q --bare "$work/hand.git"

# --- Skiff on loopback ------------------------------------------------------
skiff_port="$(free_port)"
# No drain: the by-hand path stops the old container at once, so Skiff does too.
export SKIFF_HOME="$work/home" SKIFF_SSH_PORT="$skiff_port" SKIFF_BIND=127.0.0.1 SKIFF_DOMAIN=localhost \
  SKIFF_ROUTER_PORT="$(free_port)" SKIFF_HTTP_PORT=0 SKIFF_DRAIN_SECONDS=0 SKIFF_STOP_TIMEOUT=1
start_skiff

# --- The app: the hello fixture, one clone per path ---------------------------
work_trees main hand skiff
git -C "$work/hand-app" remote add origin "ssh://root@127.0.0.1:$sshd_port$work/hand.git"
git -C "$work/skiff-app" remote add paas "ssh://git@127.0.0.1:$skiff_port/bench.git"
export GIT_SSH_COMMAND="ssh $ssh_opts"

write_by_hand
export -f change
export work

# Warm both: first deploys build the cached layers.
"$work/by-hand.sh" "$work" hand >/dev/null
git -C "$work/skiff-app" push -q paas main 2>/dev/null

hyperfine --shell bash --style basic --runs "$runs" --export-json "$work/results.json" \
  --prepare "change hand" --command-name "by hand" "$work/by-hand.sh $work hand" \
  --prepare "change skiff" --command-name "skiff" "git -C $work/skiff-app push -q paas main 2>/dev/null"

print_ratio "$work/results.json" "by hand" "skiff" 0.85

# --- Where the time went: each side's median run, step by step ----------------
for id in $(ssh $ssh_opts -p "$skiff_port" git@127.0.0.1 builds bench --json | node -e '
  const builds = JSON.parse(require("fs").readFileSync(0, "utf8"));
  console.log(builds.slice(0, Number(process.argv[1])).map((b) => b.id).join(" "));
' "$runs"); do
  ssh $ssh_opts -p "$skiff_port" git@127.0.0.1 builds:info bench "$id" --json
  echo --
done >"$work/skiff-builds.txt"
node -e '
const fs = require("fs");
const [hand, skiff] = process.argv.slice(1);
const median = (runs) => runs.sort((a, b) => a.total - b.total)[Math.floor((runs.length - 1) / 2)];
// The first by-hand run warmed the layers: not one of the timed ones.
const handRuns = fs.readFileSync(hand, "utf8").split("--\n").filter((b) => b.trim()).slice(1).map((b) => {
  const steps = b.trim().split("\n").map((l) => { const i = l.lastIndexOf(" "); return { step: l.slice(0, i), depth: 0, ms: Number(l.slice(i + 1)) }; });
  return { steps, total: steps.reduce((n, s) => n + s.ms, 0) };
});
const skiffRuns = fs.readFileSync(skiff, "utf8").split("--\n").filter((b) => b.trim()).map((text) => {
  const b = JSON.parse(text);
  return { steps: b.timings, total: b.timings.filter((t) => t.depth === 0).reduce((n, t) => n + t.ms, 0) };
});
for (const [name, runs] of [["by hand", handRuns], ["skiff", skiffRuns]]) {
  const m = median(runs);
  console.log(`\n${name}, median run (${m.total} ms in its steps):`);
  for (const s of m.steps) console.log(`  ${"  ".repeat(s.depth)}${s.step.padEnd(24 - 2 * s.depth)} ${String(s.ms).padStart(6)} ms`);
}
' "$work/hand-steps.txt" "$work/skiff-builds.txt"
