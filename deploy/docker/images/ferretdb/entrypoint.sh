#!/bin/bash
# FerretDB's settings from FERRETDB_* variables (as FerretDB's own image takes them); arguments are
# passed on (e.g. --log-level=debug).
set -euo pipefail
exec ferretdb --listen-addr="$FERRETDB_LISTEN_ADDR" --sqlite-url="$FERRETDB_SQLITE_URL" \
  --log-level="$FERRETDB_LOG_LEVEL" ${FERRETDB_DEBUG_ADDR:+--debug-addr="$FERRETDB_DEBUG_ADDR"} "$@"
