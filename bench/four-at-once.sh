#!/usr/bin/env bash
# Four apps redeployed at the same moment (a code change each, layers cached):
# four `git push`es to Skiff at once, against four deploys by hand at once (the
# same steps as bench/push-to-serving.sh's), in the same run, on loopback. On a
# small machine the engine and the cores are the limit; Skiff must add little.
#
# Prints both medians and their ratio (target: at most 0.8).
# Needs: the set-up (npm start or npm test ran once), hyperfine, openssh-server.
# Usage: bench/four-at-once.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
# shellcheck source=bench/lib.sh
source bench/lib.sh
needs hyperfine /usr/sbin/sshd curl
bash scripts/setup.sh --test >/dev/null

work="$(mktemp -d /tmp/skiff-bench.XXXXXX)"
pids=()
apps=(one two three four)
cleanup() {
  stop_all
  for a in "${apps[@]}"; do
    docker rm -f $(docker ps -aq --filter "label=skiff.app=bench-$a") $(docker ps -aq --filter "label=skiff.bench=hand-$a") >/dev/null 2>&1 || true
    docker rmi -f $(docker images -q --filter "label=skiff.app=bench-$a") "skiff-bench-hand-$a" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$work/id"
export GIT_SSH_COMMAND="ssh -i $work/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"

start_sshd
skiff_port="$(free_port)"
# No drain: the by-hand path stops the old container at once, so Skiff does too.
export SKIFF_HOME="$work/home" SKIFF_SSH_PORT="$skiff_port" SKIFF_BIND=127.0.0.1 SKIFF_DOMAIN=localhost \
  SKIFF_ROUTER_PORT="$(free_port)" SKIFF_HTTP_PORT=0 SKIFF_DRAIN_SECONDS=0 SKIFF_STOP_TIMEOUT=1
start_skiff

for a in "${apps[@]}"; do
  work_trees main "hand-$a" "skiff-$a"
  git init -q --bare "$work/hand-$a.git"
  git -C "$work/hand-$a-app" remote add origin "ssh://root@127.0.0.1:$sshd_port$work/hand-$a.git"
  git -C "$work/skiff-$a-app" remote add paas "ssh://git@127.0.0.1:$skiff_port/bench-$a.git"
done
write_by_hand
export -f change
export work

cat > "$work/all.sh" <<'ALL'
#!/usr/bin/env bash
# all.sh hand|skiff: the four deploys at once; fails if any fails.
set -uo pipefail
work="$1" how="$2" status=0
children=()
for a in one two three four; do
  if [ "$how" = hand ]; then "$work/by-hand.sh" "$work" "hand-$a" & else git -C "$work/skiff-$a-app" push -q paas main 2>/dev/null & fi
  children+=($!)
done
for c in "${children[@]}"; do wait "$c" || status=1; done
exit "$status"
ALL
chmod +x "$work/all.sh"
changes() { for a in one two three four; do change "$1-$a"; done; }
export -f changes

# Warm both: the first deploys build the cached layers.
"$work/all.sh" "$work" hand >/dev/null
"$work/all.sh" "$work" skiff >/dev/null

hyperfine --shell bash --style basic --runs "$runs" --export-json "$work/results.json" \
  --prepare "changes hand" --command-name "four by hand" "$work/all.sh $work hand" \
  --prepare "changes skiff" --command-name "four skiff pushes" "$work/all.sh $work skiff"

print_ratio "$work/results.json" "four by hand" "four skiff pushes" 0.8
