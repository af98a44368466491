#!/usr/bin/env bash
# The images tests build FROM, made locally (no registry can be reached here)
# and cached by tag: the Debian base, and a Node one built on it with Debian's
# nodejs and npm, a Python one with Debian's python3 and pip, and one with
# systemd as PID 1 (plain-HTTP apt works from containers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/base-image.sh skiff-test/base:bookworm

# image TAG WHAT PACKAGES [DOCKERFILE-LINE...]: the base with Debian PACKAGES installed, unless TAG exists.
image() {
  local tag="$1" what="$2" packages="$3"
  shift 3
  docker image inspect "$tag" >/dev/null 2>&1 && return 0
  echo "-----> Making image $tag ($what)"
  printf '%s\n' 'FROM skiff-test/base:bookworm' \
    "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null && rm -rf /var/lib/apt/lists/*" \
    "$@" \
    | docker build -q -t "$tag" - >/dev/null
}

image skiff-test/node:bookworm "Debian's nodejs and npm" 'nodejs npm ca-certificates'
# pip installs into the system Python here, as it does in the official python images.
image skiff-test/python:bookworm "Debian's python3 and pip" 'python3 python3-pip ca-certificates' 'ENV PIP_BREAK_SYSTEM_PACKAGES=1'
image skiff-test/systemd:bookworm "systemd as PID 1, for the systemd runtime's tests" 'systemd systemd-sysv dbus' 'CMD ["/lib/systemd/systemd"]'

# A Node 20 image for Skiff's own image (its Dockerfile's BASE): this host's
# node, npm and headers on the base (Debian's nodejs is 18), trusting the
# host's CA bundle, as the official node images would be used elsewhere.
if ! docker image inspect skiff-test/node20:bookworm >/dev/null 2>&1; then
  echo "-----> Making image skiff-test/node20:bookworm (this host's Node $(node --version))"
  ctx="$(mktemp -d)"
  trap 'rm -rf "$ctx"' EXIT
  cp "$(command -v node)" "$ctx/node"
  cp -r "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$ctx/npm"
  prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  cp -r "$prefix/include/node" "$ctx/include"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"
  printf '%s\n' 'FROM skiff-test/base:bookworm' \
    'COPY node /usr/local/bin/node' \
    'COPY npm /usr/local/lib/node_modules/npm' \
    'COPY include /usr/local/include/node' \
    'COPY host-ca.crt /usr/local/share/host-ca.crt' \
    'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx' \
    'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca.crt npm_config_nodedir=/usr/local' \
    > "$ctx/Dockerfile"
  docker build -q -t skiff-test/node20:bookworm "$ctx" >/dev/null
fi

# Service images (services:create) with the official postgres and redis
# images' interface, on Debian's packages: the versions are Debian's.
service_image() {
  local tag="$1" dockerfile="$2"
  docker image inspect "$tag" >/dev/null 2>&1 && return 0
  echo "-----> Making image $tag (from $dockerfile)"
  docker build -q -t "$tag" -f "scripts/service-images/$dockerfile" scripts/service-images >/dev/null
}
service_image skiff-test/postgres:15 postgres.Dockerfile
service_image skiff-test/redis:7 redis.Dockerfile
