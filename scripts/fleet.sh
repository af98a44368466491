#!/usr/bin/env bash
# A test fleet on this machine: a second Docker engine as a swarm worker.
#
#   scripts/fleet.sh net-up      the network only: a namespace and a veth pair
#   scripts/fleet.sh up [--no-join] [PORT…]
#                                net-up, then the worker engine, joined to this
#                                engine's swarm (unless --no-join: `worker` runs
#                                a join line); each PORT of this host's
#                                loopback (a registry) is reachable on the
#                                worker's loopback too, so one image name
#                                pulls on both nodes
#   scripts/fleet.sh worker ARG… docker ARG… against the worker's engine
#   scripts/fleet.sh kill        the worker's power goes: its engine, containerd
#                                and containers are killed at once (SIGKILL)
#   scripts/fleet.sh down        the worker leaves the swarm and its engine,
#                                data and forwarders go; the network stays,
#                                as this engine's swarm advertises on it
#   scripts/fleet.sh net-down    down, then the namespace and veth pair go
#   scripts/fleet.sh env         prints the names below as shell lines
#
# The worker is Debian's dockerd in a network and UTS namespace of its own
# (host name $FLEET_HOSTNAME), with its own data-root, exec-root, pidfile,
# socket and bridge. It is reached over a veth pair: this host's end is
# $FLEET_HOST_ADDR, the worker's $FLEET_WORKER_ADDR. This engine must be a
# swarm manager advertising $FLEET_HOST_ADDR (`net-up` first, then
# `docker swarm init --advertise-addr $FLEET_HOST_ADDR`; the test set-up does
# both). nsenter --net, not `ip netns exec`: the latter remounts /sys and
# hides the cgroup mounts, and dockerd refuses to start.
# Every wait is bounded; `down` leaves the host as it found it.
set -euo pipefail

NS="${FLEET_NS:-skiff-fleet}"
FLEET_HOST_ADDR="${FLEET_HOST_ADDR:-192.168.231.1}"
FLEET_WORKER_ADDR="${FLEET_WORKER_ADDR:-192.168.231.2}"
FLEET_HOSTNAME="${FLEET_HOSTNAME:-skiff-worker}"
STATE="${FLEET_STATE:-/var/lib/skiff-fleet}"
RUN="/run/skiff-fleet"
FLEET_SOCKET="$RUN/docker.sock"
HOST_IF=skfleet0
WORKER_IF=skfleet1
here="$(cd "$(dirname "$0")" && pwd)"

worker() { docker -H "unix://$FLEET_SOCKET" "$@"; }

wait_for() { # SECONDS WHAT COMMAND…
  local seconds="$1" what="$2"
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo " !     fleet: $what did not happen within ${seconds}s" >&2
  return 1
}

net_up() {
  ip netns list | grep -qw "$NS" && return 0
  ip netns add "$NS"
  ip link add "$HOST_IF" type veth peer name "$WORKER_IF"
  ip link set "$WORKER_IF" netns "$NS"
  ip addr add "$FLEET_HOST_ADDR/30" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  ip -n "$NS" link set lo up
  ip -n "$NS" addr add "$FLEET_WORKER_ADDR/30" dev "$WORKER_IF"
  ip -n "$NS" link set "$WORKER_IF" up
}

# forward LISTEN_ADDR PORT TARGET_ADDR [NETNS]: a TCP forwarder, in NETNS when given.
forward() {
  local listen="$1" port="$2" target="$3" ns="${4:-}"
  local cmd=(node "$here/fleet-forward.mjs" "$listen" "$port" "$target" "$port")
  [ -n "$ns" ] && cmd=(nsenter "--net=/run/netns/$ns" "${cmd[@]}")
  setsid nohup "${cmd[@]}" >>"$RUN/forward.log" 2>&1 </dev/null &
  echo $! >>"$RUN/forward.pids"
}

up() {
  local join=1
  if [ "${1:-}" = --no-join ]; then
    join=0
    shift
  fi
  net_up
  mkdir -p "$STATE/data" "$RUN/exec"
  if ! worker info >/dev/null 2>&1; then
    # Its own host name (a UTS namespace), network, data and sockets; the cgroups are this host's.
    setsid nohup nsenter "--net=/run/netns/$NS" unshare --uts sh -c \
      "hostname '$FLEET_HOSTNAME' && exec dockerd --data-root '$STATE/data' --exec-root '$RUN/exec' --pidfile '$RUN/docker.pid' \
        -H 'unix://$FLEET_SOCKET' --cgroup-parent skiff-fleet --default-address-pool base=172.30.0.0/16,size=24" \
      >"$RUN/dockerd.log" 2>&1 </dev/null &
    wait_for 60 "the worker's dockerd answering ($RUN/dockerd.log)" worker info
  fi
  for port in "$@"; do
    forward "$FLEET_HOST_ADDR" "$port" 127.0.0.1
    forward 127.0.0.1 "$port" "$FLEET_HOST_ADDR" "$NS"
  done
  [ "$join" = 1 ] || return 0
  if [ "$(worker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    local token
    token="$(docker swarm join-token -q worker)"
    worker swarm join --token "$token" --advertise-addr "$FLEET_WORKER_ADDR" --listen-addr "$FLEET_WORKER_ADDR:2377" "$FLEET_HOST_ADDR:2377" >/dev/null
  fi
  wait_for 60 "the worker ready in the swarm" sh -c "docker node ls --format '{{.Hostname}} {{.Status}}' | grep -qx '$FLEET_HOSTNAME Ready'"
}

# Every process of the worker: its engine and containerd (in the namespace) and its containers (in its cgroups).
kill_all() {
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  cat /sys/fs/cgroup/*/skiff-fleet/*/cgroup.procs /sys/fs/cgroup/skiff-fleet/*/cgroup.procs 2>/dev/null | xargs -r kill -9 2>/dev/null || true
}

down() {
  if worker info >/dev/null 2>&1; then
    worker swarm leave --force >/dev/null 2>&1 || true
  fi
  # The manager forgets the node (it is down now, or was never there).
  for id in $(docker node ls --filter "name=$FLEET_HOSTNAME" -q 2>/dev/null); do
    docker node rm --force "$id" >/dev/null 2>&1 || true
  done
  if [ -f "$RUN/forward.pids" ]; then
    xargs kill <"$RUN/forward.pids" 2>/dev/null || true
  fi
  if [ -f "$RUN/docker.pid" ]; then
    local pid
    pid="$(cat "$RUN/docker.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  kill_all
  sleep 0.5
  # The containers' cgroups (the engine's cgroup parent), deepest first.
  find /sys/fs/cgroup -depth -type d -path '*/skiff-fleet*' -exec rmdir {} \; 2>/dev/null || true
  # What its containers left mounted under its own folders.
  grep -oE " ($STATE|$RUN)[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$STATE" "$RUN"
}

net_down() {
  down
  ip link del "$HOST_IF" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}

case "${1:-}" in
  net-up) net_up ;;
  up) shift; up "$@" ;;
  worker) shift; worker "$@" ;;
  kill) kill_all ;;
  down) down ;;
  net-down) net_down ;;
  env)
    echo "FLEET_NS=$NS FLEET_HOST_ADDR=$FLEET_HOST_ADDR FLEET_WORKER_ADDR=$FLEET_WORKER_ADDR FLEET_HOSTNAME=$FLEET_HOSTNAME FLEET_SOCKET=$FLEET_SOCKET"
    ;;
  *)
    echo "usage: scripts/fleet.sh net-up | up [--no-join] [PORT…] | worker ARG… | kill | down | net-down | env" >&2
    exit 1
    ;;
esac
