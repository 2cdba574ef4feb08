#!/usr/bin/env bash
# Installs Chromium from Debian's packages, once, for the browser tests of the response page.
# Idempotent: does nothing when a chromium binary is already on the PATH.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "[chromium] $(chromium --version 2>/dev/null || echo present)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "[chromium] not installed; run as root: apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
echo "[chromium] installed: $(chromium --version 2>/dev/null)"
