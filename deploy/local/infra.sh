#!/usr/bin/env bash
# Local infrastructure as plain processes: Apache Kafka (KRaft), FerretDB (SQLite), Mailpit and
# Keycloak (the OpenID Connect provider staff and machine clients sign in with).
#
#   deploy/local/infra.sh install            build or download everything into the cache, once
#   deploy/local/infra.sh start [PART...]    install if needed, start, wait until ready
#   deploy/local/infra.sh stop [PART...]     stop what this script started
#   deploy/local/infra.sh status             which parts run, where, with which pid
#   deploy/local/infra.sh bin mailpit        install if needed, print the binary's path (tests
#                                            start a second Mailpit with other settings)
#
# PART is kafka, ferretdb, mailpit or keycloak (default: all four). Nothing here needs Docker.
# Environment: RBN_CACHE_DIR (default ~/.cache/rbn) holds the pinned builds and jars,
# RBN_DATA_DIR (default <repo>/.local) holds data, logs and pid files; RBN_KAFKA_PORT,
# RBN_KAFKA_CONTROLLER_PORT, RBN_FERRETDB_PORT, RBN_SMTP_PORT, RBN_MAILPIT_HTTP_PORT,
# RBN_KEYCLOAK_PORT move the ports. Keycloak: RBN_KEYCLOAK_DEMO=0 imports the realm without the
# demo users and the development client (see docs/sign-in.md), RBN_KEYCLOAK_JAVA_HOME picks the
# Java (21 or newer) it runs on, RBN_KEYCLOAK_HEAP its maximum heap (default 512m).
set -euo pipefail

KAFKA_VERSION=4.3.1        # keep in step with deploy/local/kafka/pom.xml and docker-compose.yml
FERRETDB_VERSION=v1.24.2   # keep in step with deploy/local/ferretdb/go.mod
MAILPIT_VERSION=v1.27.11   # keep in step with docker-compose.yml
KEYCLOAK_VERSION=26.4.7    # the distribution zip from Maven Central, checked against this sha256:
KEYCLOAK_SHA256=dd9834c023460be856f731423d86228c23b5d002194a2064642bec0cc6573eaa

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${RBN_CACHE_DIR:-$HOME/.cache/rbn}
DATA=${RBN_DATA_DIR:-$REPO/.local}
RUN="$DATA/run"
LOGS="$DATA/logs"

