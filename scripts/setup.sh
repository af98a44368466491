#!/usr/bin/env bash
# Set-up for a fresh Debian machine (run as root) or an existing checkout:
# installs what is missing, starts a Docker engine when none answers,
# installs node modules and builds. Idempotent and quiet when all is there.
# Usage: scripts/setup.sh [--test]   (--test also prepares the test fixtures)
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { echo "-----> $*"; }

# Whether a Docker engine answers on its socket (asked with node, which Skiff
# needs anyway: the docker CLI may be absent where the socket is mounted in).
engine_answers() {
  node -e "require('http').get({ socketPath: '/var/run/docker.sock', path: '/_ping', timeout: 3000 }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))" 2>/dev/null
}

# Debian packages: a command to look for, and the package that brings it.
need=()
command -v git >/dev/null || need+=(git)
# No engine of its own is needed where one answers already (a mounted socket).
command -v dockerd >/dev/null || engine_answers || need+=(docker.io)
command -v caddy >/dev/null || need+=(caddy)
if [ "$want_test" = 1 ]; then
  # The end-to-end tests drive Skiff with the real OpenSSH client.
  command -v ssh >/dev/null || need+=(openssh-client)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  # A real registry on loopback, and htpasswd for its basic auth.
  command -v docker-registry >/dev/null || need+=(docker-registry)
  command -v htpasswd >/dev/null || need+=(apache2-utils)
  # systemd-analyze checks the units the systemd runtime writes.
  command -v systemd-analyze >/dev/null || need+=(systemd)
  # A real ACME flow offline: pebble (the test CA) and its mock DNS; openssl makes test certificates.
  command -v pebble >/dev/null || need+=(pebble)
  command -v openssl >/dev/null || need+=(openssl)
  # apps:compose's file is run with Debian's docker-compose.
  command -v docker-compose >/dev/null || need+=(docker-compose)
  # The test fleet's second engine: a network namespace and veth pair (ip), entered with nsenter and unshare.
  command -v ip >/dev/null || need+=(iproute2)
  command -v nsenter >/dev/null || need+=(util-linux)
fi
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo " !     Missing Debian packages: ${need[*]}. Run this set-up as root, or install them." >&2
    exit 1
  fi
  say "Installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Skiff runs its own Caddy as the router: the packaged service would hold port 80.
  if [[ " ${need[*]} " == *" caddy "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now caddy >/dev/null 2>&1 || true
  fi
  # The tests run their own registries on loopback; the packaged one would sit on port 5000.
  if [[ " ${need[*]} " == *" docker-registry "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
fi

# A Docker engine that answers; start one when none does.
if ! engine_answers; then
  if [ -d /run/systemd/system ] && systemctl start docker >/dev/null 2>&1 && engine_answers; then
    :
  else
    say "Starting dockerd (no Docker engine answered)"
    mkdir -p /var/log
    # Each service (services:create) has a bridge network of its own: small subnets, so that thousands fit, not the default pools' thirty.
    setsid nohup dockerd --default-address-pool base=172.16.0.0/12,size=24 >/var/log/skiff-dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 60); do
      engine_answers && break
      sleep 0.5
    done
    if ! engine_answers; then
      echo " !     dockerd did not start; see /var/log/skiff-dockerd.log" >&2
      exit 1
    fi
  fi
fi

# Caddy reloads its config on a new SO_REUSEPORT socket; without this, Linux
# resets the connections waiting in the old socket's queue. With it, they move
# to the new one, and a route switch drops nothing.
if [ "$(cat /proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null || echo 1)" != 1 ] && [ "$(id -u)" = 0 ]; then
  sysctl -q -w net.ipv4.tcp_migrate_req=1 || true
  if [ -d /etc/sysctl.d ]; then echo 'net.ipv4.tcp_migrate_req = 1' > /etc/sysctl.d/60-skiff.conf; fi
fi

# Node modules, when missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "Installing node modules"
  # npm install, not npm ci: npm 11 leaves other platforms' optional packages
  # (rollup's, esbuild's) out of the lockfile, and npm ci then refuses it.
  npm install --no-audit --no-fund --loglevel=error
fi

# Build, when any source is newer than the build.
if [ ! -f dist/main.js ] || [ -n "$(find src tsconfig.json package.json -newer dist/main.js -print -quit)" ]; then
  say "Building"
  rm -rf dist
  # tsc writes files even when it finds errors: remove them so the next run builds again.
  npx tsc -p tsconfig.json || { rm -rf dist; exit 1; }
fi

if [ "$want_test" = 1 ]; then
  bash scripts/test-images.sh
fi
