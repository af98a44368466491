#!/usr/bin/env bash
# The images tests build FROM, made locally (no registry can be reached here)
# and cached by tag: the Debian base, and a Node one built on it with Debian's
# nodejs and npm (plain-HTTP apt works from containers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/base-image.sh skiff-test/base:bookworm
if ! docker image inspect skiff-test/node:bookworm >/dev/null 2>&1; then
  echo "-----> Making image skiff-test/node:bookworm (Debian's nodejs and npm)"
  printf '%s\n' 'FROM skiff-test/base:bookworm' \
    'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*' \
    | docker build -q -t skiff-test/node:bookworm - >/dev/null
fi
