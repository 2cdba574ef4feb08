#!/usr/bin/env bash
# A Docker engine, the docker compose v2 (and buildx) CLI plugins and local images, for the compose
# test and testcontainers on a machine that reaches no image registry.
#
#   deploy/docker/engine.sh start          start a Docker engine (installs Debian's docker.io if dockerd is missing)
#   deploy/docker/engine.sh stop           stop the dockerd this script started (others are left alone)
#   deploy/docker/engine.sh status         whether an engine answers, plugins, local images
#   deploy/docker/engine.sh compose        build (once) and install the compose v2 and buildx CLI plugins
#   deploy/docker/engine.sh images [NAME...]  build the local images (base python jre kafka mailpit
#                                          ferretdb keycloak postgres services; default: all), skipping those
#                                          already built from the same inputs
#   deploy/docker/engine.sh image-env      the compose image variables for these images (NAME=image lines)
#   deploy/docker/engine.sh all            start, compose, images
#
# Operators use the official images; these are stand-ins built here from pinned sources (see
# deploy/docker/README.md). Environment: RBN_CACHE_DIR (default ~/.cache/rbn) holds the builds,
# RBN_DOCKERD_TIMEOUT (default 60) how long start waits, RBN_SERVICES_TAG the services' image tag
# (default rbn-arnsberg:<the release's version>), RBN_BUILD_CA the CA bundle builds reach PyPI with (default: pip's).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
INFRA="$REPO/deploy/local/infra.sh"
CACHE=${RBN_CACHE_DIR:-$HOME/.cache/rbn}
DCACHE="$CACHE/docker"
DOCKERD_PID="$DCACHE/dockerd.pid"
DOCKERD_LOG="$DCACHE/dockerd.log"

say() { printf '\033[1m[docker]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[docker] error:\033[0m %s\n' "$*" >&2; exit 1; }

need() {  # need COMMAND WHY HOW
  command -v "$1" >/dev/null 2>&1 || die "'$1' is missing: $2. Install it with: $3"
}

# The versions deploy/local/infra.sh pins are read from it, so that the images run what the
# plain-process stack runs.
infra_var() {
  local v
  v=$(sed -n "s/^$1=\([^ ]*\).*/\1/p" "$INFRA")
  [ -n "$v" ] || die "could not read $1 from $INFRA"
  echo "$v"
}
KAFKA_VERSION=$(infra_var KAFKA_VERSION)
FERRETDB_VERSION=$(infra_var FERRETDB_VERSION)
MAILPIT_VERSION=$(infra_var MAILPIT_VERSION)
KEYCLOAK_VERSION=$(infra_var KEYCLOAK_VERSION)
KEYCLOAK_SHA256=$(infra_var KEYCLOAK_SHA256)

COMPOSE_VERSION=v2.40.3   # keep in step with deploy/docker/compose/go.mod
BUILDX_VERSION=v0.29.1    # the version compose $COMPOSE_VERSION requires; in go.mod too
DEBIAN_SUITE=bookworm
DOCKER_IO_PACKAGE=docker.io  # Debian's engine: dockerd 20.10.24 on bookworm, with containerd and runc
JDK_HOME=${RBN_IMAGE_JDK_HOME:-}  # the JDK the images' Java runtime is linked from (default: newest >= 21)

