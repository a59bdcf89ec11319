#!/usr/bin/env bash
# Builds deploy/docker/Dockerfile for real and runs the image, as root, with Debian's podman:
#   1. a stand-in for node:24-bookworm-slim (the base image cannot be pulled here): a Debian bookworm root
#      made with debootstrap (minbase, cached in $JOBSD_IMAGE_CACHE), the `node` user (uid 1000) as the
#      official image has it, Node 24 from the `node` npm package in node_modules, npm from the npm package;
#      a real node:24-bookworm-slim already in podman's storage is used instead, and left alone;
#   2. podman build --isolation=chroot of the real Dockerfile on it;
#   3. the image run twice, as `docker run` would (its entrypoint, user, environment and working directory,
#      as PID 1 of its own PID, mount and UTS namespaces, chrooted into the image's root), with a jobs.d
#      volume and a PostgreSQL outside the image: writable, then with the root read-only and a tmpfs on /tmp
#      as deploy/compose.yaml runs it, then writable without a database URL (its embedded PostgreSQL).
#      Each run: /readyz answers 200, the image's HEALTHCHECK and the compose
#      healthcheck pass inside it, a job runs (its run in the API, with its output), and SIGTERM stops it
#      with exit 0 within the 60 s stop timeout.
# podman run is tried and its outcome reported (crun refuses cgroups v1/hybrid here); the runs use the
# namespaces on every machine, so that they check the same thing everywhere.
# The run's network namespace is its own (made with ip netns), shared with the PostgreSQL like a compose
# network: the agent listens on 0.0.0.0:9464 as the image says, and nothing listens on the host.
# Everything made is removed on exit: mounts, containers, images, the namespace, processes, directories.
#   deploy/docker/test-image.sh          (after npm ci: Node 24 comes from node_modules)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# --- inside the run's mount namespace (the script calls itself): mounts, then the image's process ---
if [ "${1:-}" = __enter ]; then
  shift
  root=$1 mode=$2 jobs=$3 data=$4 uid=$5 gid=$6 workdir=$7 name=$8
  shift 8
  if [ "$mode" = ro ]; then
    mount --bind "$root" "$root"
    mount -o remount,bind,ro "$root"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
  fi
  # A minimal /dev, as a container runtime gives.
  mount -t tmpfs -o mode=755,nosuid tmpfs "$root/dev"
  for d in null zero full random urandom tty; do
    touch "$root/dev/$d"
    mount --bind "/dev/$d" "$root/dev/$d"
  done
  mkdir "$root/dev/shm" "$root/dev/pts"
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
  ln -s /proc/self/fd "$root/dev/fd"
  ln -s /proc/self/fd/0 "$root/dev/stdin"
  ln -s /proc/self/fd/1 "$root/dev/stdout"
  ln -s /proc/self/fd/2 "$root/dev/stderr"
  mount --bind "$jobs" "$root/etc/jobsd/jobs.d"
  mount -o remount,bind,ro "$root/etc/jobsd/jobs.d"
  mount --bind "$data" "$root/var/lib/jobsd"
  hostname "$name"
  exec unshare --pid --kill-child --mount-proc --root="$root" --wd="$workdir" --setgid="$gid" --setuid="$uid" -- "$@"
fi

