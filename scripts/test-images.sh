#!/usr/bin/env bash
# The images tests build FROM, made locally (no registry can be reached here)
# and cached by tag: the Debian base, and a Node one built on it with Debian's
# nodejs and npm, a Python one with Debian's python3 and pip, and one with
# systemd as PID 1 (plain-HTTP apt works from containers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/base-image.sh skiff-test/base:bookworm
if ! docker image inspect skiff-test/node:bookworm >/dev/null 2>&1; then
  echo "-----> Making image skiff-test/node:bookworm (Debian's nodejs and npm)"
  printf '%s\n' 'FROM skiff-test/base:bookworm' \
    'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*' \
    | docker build -q -t skiff-test/node:bookworm - >/dev/null
fi
if ! docker image inspect skiff-test/python:bookworm >/dev/null 2>&1; then
  echo "-----> Making image skiff-test/python:bookworm (Debian's python3 and pip)"
  # pip installs into the system Python here, as it does in the official python images.
  printf '%s\n' 'FROM skiff-test/base:bookworm' \
    'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-pip ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*' \
    'ENV PIP_BREAK_SYSTEM_PACKAGES=1' \
    | docker build -q -t skiff-test/python:bookworm - >/dev/null
fi
if ! docker image inspect skiff-test/systemd:bookworm >/dev/null 2>&1; then
  echo "-----> Making image skiff-test/systemd:bookworm (systemd as PID 1, for the systemd runtime's tests)"
  printf '%s\n' 'FROM skiff-test/base:bookworm' \
    'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus >/dev/null && rm -rf /var/lib/apt/lists/*' \
    'CMD ["/lib/systemd/systemd"]' \
    | docker build -q -t skiff-test/systemd:bookworm - >/dev/null
fi
