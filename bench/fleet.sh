#!/usr/bin/env bash
# A swarm-run app redeployed by git push while a bounded stream of requests
# goes through the router: failed requests (target 0), and each push's time
# until all replicas run the new release, against the bare minimum measured in
# the same run: docker build plus docker service update (start-first) of a
# service with the same replicas, by hand.
#
# --nodes 2: on a fleet of two engines (scripts/fleet.sh makes the second, a
# worker in a network namespace). Release images go through a registry on
# loopback that both nodes pull from, by hand as well (build, push, update
# --with-registry-auth). Then, under the same request stream: nodes:drain of
# the worker (failed requests, time), and the worker's loss (its engine and
# containers killed: failed requests, time until every replica runs again).
#
# Needs: the set-up (npm test ran once). Makes this engine a swarm manager if
# it is none (on the fleet's veth address with --nodes 2), and leaves it again.
# Usage: bench/fleet.sh [DEPLOYS] [--nodes 1|2]   (default 3 deploys, 1 node)
set -euo pipefail
cd "$(dirname "$0")/.."
deploys=3
nodes=1
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    *) deploys="$1"; shift ;;
  esac
done
replicas=$([ "$nodes" = 2 ] && echo 4 || echo 3)
bash scripts/setup.sh --test >/dev/null
eval "$(bash scripts/fleet.sh env)"