# Ports can be moved (RBN_KAFKA_PORT, ...) to run a second stack beside the first.
KAFKA_PORT=${RBN_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${RBN_KAFKA_CONTROLLER_PORT:-9093}
FERRETDB_PORT=${RBN_FERRETDB_PORT:-27017}
SMTP_PORT=${RBN_SMTP_PORT:-1025}
MAILPIT_HTTP_PORT=${RBN_MAILPIT_HTTP_PORT:-8025}
KEYCLOAK_PORT=${RBN_KEYCLOAK_PORT:-8080}

# The jar folder is keyed on the pom too, so a changed dependency list resolves anew.
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION-$(sha256sum "$HERE/kafka/pom.xml" | cut -c1-12)/libs"
# The FerretDB build is keyed on the wrapper and its patches, so a changed patch builds anew.
FERRETDB_KEY=$(cat "$HERE"/ferretdb/{go.mod,main.go} "$HERE"/ferretdb/patches/*.patch | sha256sum | cut -c1-12)
FERRETDB_BIN="$CACHE/ferretdb-$FERRETDB_VERSION-$FERRETDB_KEY/ferretdb-rbn"
MAILPIT_BIN="$CACHE/mailpit-$MAILPIT_VERSION-ui/mailpit"
# Keycloak is built ("kc.sh build") once for these build-time options; the folder is keyed on them.
# H2 in a file under the data dir (start adds a local cache: one node, no cluster discovery).
KEYCLOAK_BUILD_OPTS=(--db=dev-file --health-enabled=false --metrics-enabled=false)
KEYCLOAK_DIST="$CACHE/keycloak-$KEYCLOAK_VERSION-$(printf '%s ' "${KEYCLOAK_BUILD_OPTS[@]}" | sha256sum | cut -c1-12)"
KEYCLOAK_REALM_FILE="$REPO/deploy/keycloak/rbn-realm.json"          # what production imports too
KEYCLOAK_LOCAL_REALM_FILE="$HERE/keycloak/rbn-realm.local.json"      # demo users, rbn-dev client

say() { printf '\033[1m[infra]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[infra] error:\033[0m %s\n' "$*" >&2; exit 1; }

need() {  # need COMMAND WHY HOW
  command -v "$1" >/dev/null 2>&1 || die "'$1' is missing: $2. Install it with: $3"
}

check_java() {
  need java "Kafka runs on Java 17 or newer" "apt-get install -y openjdk-17-jre-headless"
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/.*java.specification.version = \([0-9]*\).*/\1/p')
  [ "${major:-0}" -ge 17 ] || die "Kafka $KAFKA_VERSION needs Java 17 or newer, found Java ${major:-unknown}"
}

java_major() {  # java_major JAVA_BINARY: its major version, or nothing
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/.*java.specification.version = \([0-9]*\).*/\1/p'
}

keycloak_java_home() {  # prints a JAVA_HOME with Java 21 or newer for Keycloak, or fails
  local java major best="" best_major=0
  if [ -n "${RBN_KEYCLOAK_JAVA_HOME:-}" ]; then
    major=$(java_major "$RBN_KEYCLOAK_JAVA_HOME/bin/java")
    [ "${major:-0}" -ge 21 ] || die "RBN_KEYCLOAK_JAVA_HOME=$RBN_KEYCLOAK_JAVA_HOME has no Java 21 or newer (found ${major:-none})"
    echo "$RBN_KEYCLOAK_JAVA_HOME"; return
  fi
  if java=$(command -v java 2>/dev/null); then  # the java on PATH, if it is new enough
    java=$(readlink -f "$java"); major=$(java_major "$java")
    if [ "${major:-0}" -ge 21 ]; then dirname "$(dirname "$java")"; return; fi
  fi
  for java in /usr/lib/jvm/*/bin/java; do  # else the newest installed JDK or JRE
    [ -x "$java" ] || continue
    major=$(java_major "$java")
    if [ "${major:-0}" -gt "$best_major" ]; then best_major=$major; best=$(dirname "$(dirname "$(readlink -f "$java")")"); fi
  done
  [ "$best_major" -ge 21 ] && { echo "$best"; return; }
  die "Keycloak $KEYCLOAK_VERSION needs Java 21 or newer; none on PATH nor in /usr/lib/jvm (found at most Java ${best_major}). Install one, e.g. apt-get install -y openjdk-21-jre-headless, or point RBN_KEYCLOAK_JAVA_HOME at it"
}

# ---------------------------------------------------------------- install

install_kafka() {
  [ -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] && return
  check_java
  need mvn "the Kafka broker jars are resolved from Maven Central with Maven" "apt-get install -y maven"
  say "resolving Apache Kafka $KAFKA_VERSION and its runtime dependencies from Maven Central (once)..."
  local tmp="$KAFKA_LIBS.partial"
  rm -rf "$tmp"
  mvn -q -B -f "$HERE/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
    || die "Maven could not resolve the Kafka jars (see the output above)"
  mkdir -p "$(dirname "$KAFKA_LIBS")" && mv "$tmp" "$KAFKA_LIBS"
  say "Kafka jars cached in $KAFKA_LIBS"
}

install_ferretdb() {
  [ -x "$FERRETDB_BIN" ] && return
  need go "FerretDB is built from the Go module proxy" "apt-get install -y golang (Go 1.24 or newer)"
  need git "FerretDB is patched with 'git apply' before it is built (deploy/local/ferretdb/patches)" "apt-get install -y git"
  say "building FerretDB $FERRETDB_VERSION from the Go module proxy, with the patches in deploy/local/ferretdb/patches (once, about a minute)..."
  local build="$FERRETDB_BIN.build" source
  rm -rf "$build" && mkdir -p "$build/wrapper"
  source=$(cd "$HERE/ferretdb" && go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$source" ] || die "could not download FerretDB $FERRETDB_VERSION from the Go module proxy"
  cp -r "$source" "$build/FerretDB" && chmod -R u+w "$build/FerretDB"
  for p in "$HERE"/ferretdb/patches/*.patch; do
    # the ceiling keeps git from taking a repository around the cache folder for this one
    (cd "$build/FerretDB" && GIT_CEILING_DIRECTORIES="$build" git apply -p1 "$p") || die "patch $(basename "$p") does not apply to FerretDB $FERRETDB_VERSION"
  done
  cp "$HERE"/ferretdb/{go.mod,go.sum,main.go} "$build/wrapper/"
  (cd "$build/wrapper" && go mod edit -replace "github.com/FerretDB/FerretDB=../FerretDB" \
    && GOFLAGS=-mod=mod go build -trimpath -o "$FERRETDB_BIN.partial" .) \
    || die "building FerretDB failed (see the output above)"
  mv "$FERRETDB_BIN.partial" "$FERRETDB_BIN"
  rm -rf "$build"
}

install_mailpit() {
  [ -x "$MAILPIT_BIN" ] && return
  need go "Mailpit is built from the Go module proxy" "apt-get install -y golang (Go 1.24 or newer)"
  local dir src
  dir=$(dirname "$MAILPIT_BIN")
  src="$dir.src"
  say "building Mailpit $MAILPIT_VERSION from the Go module proxy (once, a few minutes)..."
  local module
  module=$(go mod download -json "github.com/axllent/mailpit@$MAILPIT_VERSION" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') \
    || die "could not download the Mailpit module (see the output above)"
  rm -rf "$src" "$dir.partial" && cp -r "$module" "$src" && chmod -R u+w "$src"
  # The web UI's bundle is not part of the Go module: it is built from the module's own
  # package.json. Without npm, Mailpit still receives mail and serves its API.
  if command -v npm >/dev/null 2>&1; then
    say "building Mailpit's web UI with npm..."
    (cd "$src" && npm ci --no-audit --no-fund --loglevel=error && npm run build >/dev/null) \
      || die "building Mailpit's web UI failed (see the output above)"
  else
    say "npm is missing: Mailpit is built without its web UI (SMTP and API work)"
  fi
  mkdir -p "$dir.partial"
  (cd "$src" && go build -trimpath -o "$dir.partial/mailpit" .) || die "building Mailpit failed"
  rm -rf "$dir" "$src" && mv "$dir.partial" "$dir"
}

install_keycloak() {
  [ -f "$KEYCLOAK_DIST/.built" ] && return
  need mvn "the Keycloak distribution is fetched from Maven Central with Maven" "apt-get install -y maven"
  need python3 "the Keycloak distribution zip is unpacked with python3" "apt-get install -y python3"
  local java_home
  java_home=$(keycloak_java_home)
  say "downloading Keycloak $KEYCLOAK_VERSION from Maven Central (once, about 160 MB)..."
  local tmp="$KEYCLOAK_DIST.partial" zip
  rm -rf "$tmp" "$KEYCLOAK_DIST" && mkdir -p "$tmp"
  (cd "$tmp" && mvn -q -B dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" \
    -DoutputDirectory="$tmp") || die "Maven could not fetch the Keycloak distribution (see the output above)"
  zip="$tmp/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
  echo "$KEYCLOAK_SHA256  $zip" | sha256sum -c --quiet - \
    || die "the Keycloak $KEYCLOAK_VERSION zip does not have the pinned sha256 $KEYCLOAK_SHA256"
  python3 -m zipfile -e "$zip" "$tmp" && rm -f "$zip"
  chmod +x "$tmp/keycloak-$KEYCLOAK_VERSION/bin/"*.sh
  mv "$tmp/keycloak-$KEYCLOAK_VERSION" "$KEYCLOAK_DIST" && rm -rf "$tmp"
  say "building Keycloak for local use (${KEYCLOAK_BUILD_OPTS[*]}) on $java_home (once)..."
  JAVA_HOME="$java_home" "$KEYCLOAK_DIST/bin/kc.sh" build "${KEYCLOAK_BUILD_OPTS[@]}" >"$KEYCLOAK_DIST/build.log" 2>&1 \
    || { tail -n 30 "$KEYCLOAK_DIST/build.log" >&2; rm -rf "$KEYCLOAK_DIST"; die "building Keycloak failed"; }
  touch "$KEYCLOAK_DIST/.built"
  say "Keycloak cached in $KEYCLOAK_DIST"
}

# ---------------------------------------------------------------- processes

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_of() {  # the pid this script started for PART, if it still runs
  local f="$RUN/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

wait_ready() {  # wait_ready PART SECONDS CHECK...
  local part=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if [ -f "$RUN/$part.pid" ] && ! kill -0 "$(cat "$RUN/$part.pid")" 2>/dev/null; then
      tail -n 30 "$LOGS/$part.log" >&2 || true
      die "$part exited during start-up; its log is $LOGS/$part.log"
    fi
    [ $SECONDS -lt $deadline ] || die "$part was not ready after ${seconds}s; its log is $LOGS/$part.log"
    sleep 0.2
  done
}

launch() {  # launch PART COMMAND...: start in the background, detached, logging to a file
  local part=$1; shift
  mkdir -p "$RUN" "$LOGS"
  nohup setsid "$@" >>"$LOGS/$part.log" 2>&1 </dev/null &
  echo $! >"$RUN/$part.pid"
}

kafka_ready() { port_open $KAFKA_PORT && grep -q "Kafka Server started" "$LOGS/kafka.log" 2>/dev/null; }

start_kafka() {
  if port_open $KAFKA_PORT; then say "kafka already listens on 127.0.0.1:$KAFKA_PORT"; return; fi
  install_kafka; check_java
  local dir="$DATA/kafka" conf="$DATA/kafka/server.properties"
  mkdir -p "$dir/logs" "$LOGS"
  cat >"$conf" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/logs
# The project creates its topics itself, with the partition count it is configured for.
auto.create.topics.enable=false
num.partitions=${RBN_KAFKA_PARTITIONS:-6}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
  cat >"$dir/log4j2.properties" <<EOF
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache
logger.apache.level = WARN
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
EOF
  local java_opts=(-Xms256m "-Xmx${RBN_KAFKA_HEAP:-1g}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$dir/log4j2.properties")
  if [ ! -f "$dir/logs/meta.properties" ]; then
    say "formatting Kafka's KRaft storage in $dir (first start)"
    local cluster_id
    cluster_id=$(java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    java "${java_opts[@]}" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$conf" >>"$LOGS/kafka.log" 2>&1 || die "formatting Kafka storage failed; see $LOGS/kafka.log"
  fi
  # A fresh log file lets the readiness check see this start's "Kafka Server started" line.
  [ -f "$LOGS/kafka.log" ] && mv "$LOGS/kafka.log" "$LOGS/kafka.previous.log"
  say "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT"
  launch kafka java "${java_opts[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$conf"
  wait_ready kafka 90 kafka_ready
  say "kafka ready"
}

start_ferretdb() {
  if port_open $FERRETDB_PORT; then say "ferretdb already listens on 127.0.0.1:$FERRETDB_PORT"; return; fi
  install_ferretdb
  mkdir -p "$DATA/ferretdb"
  say "starting FerretDB $FERRETDB_VERSION (SQLite backend) on 127.0.0.1:$FERRETDB_PORT"
  # synchronous(normal) with SQLite's write-ahead log: a crash of FerretDB loses nothing, a power
  # cut may lose the last moments; about three times the write rate of the default (full).
  launch ferretdb "$FERRETDB_BIN" --listen-addr="127.0.0.1:$FERRETDB_PORT" \
    --sqlite-url="file:$DATA/ferretdb/?_pragma=synchronous(normal)" \
    --log-level="${RBN_FERRETDB_LOG_LEVEL:-warn}" \
    ${RBN_FERRETDB_DEBUG_ADDR:+--debug-addr="$RBN_FERRETDB_DEBUG_ADDR"}
  wait_ready ferretdb 30 port_open $FERRETDB_PORT
  say "ferretdb ready"
}

start_mailpit() {
  if port_open $SMTP_PORT; then say "mailpit already listens on 127.0.0.1:$SMTP_PORT"; return; fi
  install_mailpit
  mkdir -p "$DATA/mailpit"
  say "starting Mailpit $MAILPIT_VERSION: SMTP 127.0.0.1:$SMTP_PORT, web and API http://127.0.0.1:$MAILPIT_HTTP_PORT"
  # Chaos lets tests make the SMTP server answer 4xx/5xx through Mailpit's API.
  launch mailpit "$MAILPIT_BIN" --smtp "127.0.0.1:$SMTP_PORT" --listen "127.0.0.1:$MAILPIT_HTTP_PORT" \
    --database "$DATA/mailpit/mailpit.db" --max "${RBN_MAILPIT_MAX:-100000}" \
    --smtp-auth-accept-any --smtp-auth-allow-insecure --disable-version-check --enable-chaos --quiet
  wait_ready mailpit 30 port_open $MAILPIT_HTTP_PORT
  wait_ready mailpit 30 port_open $SMTP_PORT
  say "mailpit ready"
}

keycloak_ready() {
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$KEYCLOAK_PORT/realms/rbn/.well-known/openid-configuration" 2>/dev/null
}

start_keycloak() {
  if port_open $KEYCLOAK_PORT; then say "keycloak already listens on 127.0.0.1:$KEYCLOAK_PORT"; return; fi
  need curl "the readiness check of Keycloak asks its OpenID configuration" "apt-get install -y curl"
  install_keycloak
  local java_home home="$DATA/keycloak"
  java_home=$(keycloak_java_home)
  # Keycloak keeps its database, the import folder and temporary files under <home>/data. The
  # home here is the data dir's own, with the cached distribution linked in (bin is copied: kc.sh
  # takes its home from where it lies).
  mkdir -p "$home/data/import" "$LOGS"
  rm -rf "$home/bin" && cp -r "$KEYCLOAK_DIST/bin" "$home/bin"
  for d in lib conf themes providers; do ln -sfn "$KEYCLOAK_DIST/$d" "$home/$d"; done
  # The realm: the production file, with the development overlay unless RBN_KEYCLOAK_DEMO=0.
  local realm="$home/data/import/rbn-realm.json" files=("$KEYCLOAK_REALM_FILE")
  [ "${RBN_KEYCLOAK_DEMO:-1}" = 0 ] || files+=("$KEYCLOAK_LOCAL_REALM_FILE")
  python3 "$HERE/keycloak/realm.py" "${files[@]}" >"$realm.partial" || die "could not compose the realm from ${files[*]}"
  if [ ! -f "$home/admin-password" ]; then
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$home/admin-password")
    rm -rf "$home/data/h2"  # an admin made with another password could not be used
  fi
  # Keycloak imports a realm only once; a changed realm file makes the local database anew.
  if [ -d "$home/data/h2" ] && ! cmp -s "$realm.partial" "$home/data/imported-realm.json"; then
    say "the realm files changed since Keycloak's local database was made: making it anew (what was changed by hand in Keycloak is reset)"
    rm -rf "$home/data/h2"
  fi
  mv "$realm.partial" "$realm"
  say "starting Keycloak $KEYCLOAK_VERSION on http://127.0.0.1:$KEYCLOAK_PORT (realm rbn, Java $(java_major "$java_home/bin/java"); 20 to 40 s)"
  (
    export JAVA_HOME="$java_home" JAVA_OPTS_KC_HEAP="-Xms64m -Xmx${RBN_KEYCLOAK_HEAP:-512m}"
    # Class data sharing: the first run writes an archive of the loaded classes at exit, later
    # starts map it (a few seconds faster).
    export JAVA_OPTS_APPEND="-XX:+AutoCreateSharedArchive -XX:SharedArchiveFile=$home/data/keycloak-$KEYCLOAK_VERSION.jsa"
    export KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD
    KC_BOOTSTRAP_ADMIN_PASSWORD=$(cat "$home/admin-password")
    # start (not start-dev) with plain HTTP on the loopback; the issuer is pinned to 127.0.0.1 so
    # that tokens fetched through localhost carry the same issuer.
    launch keycloak "$home/bin/kc.sh" start --optimized --http-enabled=true --http-host=127.0.0.1 \
      --http-port="$KEYCLOAK_PORT" --hostname="${RBN_KEYCLOAK_HOSTNAME:-http://127.0.0.1:$KEYCLOAK_PORT}" \
      --hostname-strict=false --cache=local --import-realm --log-console-color=false
  )
  wait_ready keycloak 180 keycloak_ready
  cp "$realm" "$home/data/imported-realm.json"
  say "keycloak ready (admin console http://127.0.0.1:$KEYCLOAK_PORT/admin, user admin, password in $home/admin-password)"
}

part_port() { case $1 in kafka) echo "$KAFKA_PORT" ;; ferretdb) echo "$FERRETDB_PORT" ;; mailpit) echo "$SMTP_PORT" ;; keycloak) echo "$KEYCLOAK_PORT" ;; esac; }

stop_part() {
  local part=$1 pid
  if ! pid=$(pid_of "$part"); then
    rm -f "$RUN/$part.pid"
    if port_open "$(part_port "$part")"; then
      die "$part listens on 127.0.0.1:$(part_port "$part") but was not started from $DATA; stop it where it was started"
    fi
    return 0
  fi
  say "stopping $part (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  # Keycloak's JVM writes its class-data archive when it stops the first time (some seconds more).
  local seconds=30; [ "$part" = keycloak ] && seconds=120
  for _ in $(seq 1 $((seconds * 5))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "$part did not stop within ${seconds}s; killing it"
    # launch made it the leader of its own process group: kill what it started too (kc.sh's java)
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$part.pid"
}

status_part() {
  local part=$1 port=$2 pid
  if pid=$(pid_of "$part"); then
    printf '%-9s running  pid %-7s 127.0.0.1:%s\n' "$part" "$pid" "$port"
  elif port_open "$port"; then
    printf '%-9s running  (not started by this script) 127.0.0.1:%s\n' "$part" "$port"
  else
    printf '%-9s stopped\n' "$part"
  fi
}

parts() { if [ $# -eq 0 ]; then echo kafka ferretdb mailpit keycloak; else echo "$@"; fi; }

cmd=${1:-}; shift || true
case "$cmd" in
  install) for p in $(parts "$@"); do "install_$p"; done ;;
  start)   for p in $(parts "$@"); do "start_$p"; done ;;
  stop)    for p in $(parts "$@"); do stop_part "$p"; done ;;
  restart) for p in $(parts "$@"); do stop_part "$p"; "start_$p"; done ;;
  bin)
    [ "${1:-}" = mailpit ] || die "bin knows only mailpit"
    install_mailpit >&2; echo "$MAILPIT_BIN" ;;
  status)
    status_part kafka $KAFKA_PORT; status_part ferretdb $FERRETDB_PORT; status_part mailpit $SMTP_PORT
    status_part keycloak $KEYCLOAK_PORT
    echo "data: $DATA   cache: $CACHE" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