log() { printf '[test-image %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

[ "$(id -u)" = 0 ] || fail "run as root: podman build --isolation=chroot, image mounts and namespaces need it"
for tool in podman debootstrap unshare nsenter ip tar flock; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install podman debootstrap iproute2 (see .ci/run)"
done
NODE="$ROOT/node_modules/.bin/node"
[ -x "$NODE" ] || fail "$NODE is missing: run npm ci first (Node 24 comes from the node dev dependency)"
NODE_BIN=$("$NODE" -p process.execPath)
NODE_VERSION=$("$NODE" -p 'process.versions.node')
[ "${NODE_VERSION%%.*}" = 24 ] || fail "node_modules holds Node $NODE_VERSION, not 24"

CACHE=${JOBSD_IMAGE_CACHE:-/var/cache/jobsd-image-test}
BASE=docker.io/library/node:24-bookworm-slim
IMAGE=localhost/jobsd-image-test:$$
NS=jobsd-image-test-$$
STAND_IN_LABEL=jobsd.test-image.stand-in
STOP_TIMEOUT=60
mkdir -p "$CACHE"
# One run at a time on a machine: the stand-in has the base image's name.
exec 9>"$CACHE/lock"
flock 9

WORK=$(mktemp -d /tmp/jobsd-image-test.XXXXXX)
chmod 755 "$WORK"
started_all=$(now)
images_before=$(podman images -q --no-trunc | sort -u)
base_is_ours=false
container=''
image_mounted=false
agent_pid=''
pid1=''
pg_pid=''
netns=false

cleanup() {
  local status=$?
  set +e
  # SIGKILL to the container's PID 1 ends its whole PID namespace.
  [ -n "$pid1" ] && kill -KILL "$pid1" 2>/dev/null
  if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
    kill -KILL "$agent_pid"
    wait "$agent_pid" 2>/dev/null
  fi
  if [ -n "$pg_pid" ] && kill -0 "$pg_pid" 2>/dev/null; then
    kill -TERM "$pg_pid"
    wait "$pg_pid" 2>/dev/null
  fi
  [ "$netns" = true ] && ip netns del "$NS"
  if [ -n "$container" ]; then
    podman umount "$container" >/dev/null 2>&1
    podman rm -f "$container" >/dev/null 2>&1
  fi
  [ "$image_mounted" = true ] && podman image umount "$IMAGE" >/dev/null 2>&1
  podman rmi -f "$IMAGE" >/dev/null 2>&1
  [ "$base_is_ours" = true ] && podman rmi -f "$BASE" >/dev/null 2>&1
  # Images the build left (the deps stage): those that were not there before this run.
  for id in $(podman images -q --no-trunc | sort -u); do
    grep -qxF "$id" <<<"$images_before" || podman rmi -f "$id" >/dev/null 2>&1
  done
  rm -rf "$WORK"
  if [ "$status" = 0 ]; then log "passed in $(took "$started_all")"; else log "failed (exit $status); logs were in $WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. the base image ---
host_debian_sources() {
  # The host's own Debian mirrors, when the host is bookworm: the stand-in's apt then reaches what the host's does.
  [ -r /etc/os-release ] && . /etc/os-release && [ "${VERSION_CODENAME:-}" = bookworm ] && [ -r /etc/apt/sources.list.d/debian.sources ]
}
bookworm_root() {
  local dir=$CACHE/bookworm-minbase
  if [ -f "$dir/.complete" ]; then
    log "bookworm root: cached in $dir"
    return
  fi
  local t0 mirror=()
  t0=$(now)
  if host_debian_sources; then
    # The first URI of the host's bookworm suite, main component (debootstrap's own default otherwise).
    local uri
    uri=$(awk '/^URIs:/ { u = $2 } /^Suites:/ && / bookworm( |$)/ && u != "" { print u; exit }' /etc/apt/sources.list.d/debian.sources)
    [ -n "$uri" ] && mirror=("$uri")
  fi
  rm -rf "$dir.tmp"
  log "bookworm root: debootstrap --variant=minbase bookworm (first run; cached afterwards)"
  debootstrap --variant=minbase bookworm "$dir.tmp" "${mirror[@]}" >"$WORK/debootstrap.log" 2>&1 || {
    tail -20 "$WORK/debootstrap.log" >&2
    fail "debootstrap failed (log above)"
  }
  # As the official node image: a `node` user and group, uid and gid 1000, home /home/node.
  chroot "$dir.tmp" groupadd --gid 1000 node
  chroot "$dir.tmp" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  if host_debian_sources; then
    rm -f "$dir.tmp/etc/apt/sources.list"
    cp /etc/apt/sources.list.d/debian.sources "$dir.tmp/etc/apt/sources.list.d/debian.sources"
  fi
  chroot "$dir.tmp" apt-get clean
  rm -rf "$dir.tmp/var/lib/apt/lists/"* "$dir.tmp/dev/"* "$dir.tmp/proc/"* "$dir.tmp/sys/"*
  touch "$dir.tmp/.complete"
  mv "$dir.tmp" "$dir"
  log "bookworm root: made in $(took "$t0")"
}
npm_tarball() {
  local found
  found=$(ls "$CACHE"/npm-11.*.tgz 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$found" ]; then
    (cd "$CACHE" && npm pack npm@11 --silent >/dev/null)
    found=$(ls "$CACHE"/npm-11.*.tgz | sort -V | tail -1)
  fi
  printf '%s\n' "$found"
}
stand_in() {
  local t0 extra=$WORK/base-extra tarball npm
  t0=$(now)
  bookworm_root
  npm=$(npm_tarball)
  # What the official image adds to debian:bookworm-slim: node and npm in /usr/local.
  mkdir -p "$extra/usr/local/bin" "$extra/usr/local/lib/node_modules/npm"
  cp "$NODE_BIN" "$extra/usr/local/bin/node"
  tar -xzf "$npm" -C "$extra/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$extra/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$extra/usr/local/bin/npx"
  # npm in the build reaches the registry as the host's npm does: where the host trusts its own CA bundle
  # (a proxy's), the stand-in's global npmrc points at a copy of it. The real image has no such file.
  local cafile registry
  cafile=$(npm config get cafile 2>/dev/null || true)
  registry=$(npm config get registry 2>/dev/null || true)
  mkdir -p "$extra/usr/local/etc"
  : >"$extra/usr/local/etc/npmrc"
  if [ -n "$cafile" ] && [ "$cafile" != null ] && [ -r "$cafile" ]; then
    cp "$cafile" "$extra/usr/local/etc/npm-ca.crt"
    echo "cafile=/usr/local/etc/npm-ca.crt" >>"$extra/usr/local/etc/npmrc"
  fi
  [ -n "$registry" ] && [ "$registry" != https://registry.npmjs.org/ ] && echo "registry=$registry" >>"$extra/usr/local/etc/npmrc"
  tarball=$WORK/base.tar
  tar -cf "$tarball" --numeric-owner -C "$CACHE/bookworm-minbase" --exclude=./.complete . \
    -C "$extra" ./usr/local/bin/node ./usr/local/bin/npm ./usr/local/bin/npx ./usr/local/lib/node_modules ./usr/local/etc/npmrc \
    $([ -f "$extra/usr/local/etc/npm-ca.crt" ] && echo ./usr/local/etc/npm-ca.crt)
  podman import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'CMD ["node"]' \
    --change "LABEL $STAND_IN_LABEL=true" \
    --message "stand-in for node:24-bookworm-slim (deploy/docker/test-image.sh)" \
    "$tarball" "$BASE" >/dev/null
  base_is_ours=true
  rm -f "$tarball"
  log "base: stand-in $BASE imported (Node $NODE_VERSION, $(basename "$npm" .tgz)) in $(took "$t0")"
}
if podman image exists "$BASE" && [ "$(podman image inspect --format "{{ index .Labels \"$STAND_IN_LABEL\" }}" "$BASE")" != true ]; then
  log "base: $BASE is in podman's storage (the real one, not a stand-in): building on it"
else
  podman rmi -f "$BASE" >/dev/null 2>&1 || true # a stand-in left by a killed run
  base_is_ours=true
  stand_in
fi

# --- 2. the build (Docker's image format: OCI's has no HEALTHCHECK) ---
t0=$(now)
log "build: podman build --isolation=chroot -f deploy/docker/Dockerfile"
podman build --isolation=chroot --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
  --format docker --pull=never --layers=false --force-rm -f "$ROOT/deploy/docker/Dockerfile" -t "$IMAGE" "$ROOT" >"$WORK/build.log" 2>&1 || {
  tail -40 "$WORK/build.log" >&2
  fail "podman build failed (log above)"
}
grep -i 'warn' "$WORK/build.log" | sed 's/^/  build: /' >&2 || true
log "build: done in $(took "$t0"), $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"

# --- 3. the runs ---
inspect() { podman image inspect --format "$1" "$IMAGE"; }
user=$(inspect '{{.Config.User}}')
workdir=$(inspect '{{.Config.WorkingDir}}')
mapfile -t entrypoint < <(inspect '{{range .Config.Entrypoint}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t cmd < <(inspect '{{range .Config.Cmd}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t image_env < <(inspect '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t healthcheck < <(inspect '{{range .Config.Healthcheck.Test}}{{println .}}{{end}}' | sed '/^$/d')
stop_signal=$(inspect '{{.Config.StopSignal}}')
[ "${healthcheck[0]:-}" = CMD ] || fail "the image's HEALTHCHECK is not in exec form: ${healthcheck[*]}"
healthcheck=("${healthcheck[@]:1}")
# The compose file's healthcheck (its readiness probe): test: ["CMD", ...].
mapfile -t compose_check < <(cd "$ROOT" && "$NODE" -e '
  const { parse } = require("yaml");
  const test = parse(require("node:fs").readFileSync("deploy/compose.yaml", "utf8"))["x-jobsd"].healthcheck.test;
  if (test[0] !== "CMD") throw new Error("the compose healthcheck is not in exec form (CMD)");
  for (const part of test.slice(1)) console.log(part);
')
log "image: user $user, workdir $workdir, entrypoint ${entrypoint[*]} ${cmd[*]}, stop signal ${stop_signal:-SIGTERM}"

# The PostgreSQL, outside the image, in the run's network namespace.
ip netns add "$NS"
netns=true
ip netns exec "$NS" ip link set lo up
mkdir -m 755 "$WORK/pg"
ip netns exec "$NS" "$NODE" "$HERE/host-postgres.ts" "$WORK/pg" 2>"$WORK/pg.log" 9>&- &
pg_pid=$!
for _ in $(seq 600); do
  [ -s "$WORK/pg/url" ] && break
  kill -0 "$pg_pid" 2>/dev/null || { cat "$WORK/pg.log" >&2; fail "the PostgreSQL did not start (log above)"; }
  sleep 0.1
done
[ -s "$WORK/pg/url" ] || fail "the PostgreSQL did not start within 60 s"
database_url=$(cat "$WORK/pg/url")

# The jobs volume: one job that shows where and as whom it ran.
mkdir -m 755 "$WORK/jobs.d"
cat >"$WORK/jobs.d/image-check.yaml" <<'EOF'
description: deploy/docker/test-image.sh's job, fired by its schedule
schedule: every 2s
overlap: skip
task:
  type: command
  command: ["sh", "-c", "echo \"image-check ran as uid $(id -u) in $PWD on $(hostname)\""]  # the command's directory is jobs.d
EOF
# Started by hand (POST /api/jobs/image-slow/run) just before SIGTERM: a run the agent finishes within its grace period.
cat >"$WORK/jobs.d/image-slow.yaml" <<'EOF'
description: deploy/docker/test-image.sh's run in flight at SIGTERM
schedule: "0 0 1 1 *"
task:
  type: command
  command: ["sh", "-c", "sleep 3; echo slow done"]
EOF
chmod 644 "$WORK/jobs.d/"*.yaml

# Host tools run in the container's network namespace (curl is not in every image: node is on the host).
fetch_status() { # URL -> HTTP status, 000 when unreachable
  ip netns exec "$NS" "$NODE" -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then(
      async (r) => { console.log(r.status); await r.text(); },
      () => console.log("000"));' "$1"
}
succeeded_output() { # JOB HOST -> the output of its latest succeeded run by the agent on HOST, from the API; nothing while there is none
  ip netns exec "$NS" "$NODE" -e '
    fetch(`http://127.0.0.1:9464/api/jobs/${process.argv[1]}/runs?limit=5`, { signal: AbortSignal.timeout(5000) })
      .then((r) => (r.ok ? r.json() : { runs: [] }))
      .then(({ runs }) => {
        const run = runs.find((r) => r.state === "succeeded" && String(r.instance).startsWith(`${process.argv[2]}:`));
        if (run) process.stdout.write(String(run.result?.details?.output_tail ?? ""));
      }, () => undefined);' "$1" "$2"
}

# In the running container: the image's user, environment, root and working directory (as docker exec).
exec_in() {
  local pid1=$1
  shift
  env -i "${run_env[@]}" nsenter --target "$pid1" --mount --uts --pid --net --root --wd --setgid "$gid" --setuid "$uid" -- "$@"
}

logged() { # FILE MSG [JOB]: whether the agent's JSON log has that line
  grep -F "\"msg\":\"$2\"" "$1" | grep -qF "${3:+\"job\":\"$3\"}"
}

exec_as_root() {
  local pid1=$1
  shift
  env -i "${run_env[@]}" nsenter --target "$pid1" --mount --uts --pid --net --root --wd -- "$@"
}

podman_run_works() {
  # podman run where it works; here crun refuses cgroups v1 ("cgroups in hybrid mode not supported").
  local ok=0
  podman run --name "jobsd-image-probe-$$" --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --entrypoint /bin/true "$IMAGE" >"$WORK/podman-run.log" 2>&1 || ok=1
  podman rm -f "jobsd-image-probe-$$" >/dev/null 2>&1 || true
  return "$ok"
}

run_image() { # MODE: rw (writable root), ro (read-only root, tmpfs on /tmp, as deploy/compose.yaml),
  # embedded (writable root, no JOBSD_DATABASE_URL: the image's embedded PostgreSQL in /var/lib/jobsd)
  local mode=$1 root data t0 status code elapsed output child
  local agent_env=("${run_env[@]}")
  if [ "$mode" = embedded ]; then agent_env=("${run_env_without_db[@]}"); fi
  t0=$(now)
  data=$WORK/data-$mode
  mkdir -m 755 "$data"
  chown "$uid:$gid" "$data" # the /var/lib/jobsd volume: docker fills a new one from the image, owned by node
  local name=jobsd-image-$mode
  if [ "$mode" != ro ]; then
    container=$(podman create --no-healthcheck --name "jobsd-image-test-$$" "$IMAGE")
    root=$(podman mount "$container")
  else
    root=$(podman image mount "$IMAGE")
    image_mounted=true
  fi
  ip netns exec "$NS" unshare --mount --uts -- "$0" __enter "$root" "$mode" "$WORK/jobs.d" "$data" "$uid" "$gid" "$workdir" "$name" \
    /usr/bin/env -i "${agent_env[@]}" "${entrypoint[@]}" "${cmd[@]}" >"$WORK/agent-$mode.log" 2>&1 9>&- &
  agent_pid=$!
  # PID 1 (tini) is the child of unshare that is PID 1 in its namespace (the other children are the mounts').
  pid1=''
  for _ in $(seq 200); do
    for child in $(pgrep -P "$agent_pid" || true); do
      grep -qE '^NSpid:[[:space:]]+[0-9]+[[:space:]]+1$' "/proc/$child/status" 2>/dev/null && pid1=$child
    done
    [ -n "$pid1" ] && break
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$pid1" ] || { cat "$WORK/agent-$mode.log" >&2; fail "[$mode] the container's PID 1 did not start"; }
  grep -q "^Uid:[[:space:]]*$uid[[:space:]]" "/proc/$pid1/status" || fail "[$mode] PID 1 does not run as uid $uid"

  # Ready: /readyz 200 (database reachable, jobs loaded).
  status=000
  for _ in $(seq 120); do
    status=$(fetch_status http://127.0.0.1:9464/readyz)
    [ "$status" = 200 ] && break
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.5
  done
  [ "$status" = 200 ] || { tail -30 "$WORK/agent-$mode.log" >&2; fail "[$mode] /readyz answered $status, not 200, within 60 s (agent log above)"; }
  log "[$mode] ready (/readyz 200) $(took "$t0") after the start"
  if [ "$mode" = embedded ]; then
    grep -q 'embedded PostgreSQL listening on 127.0.0.1' "$WORK/agent-$mode.log" || fail "[embedded] the agent did not start its embedded PostgreSQL"
  fi
  exec_in "$pid1" "${healthcheck[@]}" || fail "[$mode] the image's HEALTHCHECK (${healthcheck[*]}) failed inside the container"
  exec_in "$pid1" "${compose_check[@]}" || fail "[$mode] the compose healthcheck (${compose_check[*]}) failed inside the container"
  log "[$mode] the image's HEALTHCHECK and the compose healthcheck pass inside the container"
  # The root filesystem, as root in the container: writable, or read-only with a writable /tmp.
  if [ "$mode" = ro ]; then
    exec_as_root "$pid1" /bin/sh -c 'touch /.probe' 2>/dev/null && fail "[ro] the root filesystem is writable"
    exec_in "$pid1" /bin/sh -c 'touch /tmp/.probe && rm /tmp/.probe' || fail "[ro] /tmp is not writable"
    log "[ro] the root filesystem is read-only, /tmp is writable"
  else
    exec_as_root "$pid1" /bin/sh -c 'touch /.probe && rm /.probe' || fail "[$mode] the root filesystem is not writable"
  fi

  # A run of the job, with its output, through the API.
  output=''
  for _ in $(seq 60); do
    output=$(succeeded_output image-check "$name")
    [ -n "$output" ] && break
    sleep 0.5
  done
  [ -n "$output" ] || { tail -30 "$WORK/agent-$mode.log" >&2; fail "[$mode] no succeeded run of image-check within 30 s"; }
  grep -qx "image-check ran as uid $uid in /etc/jobsd/jobs.d on $name" <<<"$output" ||
    fail "[$mode] the run's output is not the job's: $output"
  log "[$mode] the job ran: a succeeded run in /api/jobs/image-check/runs, output \"$output\""

  # A run in flight, then docker stop: the stop signal to PID 1, SIGKILL after the stop timeout.
  status=$(API_TOKEN=$api_token ip netns exec "$NS" "$NODE" -e '
    fetch("http://127.0.0.1:9464/api/jobs/image-slow/run", { method: "POST", headers: { authorization: `Bearer ${process.env.API_TOKEN}` } })
      .then(async (r) => { console.log(r.status); await r.text(); }, () => console.log("000"));')
  [ "$status" = 202 ] || fail "[$mode] POST /api/jobs/image-slow/run answered $status, not 202"
  for _ in $(seq 100); do
    logged "$WORK/agent-$mode.log" "run started" image-slow && break
    sleep 0.1
  done
  logged "$WORK/agent-$mode.log" "run started" image-slow ||
    { tail -20 "$WORK/agent-$mode.log" >&2; fail "[$mode] the manual run of image-slow did not start within 10 s"; }
  local stop_at
  stop_at=$(now)
  kill "-${stop_signal:-SIGTERM}" "$pid1"
  code=''
  for _ in $(seq $((STOP_TIMEOUT * 10))); do
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$agent_pid" 2>/dev/null; then
    kill -KILL "$pid1"
    fail "[$mode] still running $STOP_TIMEOUT s after ${stop_signal:-SIGTERM}"
  fi
  set +e
  wait "$agent_pid"
  code=$?
  set -e
  agent_pid=''
  pid1=''
  elapsed=$(took "$stop_at")
  [ "$code" = 0 ] || { tail -30 "$WORK/agent-$mode.log" >&2; fail "[$mode] exit $code after ${stop_signal:-SIGTERM}, not 0"; }
  logged "$WORK/agent-$mode.log" "run succeeded" image-slow ||
    { tail -20 "$WORK/agent-$mode.log" >&2; fail "[$mode] the run in flight did not finish during the grace period"; }
  logged "$WORK/agent-$mode.log" "jobsd stopped" || { tail -20 "$WORK/agent-$mode.log" >&2; fail "[$mode] no 'jobsd stopped' in the agent's log"; }
  log "[$mode] ${stop_signal:-SIGTERM} with a run in flight: it finished, then exit 0, $elapsed after the signal"
  if [ "$mode" != ro ]; then
    podman umount "$container" >/dev/null
    podman rm "$container" >/dev/null
    container=''
  else
    podman image umount "$IMAGE" >/dev/null
    image_mounted=false
  fi
}

IFS=: read -r uid gid home < <(awk -F: -v u="$user" '$1 == u || $3 == u { print $3 ":" $4 ":" $6; exit }' \
  "$(podman image mount "$IMAGE")/etc/passwd")
podman image umount "$IMAGE" >/dev/null
[ -n "$uid" ] || fail "user $user is not in the image's /etc/passwd"
api_token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
run_env_without_db=("${image_env[@]}" "HOME=$home" "JOBSD_API_TOKEN=$api_token")
run_env=("${run_env_without_db[@]}" "JOBSD_DATABASE_URL=$database_url")

if podman_run_works; then
  log "run: podman run works here, but the checks below use the namespaces (one way on every machine)"
else
  log "run: podman run does not work here ($(tail -1 "$WORK/podman-run.log")): unshare + chroot into the image's root"
fi
run_image rw
run_image ro
run_image embedded
