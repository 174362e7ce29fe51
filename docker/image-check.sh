#!/usr/bin/env bash
# `make image-check`: builds the image and runs each Procfile process from it as Railway and
# compose would, against this machine's PostgreSQL and Redis, then removes what it made.
#
# - Docker: the running daemon when there is one; else Debian's docker.io (installed with apt when
#   missing) started for this check alone, with its own data folder and socket, stopped and
#   deleted at the end. Host networking (`--iptables=false --bridge=none` leaves no bridge).
# - Base: python:3.11-slim when a registry answers; else a stand-in built from Debian's packages
#   (docker/stand-in-base.sh: bookworm, Python 3.11, a venv at /usr/local).
# - Checks: the image's size (under IMAGE_MAX_MB); the release step; the web on a root-owned
#   data folder (health 200 with Railway's probe host, the admin's stylesheet 200, processes as
#   uid 1000, Docker's HEALTHCHECK healthy with no worker running); a worker (its FFmpeg check
#   passes, a unit of the sample storyboard runs and writes to the workspace); beat (/status 200
#   once worker and beat report); a non-root start on an unwritable folder refused in one line.
# Needs root (Docker, apt), PostgreSQL (superuser postgres, trust) on 127.0.0.1:5432, where it
# makes a database of its own, and Redis's server: it starts an instance of its own on a free
# port (no file written), so no message of this run waits in a shared Redis for another worker.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE_MAX_MB="${IMAGE_MAX_MB:-700}"
PG_ADMIN_URL="${IMAGE_CHECK_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
run_id="$(date +%s)-$$"
tag="videogen-image-check:$run_id"
base_tag=""
pulled_base=""
redis_pid=""
database="videogen_image_check_${run_id//-/_}"
data_dir=""
label="videogen-image-check=$run_id"  # on every container this run starts, for the cleanup
own_daemon_pid=""
own_daemon_root="/var/lib/videogen-image-check"
started=$(date +%s)

say() { echo "image-check: $*"; }
fail() { say "FAIL: $*"; exit 1; }
pass() { say "ok    $*"; }
elapsed() { echo "$(( $(date +%s) - started )) s"; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: COMMAND again each second until it passes
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  say "$what: not within $seconds s"
  return 1
}

cleanup() {
  local code=$?
  set +e
  docker ps -aq --filter "label=$label" | xargs -r docker rm -f >/dev/null 2>&1
  docker image rm "$tag" >/dev/null 2>&1
  [ -n "$base_tag" ] && docker image rm "$base_tag" >/dev/null 2>&1
  [ -n "$pulled_base" ] && docker image rm "$pulled_base" >/dev/null 2>&1
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
  psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1
  [ -n "$data_dir" ] && rm -rf "$data_dir"
  if [ -n "$own_daemon_pid" ]; then
    kill "$own_daemon_pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$own_daemon_pid" 2>/dev/null || break; sleep 1; done
    # What the daemon mounted and left (its network namespace, say), innermost first.
    awk -v roots="^($own_daemon_root|/run/videogen-image-check)/" '$2 ~ roots {print $2}' /proc/mounts \
      | sort -r | xargs -r -n 1 umount -l
    rm -rf "$own_daemon_root" /run/videogen-image-check /run/videogen-image-check.*
  fi
  [ "$code" = 0 ] && say "passed in $(elapsed); removed its containers, images, database and Redis instance"
  exit "$code"
}
trap cleanup EXIT

# --- Docker -----------------------------------------------------------------------------------
missing=()
{ command -v docker && command -v dockerd; } >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (apt)"
  apt_log="$(mktemp)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
    >"$apt_log" 2>&1 || { tail -20 "$apt_log"; rm -f "$apt_log"; fail "apt-get install ${missing[*]}"; }
  rm -f "$apt_log"
fi
if ! docker info >/dev/null 2>&1; then
  say "starting a Docker daemon for this check ($own_daemon_root)"
  mkdir -p "$own_daemon_root"
  dockerd --iptables=false --bridge=none --data-root "$own_daemon_root/docker" \
    --exec-root /run/videogen-image-check --pidfile /run/videogen-image-check.pid \
    -H unix:///run/videogen-image-check.sock >"$own_daemon_root/dockerd.log" 2>&1 &
  own_daemon_pid=$!
  export DOCKER_HOST=unix:///run/videogen-image-check.sock
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -5 "$own_daemon_root/dockerd.log"; fail "dockerd did not start"; }
fi

# --- Build ------------------------------------------------------------------------------------
had_base=$(docker image inspect python:3.11-slim >/dev/null 2>&1 && echo yes || true)
if timeout 120 docker pull -q python:3.11-slim >/dev/null 2>&1; then
  base=python:3.11-slim
  [ -n "$had_base" ] || pulled_base=python:3.11-slim
  say "base: python:3.11-slim (the official image)"
else
  base_tag="videogen-stand-in:$run_id"
  base="$base_tag"
  say "base: no registry answers; building a stand-in for python:3.11-slim from Debian's packages"
  docker/stand-in-base.sh "$base_tag"
fi
build_log="$(mktemp)"
docker build --network host --build-arg BASE_IMAGE="$base" -t "$tag" . >"$build_log" 2>&1 \
  || { tail -30 "$build_log"; rm -f "$build_log"; fail "docker build"; }
rm -f "$build_log"
size_mb=$(( $(docker image inspect -f '{{.Size}}' "$tag") / 1000000 ))
say "image built in $(elapsed): $size_mb MB"
[ "$size_mb" -lt "$IMAGE_MAX_MB" ] || fail "the image is $size_mb MB, over $IMAGE_MAX_MB MB"
pass "image size $size_mb MB (under $IMAGE_MAX_MB MB)"

