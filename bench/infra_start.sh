#!/usr/bin/env bash
# Cold and warm start of the local infrastructure, and its memory at rest, on ports beside the
# usual ones (so it can run while a stack is up). Cold: empty cache, empty Go and Maven caches,
# i.e. what a fresh machine does. Warm: everything cached, data formatted.
#
#   bench/infra_start.sh            prints a small table
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/rbn-bench-infra.XXXXXX)
export RBN_CACHE_DIR=$WORK/cache RBN_DATA_DIR=$WORK/data
export RBN_KAFKA_PORT=19092 RBN_KAFKA_CONTROLLER_PORT=19093 RBN_FERRETDB_PORT=37017
export RBN_SMTP_PORT=11025 RBN_MAILPIT_HTTP_PORT=18025
export GOMODCACHE=$WORK/gomod GOCACHE=$WORK/gocache MAVEN_OPTS="-Dmaven.repo.local=$WORK/m2"
INFRA="$REPO/deploy/local/infra.sh"
trap '"$INFRA" stop >/dev/null 2>&1 || true; chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

seconds() { local t0=$SECONDS; "$@" >"$WORK/out.log" 2>&1 || { cat "$WORK/out.log"; exit 1; }; echo $((SECONDS - t0)); }

echo "[bench] cold start: building FerretDB and Mailpit, resolving Kafka (no caches)..." >&2
cold=$(seconds "$INFRA" start)
"$INFRA" stop >/dev/null 2>&1
echo "[bench] warm start..." >&2
warm=$(seconds "$INFRA" start)
sleep 20  # let them settle before reading their memory
rss() { ps -o rss= -p "$(cat "$RBN_DATA_DIR/run/$1.pid")" | awk '{printf "%.0f", $1/1024}'; }
printf '| measure | value |\n|---|---|\n'
printf '| cold start (install + start, empty caches) | %s s |\n' "$cold"
printf '| warm start (cached, data formatted) | %s s |\n' "$warm"
printf '| Kafka resident memory at rest | %s MiB |\n' "$(rss kafka)"
printf '| FerretDB resident memory at rest | %s MiB |\n' "$(rss ferretdb)"
printf '| Mailpit resident memory at rest | %s MiB |\n' "$(rss mailpit)"
