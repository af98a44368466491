#!/usr/bin/env bash
# A single-writer deploy's hold: how long a request that arrives while the
# volume changes hands waits for its answer (Skiff holds it at the router),
# against the gap by hand in the same run: docker stop the old container,
# docker run the new one on the same port, until it answers (no router, so
# requests in the gap fail instead of waiting). Both with the same image and
# a volume, on loopback.
#
# Prints the medians of RUNS deploys each way and their ratio; Skiff's failed
# requests must be 0. Then where the last Skiff deploy's hold went, step by step.
# Needs: the set-up (npm start or npm test ran once).
# Usage: bench/handover.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
# shellcheck source=bench/lib.sh
source bench/lib.sh
needs curl
bash scripts/setup.sh --test >/dev/null

work="$(mktemp -d /tmp/skiff-bench.XXXXXX)"
pids=()
cleanup() {
  stop_all
  docker rm -f $(docker ps -aq --filter label=skiff.app=handover) $(docker ps -aq --filter label=skiff.bench=handover) >/dev/null 2>&1 || true
  docker rmi -f $(docker images -q --filter label=skiff.app=handover) skiff-bench-handover >/dev/null 2>&1 || true
  docker volume rm -f skiff-handover_db skiff-bench-handover >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$work/id"
export GIT_SSH_COMMAND="ssh -i $work/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
skiff_port="$(free_port)"
router_port="$(free_port)"
export SKIFF_HOME="$work/home" SKIFF_SSH_PORT="$skiff_port" SKIFF_BIND=127.0.0.1 SKIFF_DOMAIN=localhost \
  SKIFF_ROUTER_PORT="$router_port" SKIFF_HTTP_PORT=0 SKIFF_DRAIN_SECONDS=0 SKIFF_STOP_TIMEOUT=1
start_skiff
work_trees main skiff
printf '%s\n' 'web: exec flock -n /db/lock busybox httpd -f -p "$PORT" -h /www' > "$work/skiff-app/Procfile"
git -C "$work/skiff-app" add -A && git -C "$work/skiff-app" -c user.name=b -c user.email=b@b commit -qm procfile
git -C "$work/skiff-app" remote add paas "ssh://git@127.0.0.1:$skiff_port/handover.git"
node bin/skiff.js apps:create handover >/dev/null
node bin/skiff.js storage:mount handover db:/db --single-writer >/dev/null
git -C "$work/skiff-app" push -q paas main 2>/dev/null

# The same by hand: the same code built by hand (not Skiff's image: its labels would make the container Skiff's), a volume, one port.
docker build -q -t skiff-bench-handover "$work/skiff-app" >/dev/null
hand_port="$(free_port)"
run_hand() { hand_id="$(docker run -d --label skiff.bench=handover -e PORT=5000 -p "127.0.0.1:$hand_port:5000" -v skiff-bench-handover:/db --init skiff-bench-handover sh -c 'exec flock -n /db/lock busybox httpd -f -p 5000 -h /www')"; }
run_hand
until curl -fs -o /dev/null "http://127.0.0.1:$hand_port/"; do sleep 0.1; done

# probe URL HOST SECONDS: requests every 20 ms for SECONDS (at most 3000); prints the longest answer time and the failures.
cat > "$work/probe.js" <<'PROBE'
const http = require('http');
const [url, host, seconds] = process.argv.slice(2);
const u = new URL(url);
let longest = 0, failed = 0, sent = 0;

const end = Date.now() + Number(seconds) * 1000;
const one = () => new Promise((resolve) => {
  const start = Date.now();
  const req = http.get({ host: '127.0.0.1', port: u.port, path: '/', headers: { host }, agent: false, timeout: 60000 }, (res) => {
    res.resume();
    res.on('end', () => { if (res.statusCode === 200) longest = Math.max(longest, Date.now() - start); else failed++; resolve(); });
  });
  req.on('error', () => { failed++; resolve(); });
});
(async () => {
  const inflight = [];
  while (Date.now() < end && sent < 3000) { inflight.push(one()); sent++; await new Promise((r) => setTimeout(r, 20)); }
  await Promise.all(inflight);
  console.log(`${longest} ${failed}`);
})();
PROBE

skiff_results=()
hand_results=()
for i in $(seq 1 "$runs"); do
  change skiff
  node "$work/probe.js" "http://127.0.0.1:$router_port/" handover.localhost 12 > "$work/probe-skiff" &
  probe=$!
  sleep 1
  git -C "$work/skiff-app" push -q paas main 2>/dev/null
  wait "$probe"
  skiff_results+=("$(cat "$work/probe-skiff")")

  # By hand: the gap from stopping the old container to the new one answering.
  start=$(date +%s%N)
  docker rm -f "$hand_id" >/dev/null
  run_hand
  until curl -fs -o /dev/null "http://127.0.0.1:$hand_port/"; do sleep 0.02; done
  hand_results+=("$(( ($(date +%s%N) - start) / 1000000 ))")
done

node -e '
const [skiff, hand] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2])];
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const held = skiff.map((r) => Number(r.split(" ")[0])), failed = skiff.reduce((n, r) => n + Number(r.split(" ")[1]), 0);
console.log(`median longest held request, skiff: ${med(held)} ms (failed requests: ${failed}, target 0; runs: ${held.join(" ")})`);
console.log(`median gap by hand (stop, run, first answer): ${med(hand)} ms (requests in it fail; runs: ${hand.join(" ")})`);
console.log(`ratio skiff / by hand: ${(med(held) / med(hand)).toFixed(2)} (target <= 1.5)`);
' "$(printf '%s\n' "${skiff_results[@]}" | node -e 'console.log(JSON.stringify(require("fs").readFileSync(0,"utf8").trim().split("\n")))')" "[$(IFS=,; echo "${hand_results[*]}")]"

# --- Where the hold went: the last Skiff deploy's steps from hold to release ---
node bin/skiff.js builds:info handover --json | node -e '
const { timings } = JSON.parse(require("fs").readFileSync(0, "utf8"));
const from = timings.findIndex((t) => t.step === "hold");
console.log("\nskiff, last deploy, from the hold on:");
for (const t of timings.slice(from)) console.log(`  ${"  ".repeat(t.depth)}${t.step.padEnd(24 - 2 * t.depth)} ${String(t.ms).padStart(6)} ms`);
'