# --- The processes ----------------------------------------------------------------------------
procfile() { sed -n "s/^$1: //p" Procfile; }
free_port() { python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $database" >/dev/null
redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir /tmp \
  --logfile "" >/dev/null &
redis_pid=$!
redis_up() { redis-cli -p "$redis_port" ping; }
wait_for 20 "Redis on port $redis_port" redis_up || fail "redis-server did not start"
port=$(free_port)
data_dir="$(mktemp -d)"
chmod 755 "$data_dir"  # root-owned, as Railway and a fresh Docker volume mount it
env_args=(
  -e "DATABASE_URL=${PG_ADMIN_URL%/*}/$database"
  -e "REDIS_URL=redis://127.0.0.1:$redis_port/0"
  -e "DJANGO_SECRET_KEY=image-check-$run_id-not-secret"
  -e "FIELD_ENCRYPTION_KEY=image-check-$run_id"
  -e "DJANGO_ALLOWED_HOSTS=videogen.example"
  -e "PORT=$port"
  -e "WORKER_HEARTBEAT_SECONDS=2"
)
start() {  # start NAME [command...]: a container of the image on the host network
  local name="videogen-image-check-$1-$run_id"
  shift
  docker run -d --name "$name" --label "$label" --network host -v "$data_dir:/data" \
    "${env_args[@]}" "$tag" "$@" >/dev/null
  echo "$name"
}
http_status() {  # http_status HOST PATH
  curl -s -o /dev/null -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$port$2"
}

release_log=$(docker run --rm --label "$label" --network host "${env_args[@]}" "$tag" /bin/sh -c "$(procfile release)" 2>&1) \
  || { echo "$release_log"; fail "the release step failed"; }
pass "release step: $(procfile release)"

web=$(start web)  # the image's default command: the Procfile's web
web_live() { [ "$(http_status healthcheck.railway.app /health)" = 200 ]; }
wait_for 60 "the web answering /health" web_live || { docker logs "$web" 2>&1 | tail -20; fail "/health"; }
pass "web: /health 200 with Host: healthcheck.railway.app (DJANGO_ALLOWED_HOSTS=videogen.example)"
[ "$(http_status videogen.example /static/admin/css/base.css)" = 200 ] || fail "the admin's stylesheet"
pass "web: /static/admin/css/base.css 200"
[ "$(http_status attacker.example /admin/login/)" = 400 ] || fail "an unknown host was not refused"
pass "web: /admin/login/ 400 for a host DJANGO_ALLOWED_HOSTS does not name"
uids=$(docker top "$web" -eo pid,uid | awk 'NR > 1 {print $2}' | sort -u | tr '\n' ' ')
[ "$uids" = "1000 " ] || fail "web processes run as uid(s) $uids, not 1000 only"
[ "$(stat -c %u "$data_dir")" = 1000 ] || fail "the entrypoint did not give the data folder to uid 1000"
pass "web: every process runs as uid 1000 (videogen); the root-owned data folder was given to it"

health() { docker inspect -f '{{.State.Health.Status}}' "$web"; }
docker_healthy() { [ "$(health)" = healthy ]; }
wait_for 90 "Docker's HEALTHCHECK healthy" docker_healthy || fail "Docker's HEALTHCHECK says $(health)"
pass "web: Docker's HEALTHCHECK healthy, with no worker or beat running"

worker=$(start worker /bin/sh -c "exec $(procfile worker)")
wait_for 90 "the worker ready" sh -c "docker logs $worker 2>&1 | grep -q ' ready\.'" \
  || { docker logs "$worker" 2>&1 | tail -20; fail "the worker did not start"; }
ffmpeg_line=$(docker logs "$worker" 2>&1 | grep "runs every filter and encoder the scripts use") \
  || fail "the worker's FFmpeg check"
pass "worker: ${ffmpeg_line#*videogen worker: }"
docker exec "$web" videogen-entrypoint python manage.py sync_channels >/dev/null
docker exec "$web" videogen-entrypoint python manage.py create_task pipeline/sample_storyboards/bulbasaur.yaml >/dev/null
units_done() {
  psql "${PG_ADMIN_URL%/*}/$database" -tAc "SELECT count(*) FROM pipeline_workitem WHERE state = 'done'"
}
a_unit_done() { [ "$(units_done)" -gt 0 ]; }
wait_for 120 "a unit done by the worker" a_unit_done || { docker logs "$worker" 2>&1 | tail -30; fail "no unit ran"; }
owners=$(find "$data_dir/workspace" -type f -printf '%U\n' | sort -u | tr '\n' ' ')
[ "$owners" = "1000 " ] || fail "workspace files owned by uid(s) $owners, not 1000"
pass "worker: $(units_done) unit(s) of the sample storyboard done; its files in the workspace, owned by uid 1000"

beat=$(start beat /bin/sh -c "exec $(procfile beat)")
system_up() { [ "$(http_status videogen.example /status)" = 200 ]; }
wait_for 60 "/status 200 (worker and beat reporting)" system_up || {
  docker logs "$beat" 2>&1 | tail -20; curl -s -H "Host: videogen.example" "http://127.0.0.1:$port/status"; fail "/status"; }
pass "beat: running; /status 200 (database, broker, workers, beat)"

locked="$(mktemp -d)"
chmod 755 "$locked"
refusal=$(docker run --rm --label "$label" --user 1000 -v "$locked:/data" "${env_args[@]}" "$tag" true 2>&1) && code=0 || code=$?
rmdir "$locked"
[ "$code" = 78 ] && [ "$(echo "$refusal" | wc -l)" = 1 ] || fail "a non-root start on a root-owned folder: exit $code, $refusal"
pass "a non-root start on a root-owned folder is refused in one line: $refusal"
