#!/usr/bin/env bash
# A swarm-run app (3 replicas) redeployed three times by git push while a
# bounded stream of requests goes through the router: failed requests (target
# 0), and each push's time until all replicas run the new release, against the
# bare minimum measured in the same run: docker build plus docker service
# update (start-first) of a service with the same replicas, by hand.
# Needs: the set-up (npm test ran once). Makes this engine a single-node swarm
# on loopback if it is none, and leaves it again afterwards.
# Usage: bench/fleet.sh [DEPLOYS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
deploys="${1:-3}"
bash scripts/setup.sh --test >/dev/null

work="$(mktemp -d /tmp/skiff-fleet.XXXXXX)"
net="skiff-fleet-$RANDOM"
created_swarm=0
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/home/caddy/caddy.pid" ] && kill "$(cat "$work/home/caddy/caddy.pid")" 2>/dev/null || true
  docker service rm skiff-fleet-web skiff-bench-hand >/dev/null 2>&1 || true
  docker rm -f "skiff-gateway-$gateway_port" >/dev/null 2>&1 || true
  # The network goes once swarm has let go of the tasks' endpoints.
  for n in "$net-fleet" "$net"; do
    for _ in $(seq 1 20); do docker network rm "$n" >/dev/null 2>&1 && break; sleep 1; done
  done
  docker rmi -f $(docker images -q --filter label=skiff.app=fleet) skiff-bench-hand >/dev/null 2>&1 || true
  [ "$created_swarm" = 1 ] && docker swarm leave --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source bench/lib.sh
gateway_port="$(free_port)"
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  created_swarm=1
fi

ssh-keygen -q -t ed25519 -N '' -f "$work/id"
export GIT_SSH_COMMAND="ssh -i $work/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
skiff_port="$(free_port)"
router_port="$(free_port)"
export SKIFF_HOME="$work/home" SKIFF_SSH_PORT="$skiff_port" SKIFF_BIND=127.0.0.1 SKIFF_DOMAIN=localhost \
  SKIFF_ROUTER_PORT="$router_port" SKIFF_HTTP_PORT=0 SKIFF_RUNTIME=swarm SKIFF_SWARM_NETWORK="$net" \
  SKIFF_SWARM_GATEWAY_PORT="$gateway_port" SKIFF_SWARM_GATEWAY_IMAGE=skiff-test/base:bookworm SKIFF_STOP_TIMEOUT=2
start_skiff

work_trees main skiff hand
git -C "$work/skiff-app" remote add paas "ssh://git@127.0.0.1:$skiff_port/fleet.git"
git -C "$work/skiff-app" push -q paas main 2>/dev/null
$GIT_SSH_COMMAND -p "$skiff_port" git@127.0.0.1 ps:scale fleet web=3 >/dev/null

# The by-hand service: same image recipe, replicas, network and update order.
docker build -q -t skiff-bench-hand:0 "$work/hand-app" >/dev/null 2>&1
docker service create -q --name skiff-bench-hand --replicas 3 --network "$net" --endpoint-mode dnsrr \
  --update-order start-first --update-failure-action rollback --env PORT=5000 skiff-bench-hand:0 >/dev/null 2>&1

# Requests through the router, bounded in count and time, until told to stop.
node -e '
const http = require("http");
const [port, stopFile, out] = process.argv.slice(1);
const fs = require("fs");
let sent = 0, failed = 0; const errors = {};
const deadline = Date.now() + 600000;
const one = () => new Promise((resolve) => {
  const req = http.get({ host: "127.0.0.1", port, path: "/", headers: { host: "fleet.localhost" }, agent: false, timeout: 5000 }, (res) => {
    res.resume(); res.on("end", () => { if (res.statusCode !== 200) { failed++; errors[res.statusCode] = (errors[res.statusCode] || 0) + 1; } resolve(); });
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (e) => { failed++; errors[e.code || e.message] = (errors[e.code || e.message] || 0) + 1; resolve(); });
});
(async () => {
  const workers = Array.from({ length: 4 }, async () => {
    while (!fs.existsSync(stopFile) && sent < 200000 && Date.now() < deadline) { sent++; await one(); }
  });
  await Promise.all(workers);
  fs.writeFileSync(out, JSON.stringify({ sent, failed, errors }));
})();
' "$router_port" "$work/stop" "$work/load.json" &
load_pid=$!

skiff_times=()
hand_times=()
for i in $(seq 1 "$deploys"); do
  echo "deploy $i" > "$work/skiff-app/index.html"
  git -C "$work/skiff-app" -c user.name=b -c user.email=b@b commit -qam "deploy $i"
  start=$(date +%s%N)
  git -C "$work/skiff-app" push -q paas main 2>/dev/null
  skiff_times+=("$(( ($(date +%s%N) - start) / 1000000 ))")

  echo "deploy $i" > "$work/hand-app/index.html"
  start=$(date +%s%N)
  docker build -q -t "skiff-bench-hand:$i" "$work/hand-app" >/dev/null 2>&1
  docker service update -q --image "skiff-bench-hand:$i" skiff-bench-hand >/dev/null 2>&1
  hand_times+=("$(( ($(date +%s%N) - start) / 1000000 ))")
done
touch "$work/stop"
wait "$load_pid"

node -e '
const load = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const skiff = process.argv[2].split(" ").map((ms) => Number(ms) / 1000), hand = process.argv[3].split(" ").map((ms) => Number(ms) / 1000);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
console.log(`requests: ${load.sent}, failed: ${load.failed} (target 0)${load.failed ? " " + JSON.stringify(load.errors) : ""}`);
console.log(`push to all replicas updated (skiff): ${skiff.map((t) => t.toFixed(1)).join(" s, ")} s`);
console.log(`build + service update (by hand):     ${hand.map((t) => t.toFixed(1)).join(" s, ")} s`);
console.log(`ratio skiff / by hand (medians): ${(median(skiff) / median(hand)).toFixed(2)}`);
' "$work/load.json" "${skiff_times[*]}" "${hand_times[*]}"
