#!/bin/bash
# mongo-ping [--host H] [--port P]: sends MongoDB's {ping: 1} (an OP_MSG) and prints 1 when the
# server answers ok: 1, for healthchecks in an image without a MongoDB shell.
# Installed as `mongosh` too, where it does only that: `mongosh --quiet --eval "db.adminCommand('ping').ok"`
# (the mongo image's usual healthcheck) works; any other use of it fails, saying so.
set -euo pipefail
host=127.0.0.1 port=27017 eval_arg=""
while [ $# -gt 0 ]; do
  case $1 in
    --host) host=$2; shift ;;
    --port) port=$2; shift ;;
    --eval) eval_arg=$2; shift ;;
    --quiet|--norc) ;;
    *) echo "$(basename "$0"): this image's MongoDB shell stand-in knows only --host, --port and --eval \"db.adminCommand('ping').ok\" (got $1)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$(basename "$0")" = mongosh ] && [[ $eval_arg != *"ping"* ]]; then
  echo "mongosh: this image's stand-in only answers --eval \"db.adminCommand('ping').ok\" (it is not MongoDB's shell)" >&2; exit 2
fi
exec 3<>"/dev/tcp/$host/$port"
# header (length 51, request 1, response-to 0, opcode 2013 OP_MSG), flags 0, section kind 0, then
# the BSON document {ping: 1 (int32), $db: "admin"} (30 bytes)
printf '\x33\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00' >&3
printf '\x1e\x00\x00\x00\x10ping\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00' >&3
len=$(timeout 5 head -c 4 <&3 | od -An -tu4 | tr -d ' ')
[ -n "$len" ] && [ "$len" -gt 4 ] && [ "$len" -lt 65536 ] || { echo "no answer from $host:$port" >&2; exit 1; }
reply=$(timeout 5 head -c $((len - 4)) <&3 | od -An -tx1 | tr -d ' \n')
# the element ok: 1.0 (a double)
if [[ $reply == *016f6b00000000000000f03f* ]]; then echo 1; else echo "$host:$port answered the ping without ok: 1" >&2; exit 1; fi
