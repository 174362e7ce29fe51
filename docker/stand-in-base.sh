#!/usr/bin/env bash
# Builds a stand-in for python:3.11-slim from Debian's own packages, for machines that reach
# Debian's mirror and PyPI but not Docker Hub: Debian 12 (bookworm, the official image's base)
# with Debian's Python 3.11 and a virtual environment at /usr/local, so /usr/local/bin/python and
# /usr/local/bin/pip exist as in the official image. The host's CA certificates go in too, since
# pip inside the build goes through the same network as the host (a TLS-inspecting proxy, say).
# Not for production: Railway builds on the official image.
# Usage: docker/stand-in-base.sh TAG
set -euo pipefail
tag="${1:?usage: docker/stand-in-base.sh TAG}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase --include=python3.11,python3.11-venv,python3-distutils,ca-certificates \
  bookworm "$root" "$mirror" >/dev/null
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
chroot "$root" python3.11 -m venv /usr/local
chroot "$root" /usr/local/bin/python -c "import ssl, ensurepip, venv"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/locale/*
tar --numeric-owner -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["python3"]' \
  - "$tag" >/dev/null
