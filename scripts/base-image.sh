#!/usr/bin/env bash
# Makes a local Debian base image for tests (no registry can be reached here).
# Usage: scripts/base-image.sh [TAG]   (default skiff-test/base:bookworm)
# Cached by tag: a second run with the image present does nothing.
set -euo pipefail
tag="${1:-skiff-test/base:bookworm}"
if docker image inspect "$tag" >/dev/null 2>&1; then
  exit 0
fi
mirror="${SKIFF_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  # Use the host's own Debian mirror, whatever it is configured to be.
  mirror="$( { grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
    | grep -v security | head -1 | awk '{print $2}')"
fi
dir="$(mktemp -d /tmp/skiff-rootfs.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
echo "-----> Making base image $tag (debootstrap from ${mirror:-the default mirror})"
debootstrap --variant=minbase --include=busybox bookworm "$dir" ${mirror:+"$mirror"} >/tmp/skiff-debootstrap.log 2>&1 \
  || { tail -20 /tmp/skiff-debootstrap.log >&2; exit 1; }
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
tar -C "$dir" -c . | docker import --change 'CMD ["/bin/sh"]' - "$tag" >/dev/null
echo "-----> Base image $tag ready"