work="$(mktemp -d /tmp/skiff-fleet.XXXXXX)"
net="skiff-fleet-$RANDOM"
created_swarm=0
pids=()
cleanup() {
  [ -n "${load_pid:-}" ] && { touch "$work/stop"; wait "$load_pid" 2>/dev/null || true; }
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/home/caddy/caddy.pid" ] && kill "$(cat "$work/home/caddy/caddy.pid")" 2>/dev/null || true
  docker service rm skiff-fleet-web skiff-bench-hand >/dev/null 2>&1 || true
  docker rm -f "skiff-gateway-$gateway_port" >/dev/null 2>&1 || true
  [ "$nodes" = 2 ] && bash scripts/fleet.sh down
  # The network goes once swarm has let go of the tasks' endpoints.
  for n in "$net-fleet" "$net"; do
    for _ in $(seq 1 20); do docker network rm "$n" >/dev/null 2>&1 && break; sleep 1; done
  done
  docker rmi -f $(docker images -q --filter label=skiff.app=fleet) $(docker images -q 'skiff-bench-hand*') $(docker images -q "127.0.0.1:${registry_port:-0}/*") >/dev/null 2>&1 || true
  if [ "$created_swarm" = 1 ]; then
    docker swarm leave --force >/dev/null 2>&1 || true
    [ "$nodes" = 2 ] && bash scripts/fleet.sh net-down
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source bench/lib.sh
gateway_port="$(free_port)"
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
  if [ "$nodes" = 2 ]; then
    bash scripts/fleet.sh net-up
    docker swarm init --advertise-addr "$FLEET_HOST_ADDR" >/dev/null
  else
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  fi
  created_swarm=1
elif [ "$nodes" = 2 ] && [ "$(docker info --format '{{.Swarm.NodeAddr}}')" != "$FLEET_HOST_ADDR" ]; then
  echo " !     this engine's swarm advertises $(docker info --format '{{.Swarm.NodeAddr}}'), not $FLEET_HOST_ADDR: a worker cannot join it" >&2
  exit 1
fi

ssh-keygen -q -t ed25519 -N '' -f "$work/id"
export GIT_SSH_COMMAND="ssh -i $work/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
skiff_port="$(free_port)"
router_port="$(free_port)"
export SKIFF_HOME="$work/home" SKIFF_SSH_PORT="$skiff_port" SKIFF_BIND=127.0.0.1 SKIFF_DOMAIN=localhost \
  SKIFF_ROUTER_PORT="$router_port" SKIFF_HTTP_PORT=0 SKIFF_RUNTIME=swarm SKIFF_SWARM_NETWORK="$net" \
  SKIFF_SWARM_GATEWAY_PORT="$gateway_port" SKIFF_SWARM_GATEWAY_IMAGE=skiff-test/base:bookworm SKIFF_STOP_TIMEOUT=2
hand_image=skiff-bench-hand
if [ "$nodes" = 2 ]; then
  # A registry both nodes reach at 127.0.0.1:PORT (the fleet forwards it into the worker's namespace).
  registry_port="$(free_port)"
  mkdir -p "$work/registry"
  printf 'version: 0.1\nlog: { level: warn }\nstorage: { filesystem: { rootdirectory: %s } }\nhttp: { addr: "127.0.0.1:%s" }\n' \
    "$work/registry/data" "$registry_port" >"$work/registry/config.yml"
  docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
  pids+=($!)
  bash scripts/fleet.sh up "$registry_port"
  export SKIFF_REGISTRY="127.0.0.1:$registry_port/bench"
  hand_image="127.0.0.1:$registry_port/hand/app"
fi
start_skiff
ssh_skiff() { $GIT_SSH_COMMAND -p "$skiff_port" git@127.0.0.1 "$@"; }

work_trees main skiff hand
git -C "$work/skiff-app" remote add paas "ssh://git@127.0.0.1:$skiff_port/fleet.git"
git -C "$work/skiff-app" push -q paas main 2>/dev/null
ssh_skiff ps:scale fleet "web=$replicas" >/dev/null

# The by-hand service: same image recipe, replicas, network and update order.
docker build -q -t "$hand_image:0" "$work/hand-app" >/dev/null 2>&1
[ "$nodes" = 2 ] && docker push -q "$hand_image:0" >/dev/null
docker service create -q --with-registry-auth --name skiff-bench-hand --replicas "$replicas" --network "$net" --endpoint-mode dnsrr \
  --update-order start-first --update-failure-action rollback --env PORT=5000 "$hand_image:0" >/dev/null 2>&1

# Requests through the router, bounded in count and time, from start_load until stop_load: $work/load-NAME.json.
start_load() {
  rm -f "$work/stop"
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
' "$router_port" "$work/stop" "$work/load-$1.json" &
  load_pid=$!
}
stop_load() {
  touch "$work/stop"
  wait "$load_pid"
  load_pid=
}
# Running replicas of the app on the manager's node alone.
on_manager() {
  docker service ps skiff-fleet-web --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' |
    awk -v m="$(docker info --format '{{.Name}}')" '$1 == m && $2 == "Running" { n++ } END { print n + 0 }'
}

start_load deploys
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
  docker build -q -t "$hand_image:$i" "$work/hand-app" >/dev/null 2>&1
  [ "$nodes" = 2 ] && docker push -q "$hand_image:$i" >/dev/null
  docker service update -q --with-registry-auth --image "$hand_image:$i" skiff-bench-hand >/dev/null 2>&1
  hand_times+=("$(( ($(date +%s%N) - start) / 1000000 ))")
done
stop_load

drain_ms=0
loss_ms=0
if [ "$nodes" = 2 ]; then
  spread="$(docker service ps skiff-fleet-web --filter desired-state=running --format '{{.Node}}' | sort | uniq -c | tr -s ' ' | paste -sd, -)"
  start_load drain
  start=$(date +%s%N)
  ssh_skiff nodes:drain "$FLEET_HOSTNAME" >/dev/null
  drain_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  stop_load
  ssh_skiff nodes:activate "$FLEET_HOSTNAME" >/dev/null
  # Tasks on both nodes again: two more replicas go to the emptier node, and a scale down takes from the fuller.
  ssh_skiff ps:scale fleet "web=$((replicas + 2))" >/dev/null
  ssh_skiff ps:scale fleet "web=$replicas" >/dev/null
  start_load loss
  sleep 1
  start=$(date +%s%N)
  bash scripts/fleet.sh kill
  for _ in $(seq 1 600); do [ "$(on_manager)" = "$replicas" ] && break; sleep 0.2; done
  loss_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  sleep 3
  stop_load
fi

node -e '
const fs = require("fs");
const [dir, skiffArg, handArg, nodes, drainMs, lossMs, spread] = process.argv.slice(1);
const load = (name) => JSON.parse(fs.readFileSync(`${dir}/load-${name}.json`, "utf8"));
const skiff = skiffArg.split(" ").map((ms) => Number(ms) / 1000), hand = handArg.split(" ").map((ms) => Number(ms) / 1000);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const failed = (l) => `${l.failed} of ${l.sent} requests failed${l.failed ? " " + JSON.stringify(l.errors) : ""}`;
console.log(`nodes: ${nodes}`);
console.log(`deploys: ${failed(load("deploys"))} (target 0)`);
console.log(`push to all replicas updated (skiff): ${skiff.map((t) => t.toFixed(1)).join(" s, ")} s`);
console.log(`build + service update (by hand):     ${hand.map((t) => t.toFixed(1)).join(" s, ")} s`);
console.log(`ratio skiff / by hand (medians): ${(median(skiff) / median(hand)).toFixed(2)}`);
if (nodes === "2") {
  console.log(`replicas per node before the drain: ${spread}`);
  console.log(`nodes:drain of the worker: ${(Number(drainMs) / 1000).toFixed(1)} s, ${failed(load("drain"))} (target 0)`);
  console.log(`worker lost (engine and containers killed): every replica running on the manager after ${(Number(lossMs) / 1000).toFixed(1)} s; ${failed(load("loss"))}`);
}
' "$work" "${skiff_times[*]}" "${hand_times[*]}" "$nodes" "$drain_ms" "$loss_ms" "${spread:-}"
