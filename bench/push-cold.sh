#!/usr/bin/env bash
# Cold redeploy (the dependencies change, so npm install runs again): Skiff
# against the same work done by hand on the same Express app (written for
# Heroku: package.json, Procfile, no Dockerfile), in the same run, on loopback.
#
#   by hand: git push to a bare repo behind OpenSSH's sshd, git archive, docker
#            build of the Dockerfile Skiff's node stack writes for the app
#            (`stacks:dockerfile`), docker run, wait for HTTP 200, stop the old
#   skiff:   git push paas main
#
# Each run changes package.json's version, which the dependency layer copies:
# both sides install express from the npm registry every run, so the
# registry's own time is in both and varies between runs.
# Prints both medians and their ratio (target: at most 0.85).
# Needs: the set-up (npm start or npm test ran once), hyperfine, openssh-server,
# and the npm registry reachable from the engine's containers.
# Usage: bench/push-cold.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
# shellcheck source=bench/lib.sh
source bench/lib.sh
needs hyperfine /usr/sbin/sshd curl
bash scripts/setup.sh --test >/dev/null

work="$(mktemp -d /tmp/skiff-bench.XXXXXX)"
pids=()
cleanup() {
  stop_all
  docker rm -f $(docker ps -aq --filter label=skiff.app=bench-cold) $(docker ps -aq --filter label=skiff.bench=hand) >/dev/null 2>&1 || true
  docker rmi -f $(docker images -q --filter label=skiff.app=bench-cold) skiff-bench-hand >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$work/id"
ssh_opts="-i $work/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
export GIT_SSH_COMMAND="ssh $ssh_opts"

start_sshd
git init -q --bare "$work/hand.git"

skiff_port="$(free_port)"
# No drain: the by-hand path stops the old container at once, so Skiff does too.
export SKIFF_HOME="$work/home" SKIFF_SSH_PORT="$skiff_port" SKIFF_BIND=127.0.0.1 SKIFF_DOMAIN=localhost \
  SKIFF_ROUTER_PORT="$(free_port)" SKIFF_HTTP_PORT=0 SKIFF_DRAIN_SECONDS=0 SKIFF_STOP_TIMEOUT=1 \
  SKIFF_STACK_NODE_IMAGE=skiff-test/node:bookworm SKIFF_BUILD_CA_FILE=/etc/ssl/certs/ca-certificates.crt
start_skiff

for name in hand skiff; do
  mkdir -p "$work/$name-app"
  cp -r test/fixtures/apps/node-express/. "$work/$name-app/"
  git -C "$work/$name-app" init -q -b main
  git -C "$work/$name-app" add -A
  git -C "$work/$name-app" -c user.name=b -c user.email=b@b commit -qm init
done
git -C "$work/skiff-app" remote add paas "ssh://git@127.0.0.1:$skiff_port/bench-cold.git"
git -C "$work/hand-app" remote add origin "ssh://root@127.0.0.1:$sshd_port$work/hand.git"

# Skiff's first push (the node stack, on the set-up's Debian node image); then the by-hand side builds the very Dockerfile Skiff built.
git -C "$work/skiff-app" push -q paas main 2>"$work/first-push.txt" || { cat "$work/first-push.txt" >&2; exit 1; }
ssh $ssh_opts -p "$skiff_port" git@127.0.0.1 stacks:dockerfile bench-cold >"$work/hand-app/Dockerfile"
# The Dockerfile trusts the host's CA bundle for npm (SKIFF_BUILD_CA_FILE), from where Skiff puts it.
mkdir -p "$work/hand-app/.skiff"
cp "$SKIFF_BUILD_CA_FILE" "$work/hand-app/.skiff/ca.crt"
git -C "$work/hand-app" add Dockerfile .skiff
git -C "$work/hand-app" -c user.name=b -c user.email=b@b commit -qm dockerfile

write_by_hand
# A new dependency layer on each side: package.json's version changes.
cold_change() {
  node -e 'const f = process.argv[1]; const p = JSON.parse(require("fs").readFileSync(f)); p.version = `1.0.${Date.now()}`; require("fs").writeFileSync(f, JSON.stringify(p, null, 2) + "\n")' "$work/$1-app/package.json"
  git -C "$work/$1-app" -c user.name=b -c user.email=b@b commit -qam "version"
}
export -f cold_change
export work

"$work/by-hand.sh" "$work" hand >/dev/null

hyperfine --shell bash --style basic --runs "$runs" --export-json "$work/results.json" \
  --prepare "cold_change hand" --command-name "by hand" "$work/by-hand.sh $work hand" \
  --prepare "cold_change skiff" --command-name "skiff" "git -C $work/skiff-app push -q paas main 2>/dev/null"

print_ratio "$work/results.json" "by hand" "skiff" 0.85

# Where Skiff's last push went, step by step (the by-hand steps are in $work/hand-steps.txt while it runs).
echo
ssh $ssh_opts -p "$skiff_port" git@127.0.0.1 builds:info bench-cold | sed -n '/Steps/,$p'
echo "by hand, last run:"
awk 'BEGIN { RS = "--\n" } { last = $0 } END { printf "%s", last }' "$work/hand-steps.txt" | sed 's/^/  /'