# The services' image carries the release's version (the root pyproject.toml's, CHANGELOG.md).
RBN_RELEASE=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -n 1)
SERVICES_TAG=${RBN_SERVICES_TAG:-rbn-arnsberg:$RBN_RELEASE}
BASE_TAG=rbn-local/base:$DEBIAN_SUITE
PYTHON_TAG=rbn-local/python:3.11-slim
KAFKA_TAG=rbn-local/kafka:$KAFKA_VERSION
MAILPIT_TAG=rbn-local/mailpit:$MAILPIT_VERSION
FERRETDB_TAG=rbn-local/ferretdb:${FERRETDB_VERSION#v}
KEYCLOAK_TAG=rbn-local/keycloak:$KEYCLOAK_VERSION
POSTGRES_TAG=rbn-local/postgres:15

hash12() { sha256sum | cut -c1-12; }

# ---------------------------------------------------------------- engine

apt_install() {  # apt_install PACKAGE WHY: installs a Debian package as root, saying why
  [ "$(id -u)" -eq 0 ] || die "$2, but only root can: apt-get install -y $1"
  need apt-get "$1 is installed from Debian's packages" "a Debian or Ubuntu machine"
  say "$2 with apt-get..."
  local log="$DCACHE/apt-$1.log"
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$1" >"$log" 2>&1; } \
    || { apt-get update -q >>"$log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$1" >>"$log" 2>&1; } \
    || { tail -n 20 "$log" >&2; die "apt-get could not install $1 (log: $log)"; }
  say "installed $1 $(dpkg-query -W -f '${Version}' "$1")"
}

engine_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

our_dockerd() {  # the pid of the dockerd this script started, if it still runs
  [ -f "$DOCKERD_PID" ] && kill -0 "$(cat "$DOCKERD_PID")" 2>/dev/null && cat "$DOCKERD_PID"
}

start_engine() {
  if engine_answers; then
    say "a Docker engine already answers (server $(docker version -f '{{.Server.Version}}' 2>/dev/null), client $(command -v docker))"
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "no Docker engine answers, and dockerd can only be started as root here; run this as root or start an engine yourself"
  command -v dockerd >/dev/null 2>&1 \
    || apt_install "$DOCKER_IO_PACKAGE" "dockerd is missing: installing Debian's $DOCKER_IO_PACKAGE package (dockerd, containerd, runc, tini, iptables; about 150 MB, once)"
  # The package may bring its own client (/usr/bin/docker); whichever docker is first on PATH is used.
  need docker "the Docker client talks to the engine" "apt-get install -y $DOCKER_IO_PACKAGE"
  mkdir -p "$DCACHE"
  local pid
  if ! pid=$(our_dockerd); then
    local args=(--storage-driver=overlay2 --pidfile="$DOCKERD_PID")
    # Without systemd as init (containers, VMs like this one) the cgroup driver must be cgroupfs.
    [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || args+=(--exec-opt native.cgroupdriver=cgroupfs)
    say "starting dockerd $(dockerd --version | sed 's/^Docker version \([^,]*\).*/\1/') (${args[*]}); log: $DOCKERD_LOG"
    rm -f "$DOCKERD_PID"
    nohup setsid dockerd "${args[@]}" >>"$DOCKERD_LOG" 2>&1 </dev/null &
    pid=$!
  else
    say "dockerd (pid $pid) started earlier does not answer yet; waiting for it"
  fi
  local seconds=${RBN_DOCKERD_TIMEOUT:-60} deadline
  deadline=$((SECONDS + seconds))
  until docker info >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      die "dockerd exited during start-up; its log is $DOCKERD_LOG"
    fi
    [ $SECONDS -lt $deadline ] || die "dockerd did not answer 'docker info' within ${seconds}s; its log is $DOCKERD_LOG"
    sleep 0.3
  done
  [ -f "$DOCKERD_PID" ] || echo "$pid" >"$DOCKERD_PID"
  say "engine ready: $(docker info -f 'server {{.ServerVersion}}, storage {{.Driver}}, cgroup driver {{.CgroupDriver}}') (dockerd pid $(cat "$DOCKERD_PID"))"
}

stop_engine() {
  local pid
  if ! pid=$(our_dockerd); then
    rm -f "$DOCKERD_PID"
    if engine_answers; then say "a Docker engine answers, but not one this script started: left alone"
    else say "no dockerd started by this script runs"; fi
    return 0
  fi
  say "stopping dockerd (pid $pid; its containers stop with it)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then say "dockerd did not stop within 30s; killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$DOCKERD_PID"
}

require_engine() { engine_answers || die "no Docker engine answers; run: $0 start"; }

# ---------------------------------------------------------------- compose and buildx plugins

PLUGIN_KEY=$(cat "$HERE/compose/go.mod" "$HERE/compose/go.sum" | hash12)
PLUGIN_BUILD="$DCACHE/plugins-compose-$COMPOSE_VERSION-buildx-$BUILDX_VERSION-$PLUGIN_KEY"

plugin_dir() {  # where the docker CLI looks for plugins: system-wide as root, else the user's config
  if [ "$(id -u)" -eq 0 ]; then echo /usr/local/lib/docker/cli-plugins
  else echo "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"; fi
}

build_plugins() {
  [ -x "$PLUGIN_BUILD/docker-compose" ] && [ -x "$PLUGIN_BUILD/docker-buildx" ] && return
  need go "the compose and buildx plugins are built from the Go module proxy" "apt-get install -y golang (Go 1.24 or newer)"
  say "building docker compose $COMPOSE_VERSION and buildx $BUILDX_VERSION from the Go module proxy (once, several minutes)..."
  local tmp="$PLUGIN_BUILD.partial"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$HERE/compose" \
    && GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
         -o "$tmp/docker-compose" github.com/docker/compose/v2/cmd \
    && GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w -X github.com/docker/buildx/version.Version=$BUILDX_VERSION -X github.com/docker/buildx/version.Package=github.com/docker/buildx" \
         -o "$tmp/docker-buildx" github.com/docker/buildx/cmd/buildx) \
    || die "building the compose/buildx plugins failed (see the output above)"
  rm -rf "$PLUGIN_BUILD" && mv "$tmp" "$PLUGIN_BUILD"
}

install_plugins() {
  build_plugins
  local dir p
  dir=$(plugin_dir)
  mkdir -p "$dir"
  for p in docker-compose docker-buildx; do
    cmp -s "$PLUGIN_BUILD/$p" "$dir/$p" && continue
    install -m 0755 "$PLUGIN_BUILD/$p" "$dir/$p.partial" && mv "$dir/$p.partial" "$dir/$p"
    say "installed $dir/$p"
  done
  need docker "the plugins are run through the docker client" "$0 start"
  docker compose version >/dev/null 2>&1 || die "'docker compose version' fails although $dir/docker-compose is installed"
  say "$(docker compose version), $(docker buildx version | cut -d' ' -f1-2)"
}

# ---------------------------------------------------------------- images

image_key() {  # the source key an image was built from, or nothing
  docker image inspect -f '{{ index .Config.Labels "rbn.source-key" }}' "$1" 2>/dev/null || true
}

up_to_date() {  # up_to_date TAG KEY: says so and succeeds when TAG was built from KEY
  if [ "$(image_key "$1")" = "$2" ]; then say "$1 is up to date (source key $2)"; return 0; fi
  return 1
}

build() {  # build TAG KEY CONTEXT [docker build arguments...]
  local tag=$1 key=$2 ctx=$3; shift 3
  say "building $tag (source key $key)..."
  local started=$SECONDS
  docker build -q --label "rbn.source-key=$key" -t "$tag" "$@" "$ctx" >"$DCACHE/build-${tag//[\/:]/_}.log" 2>&1 \
    || { tail -n 40 "$DCACHE/build-${tag//[\/:]/_}.log" >&2; die "building $tag failed (log: $DCACHE/build-${tag//[\/:]/_}.log)"; }
  rm -rf "$ctx"
  say "$tag built in $((SECONDS - started))s, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}')"
}

context() {  # context NAME: a fresh build context with deploy/docker/images/NAME in it; prints its path
  local dir="$DCACHE/context/$1"
  rm -rf "$dir" && mkdir -p "$dir" && cp -r "$HERE/images/$1/." "$dir/"
  echo "$dir"
}

src_key() {  # src_key NAME EXTRA...: hash of deploy/docker/images/NAME and the extra strings
  local name=$1; shift
  { (cd "$HERE/images/$name" && find . -type f | LC_ALL=C sort | xargs sha256sum); printf '%s\n' "$@"; } | hash12
}

# The Debian mirror apt uses here, for debootstrap and the base image's sources.
apt_mirror() {
  local uri
  uri=$( { cat /etc/apt/sources.list 2>/dev/null; cat /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null; } \
    | awk -v suite="$DEBIAN_SUITE" '
        /^deb / && $3 == suite { print $2; exit }
        /^URIs:/ { uris = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) { print uris; exit } }
        /^$/ { uris = "" }')
  [ -n "$uri" ] || die "no apt source for Debian $DEBIAN_SUITE in /etc/apt/sources.list*; debootstrap needs the mirror apt uses"
  echo "${uri%/}"
}

image_base() {
  local mirror security key tarball
  mirror=$(apt_mirror)
  security="${mirror%/debian}/debian-security"
  command -v debootstrap >/dev/null 2>&1 \
    || apt_install debootstrap "debootstrap is missing: installing Debian's debootstrap package (the base image is made with it)"
  key=$(src_key base "$DEBIAN_SUITE" "$mirror" "$(dpkg-query -W -f '${Version}' debootstrap)")
  up_to_date "$BASE_TAG" "$key" && return
  tarball="$DCACHE/base/debian-$DEBIAN_SUITE-minbase-$key.tar"
  if [ ! -f "$tarball" ]; then
    local root="$DCACHE/base/rootfs-$key"
    say "debootstrap --variant=minbase $DEBIAN_SUITE from $mirror (once, a few minutes)..."
    rm -rf "$root" && mkdir -p "$root"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$mirror" >"$DCACHE/base/debootstrap.log" 2>&1 \
      || { tail -n 20 "$DCACHE/base/debootstrap.log" >&2; die "debootstrap failed (log: $DCACHE/base/debootstrap.log)"; }
    # apt in the image: the same mirror with updates and security, no recommends, no caches kept.
    rm -f "$root/etc/apt/sources.list"
    sed -e "s|@MIRROR@|$mirror|" -e "s|@SECURITY@|$security|" -e "s|@SUITE@|$DEBIAN_SUITE|g" \
      "$HERE/images/base/debian.sources" >"$root/etc/apt/sources.list.d/debian.sources"
    cp "$HERE/images/base/apt.conf" "$root/etc/apt/apt.conf.d/90rbn-image"
    cp "$HERE/images/base/dpkg.cfg" "$root/etc/dpkg/dpkg.cfg.d/90rbn-image-slim"
    # what that configuration keeps out of later installs, out of the base too
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/*
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log "$root"/tmp/* "$root"/root/.bash_history
    tar --numeric-owner -C "$root" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
    rm -rf "$root"
  fi
  say "importing $BASE_TAG from $(basename "$tarball") ($(du -m "$tarball" | cut -f1) MB)"
  docker import --change 'CMD ["bash"]' --change "LABEL rbn.source-key=$key" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    "$tarball" "$BASE_TAG" >/dev/null || die "docker import of $tarball failed"
}

image_python() {
  local key; key=$(src_key python "$(image_key "$BASE_TAG")")
  up_to_date "$PYTHON_TAG" "$key" && return
  build "$PYTHON_TAG" "$key" "$(context python)" --build-arg "BASE=$BASE_TAG"
}

# One Java runtime for the Kafka and Keycloak images (Keycloak needs Java 21 or newer, bookworm has
# only 17): jlink-ed from the machine's Temurin JDK, the same Java infra.sh runs Keycloak on.
jdk_home() {
  if [ -n "$JDK_HOME" ]; then echo "$JDK_HOME"; return; fi
  local j best="" best_v=0 v
  for j in /usr/lib/jvm/*/bin/jlink /opt/*/bin/jlink /opt/java/*/bin/jlink; do
    [ -x "$j" ] || continue
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$(dirname "$(dirname "$j")")/release" 2>/dev/null)
    if [ "${v:-0}" -gt "$best_v" ]; then best_v=$v; best=$(dirname "$(dirname "$(readlink -f "$j")")"); fi
  done
  [ "$best_v" -ge 21 ] || die "the Kafka and Keycloak images need a JDK 21 or newer with jlink (found at most ${best_v}); install one or set RBN_IMAGE_JDK_HOME"
  echo "$best"
}

JRE_MODULES_LEFT_OUT='^(jdk\.jlink|jdk\.jpackage|jdk\.jshell|jdk\.javadoc|jdk\.jconsole|jdk\.jdeps|jdk\.jartool|jdk\.editpad|jdk\.jstatd|jdk\.hotspot\.agent|jdk\.incubator\..*|jdk\.internal\.ed|jdk\.internal\.le|jdk\.internal\.opt)$'

jre_dir() {  # builds (once) and prints the linked runtime
  local jdk version dir
  jdk=$(jdk_home)
  version=$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$jdk/release")
  dir="$DCACHE/jre-$version-$(printf '%s %s' "$jdk" "$JRE_MODULES_LEFT_OUT" | hash12)"
  if [ ! -x "$dir/bin/java" ]; then
    say "linking a Java $version runtime for the images from $jdk with jlink (once, about a minute)..."
    rm -rf "$dir.partial"
    "$jdk/bin/jlink" --add-modules "$("$jdk/bin/java" --list-modules | sed 's/@.*//' | grep -vE "$JRE_MODULES_LEFT_OUT" | paste -sd,)" \
      --strip-debug --no-man-pages --no-header-files --output "$dir.partial" >/dev/null \
      || die "jlink failed for $jdk"
    mv "$dir.partial" "$dir"
  fi
  echo "$dir"
}

jre_tag() { echo "rbn-local/jre:$(sed -n 's/^JAVA_VERSION="\(.*\)"/\1/p' "$(jdk_home)/release")"; }

image_jre() {
  local jre tag key ctx
  jre=$(jre_dir); tag=$(jre_tag)
  key=$(src_key jre "$(image_key "$BASE_TAG")" "$(basename "$jre")")
  up_to_date "$tag" "$key" && return
  ctx=$(context jre) && cp -al "$jre" "$ctx/jre"
  build "$tag" "$key" "$ctx" --build-arg "BASE=$BASE_TAG"
}

# The Kafka image: the jars infra.sh runs, plus kafka-tools for the command-line tools the official
# image has (kafka-broker-api-versions.sh, kafka-topics.sh, ...), resolved by deploy/docker/kafka/pom.xml.
KAFKA_LIBS="$DCACHE/kafka-$KAFKA_VERSION-$(sha256sum "$HERE/kafka/pom.xml" | cut -c1-12)/libs"

kafka_libs() {
  [ -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] && return
  need mvn "the Kafka jars are resolved from Maven Central with Maven" "apt-get install -y maven"
  say "resolving Apache Kafka $KAFKA_VERSION with kafka-tools from Maven Central (once)..."
  local tmp="$KAFKA_LIBS.partial"
  rm -rf "$tmp"
  mvn -q -B -f "$HERE/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$DCACHE/mvn-kafka.log" 2>&1 \
    || { tail -n 30 "$DCACHE/mvn-kafka.log" >&2; die "Maven could not resolve the Kafka jars (log: $DCACHE/mvn-kafka.log)"; }
  mkdir -p "$(dirname "$KAFKA_LIBS")" && mv "$tmp" "$KAFKA_LIBS"
}

image_kafka() {
  kafka_libs
  local key ctx
  key=$(src_key kafka "$(image_key "$(jre_tag)")" "$(basename "$(dirname "$KAFKA_LIBS")")" "$(ls "$KAFKA_LIBS")")
  up_to_date "$KAFKA_TAG" "$key" && return
  ctx=$(context kafka) && cp -al "$KAFKA_LIBS" "$ctx/libs"
  python3 "$HERE/images/kafka/tools.py" check "$ctx/libs" "$ctx/bin" || die "a Kafka tool's main class is missing from the jars"
  build "$KAFKA_TAG" "$key" "$ctx" --build-arg "JRE=$(jre_tag)" --build-arg "KAFKA_VERSION=$KAFKA_VERSION"
}

image_go_binary() {  # image_go_binary NAME TAG BINARY
  local name=$1 tag=$2 bin=$3 key ctx
  [ -x "$bin" ] || die "$bin is missing after infra.sh built it"
  key=$(src_key "$name" "$(image_key "$BASE_TAG")" "$(sha256sum <"$bin" | cut -c1-64)")
  up_to_date "$tag" "$key" && return
  ctx=$(context "$name") && cp -l "$bin" "$ctx/$name"
  build "$tag" "$key" "$ctx" --build-arg "BASE=$BASE_TAG"
}

image_mailpit() {
  local bin
  bin=$("$INFRA" bin mailpit) || die "infra.sh could not build Mailpit"
  image_go_binary mailpit "$MAILPIT_TAG" "$bin"
}

image_ferretdb() {
  "$INFRA" install ferretdb || die "infra.sh could not build FerretDB"
  # the path infra.sh builds it to (keyed on its wrapper and patches)
  local key
  key=$(cat "$REPO"/deploy/local/ferretdb/{go.mod,main.go} "$REPO"/deploy/local/ferretdb/patches/*.patch | hash12)
  image_go_binary ferretdb "$FERRETDB_TAG" "$CACHE/ferretdb-$FERRETDB_VERSION-$key/ferretdb-rbn"
}

# Keycloak: the distribution zip infra.sh fetches (Maven Central, the sha256 pinned there), unpacked
# as it comes (not built for local use as infra.sh's is), like the official image.
keycloak_dist() {
  local dir="$DCACHE/keycloak-$KEYCLOAK_VERSION-${KEYCLOAK_SHA256:0:12}"
  if [ ! -d "$dir" ]; then
    need mvn "the Keycloak distribution is fetched from Maven Central with Maven" "apt-get install -y maven"
    local tmp="$dir.partial" zip
    rm -rf "$tmp" && mkdir -p "$tmp"
    say "fetching the Keycloak $KEYCLOAK_VERSION distribution from Maven Central (or Maven's local cache)..."
    (cd "$tmp" && mvn -q -B dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" \
      -DoutputDirectory="$tmp") >"$DCACHE/mvn-keycloak.log" 2>&1 \
      || { tail -n 30 "$DCACHE/mvn-keycloak.log" >&2; die "Maven could not fetch the Keycloak distribution (log: $DCACHE/mvn-keycloak.log)"; }
    zip="$tmp/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
    echo "$KEYCLOAK_SHA256  $zip" | sha256sum -c --quiet - >&2 \
      || die "the Keycloak $KEYCLOAK_VERSION zip does not have the pinned sha256 $KEYCLOAK_SHA256"
    python3 -m zipfile -e "$zip" "$tmp" && rm -f "$zip"
    chmod +x "$tmp/keycloak-$KEYCLOAK_VERSION/bin/"*.sh
    mv "$tmp/keycloak-$KEYCLOAK_VERSION" "$dir" && rm -rf "$tmp"
  fi
  echo "$dir"
}

image_keycloak() {
  local dist key ctx
  dist=$(keycloak_dist)
  key=$(src_key keycloak "$(image_key "$(jre_tag)")" "$KEYCLOAK_VERSION" "$KEYCLOAK_SHA256")
  up_to_date "$KEYCLOAK_TAG" "$key" && return
  # a copy, not links: the modes are set here (group 0 may write, as in the official image) rather
  # than in a layer of their own, which would hold every file a second time
  ctx=$(context keycloak) && cp -r "$dist" "$ctx/keycloak"
  mkdir -p "$ctx/keycloak/data/import" && chmod -R g+rwX "$ctx/keycloak"
  build "$KEYCLOAK_TAG" "$key" "$ctx" --build-arg "JRE=$(jre_tag)"
}

# Keycloak's database in the compose test: Debian's PostgreSQL 15 behind the official image's
# interface (deploy/docker/images/postgres).
image_postgres() {
  local key ctx
  key=$(src_key postgres "$(image_key "$BASE_TAG")")
  up_to_date "$POSTGRES_TAG" "$key" && return
  ctx=$(context postgres)
  build "$POSTGRES_TAG" "$key" "$ctx" --build-arg "BASE=$BASE_TAG"
}

# What docker-compose.yml's image variables are set to for these images (the compose test's .env).
image_env() {
  cat <<ENV
PYTHON_IMAGE=$PYTHON_TAG
RBN_IMAGE=${SERVICES_TAG%:*}
RBN_VERSION=${SERVICES_TAG##*:}
KAFKA_IMAGE=$KAFKA_TAG
MONGO_IMAGE=$FERRETDB_TAG
MAILPIT_IMAGE=$MAILPIT_TAG
KEYCLOAK_IMAGE=$KEYCLOAK_TAG
KEYCLOAK_DB_IMAGE=$POSTGRES_TAG
ENV
}

# The CA bundle pip is configured with here: builds reach PyPI only with it. It is given to the
# build as a BuildKit secret (RUN --mount=type=secret in the Dockerfile), never copied into an image.
build_ca() {
  local ca=${RBN_BUILD_CA:-${PIP_CERT:-}}
  [ -n "$ca" ] || ca=$(pip config get global.cert 2>/dev/null || true)
  [ -n "$ca" ] || ca=${SSL_CERT_FILE:-${REQUESTS_CA_BUNDLE:-}}
  [ -n "$ca" ] && [ -f "$ca" ] && echo "$ca"
}

image_services() {
  # BuildKit (for the CA bundle as a secret) needs the buildx plugin with the docker CLI
  docker buildx version >/dev/null 2>&1 || install_plugins
  local ca args=(--build-arg "PYTHON_IMAGE=$PYTHON_TAG")
  if ca=$(build_ca); then args+=(--secret "id=ca,src=$ca"); say "the build reaches PyPI with the CA bundle $ca (a build secret)"
  else say "no CA bundle configured for pip: the build reaches PyPI with the image's own"; fi
  # The layers are cached by BuildKit: a second build with unchanged sources takes seconds.
  say "building $SERVICES_TAG from $REPO/Dockerfile on $PYTHON_TAG..."
  local started=$SECONDS log="$DCACHE/build-services.log"
  docker build --progress=plain "${args[@]}" --label "org.opencontainers.image.version=$RBN_RELEASE" -t "$SERVICES_TAG" "$REPO" >"$log" 2>&1 \
    || { tail -n 40 "$log" >&2; die "building $SERVICES_TAG failed (log: $log)"; }
  say "$SERVICES_TAG built in $((SECONDS - started))s, $(docker image inspect -f '{{.Size}}' "$SERVICES_TAG" | awk '{printf "%.0f MB", $1/1e6}')"
}

ALL_IMAGES="base python jre kafka mailpit ferretdb keycloak postgres services"

images() {
  require_engine
  mkdir -p "$DCACHE/base"
  local wanted=${*:-$ALL_IMAGES} name
  for name in $wanted; do
    case " $ALL_IMAGES " in *" $name "*) ;; *) die "unknown image '$name' (known: $ALL_IMAGES)" ;; esac
  done
  # what they are built FROM (each is skipped in a moment when it is up to date)
  for name in $wanted; do
    case $name in
      python|jre|mailpit|ferretdb|postgres) wanted+=" base" ;;
      kafka|keycloak) wanted+=" base jre" ;;
      services) wanted+=" base python" ;;
    esac
  done
  # in dependency order, whatever order they were asked in
  for name in $ALL_IMAGES; do
    case " $wanted " in *" $name "*) "image_$name" ;; esac
  done
}

status() {
  if engine_answers; then
    echo "engine    running  $(docker info -f 'server {{.ServerVersion}}, {{.Driver}}, {{.CgroupDriver}}')$(pid=$(our_dockerd) && echo ", started here (pid $pid)")"
  else
    echo "engine    stopped"; return 0
  fi
  echo "compose   $(docker compose version 2>/dev/null || echo missing)"
  echo "buildx    $(docker buildx version 2>/dev/null || echo missing)"
  docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E '^(rbn-local/|rbn-arnsberg:)' | sed 's/^/image     /' || true
}

cmd=${1:-}; shift || true
mkdir -p "$DCACHE"
case "$cmd" in
  start)   start_engine ;;
  stop)    stop_engine ;;
  status)  status ;;
  compose) install_plugins ;;
  images)  images "$@" ;;
  image-env) image_env ;;
  all)     start_engine; install_plugins; images ;;
  *) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 2 ;;
esac
