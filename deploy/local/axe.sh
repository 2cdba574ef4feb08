#!/usr/bin/env bash
# Fetches axe-core (the accessibility checker the portal's browser tests run on every page) from
# the npm registry, once, pinned by version and by the registry's sha512, into the cache.
# Prints the path of axe.min.js.
set -euo pipefail

AXE_VERSION=4.14.1
AXE_SHA512=FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==
CACHE=${RBN_CACHE_DIR:-$HOME/.cache/rbn}
TARGET="$CACHE/axe-core-$AXE_VERSION"

if [ ! -f "$TARGET/package/axe.min.js" ]; then
  command -v npm >/dev/null || { echo "[axe] npm is missing: apt-get install -y npm (or Node.js)" >&2; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
  tarball="$work/axe-core-$AXE_VERSION.tgz"
  actual=$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)
  [ "$actual" = "$AXE_SHA512" ] || { echo "[axe] axe-core-$AXE_VERSION.tgz does not match its pinned sha512" >&2; exit 1; }
  mkdir -p "$TARGET.partial" && tar -xzf "$tarball" -C "$TARGET.partial"
  rm -rf "$TARGET" && mv "$TARGET.partial" "$TARGET"
  echo "[axe] axe-core $AXE_VERSION installed into $TARGET" >&2
fi
echo "$TARGET/package/axe.min.js"
