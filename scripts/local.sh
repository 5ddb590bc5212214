#!/usr/bin/env bash
# Runs favorite-athlete without a cluster: three replicas on 127.0.0.1 behind a real nginx that
# routes like the Ingress, with the nginx config docker-compose.yml uses too
# (nginx/favorite-athlete.conf.template). See `scripts/local.sh --help`.
#
# Why ~450 lines: this script stands in for the parts of Kubernetes the tests/e2e suite checks
# the service against, and each part is a section below, readable on its own:
#   options and state   parse_args: ports, host, run directory
#   small helpers       an HTTP status probe over /dev/tcp (no curl needed), port checks
#   build / nginx       build the release preset; render and start nginx (scripts/nginx.sh)
#   replicas            the kubelet's part: start each replica in its own session with a
#                       parent-death signal, restart one that exits (restartPolicy: Always) with
#                       a capped back-off, record every exit (pid, code) for rolling-restart and
#                       the tests
#   up                  the supervisor loop (wait -n), graceful stop in the Deployment's order
#                       (replicas drain first, then nginx), a second Ctrl-C stops at once, and
#                       nothing outlives the script
#   rolling restart     the Deployment's rollout: one replica at a time, exit 0 checked, the new
#                       one ready for minReadySeconds before the next
# Each of these is asserted by tests/e2e; dropping one drops what a test proves.
set -Eeuo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/nginx.sh
source "$(dirname "${BASH_SOURCE[0]}")/nginx.sh"

readonly DEFAULT_HOST="favorite-athlete.127.0.0.1.nip.io"

usage() {
  cat <<EOF
Usage: scripts/local.sh [up] [options]
       scripts/local.sh rolling-restart [--run-dir DIR] [--min-ready-seconds N]

up (the default)
  Builds the release preset (cmake, ninja, g++: Debian packages it installs; it runs no tests, that
  is scripts/test.sh), then runs three replicas of
  favorite-athlete on 127.0.0.1 behind nginx routed like the Ingress (host ${DEFAULT_HOST},
  prefix /), prints the URL and a curl that needs no DNS, and runs until Ctrl-C or SIGTERM, which
  stop the replicas gracefully (SIGTERM: drain, then exit 0), then nginx. A second Ctrl-C stops
  at once. A replica that exits on its own is restarted on its port, like a pod's container.

rolling-restart
  Restarts the replicas of a running \`up\` one at a time, like the Deployment's rollout: SIGTERM
  a replica, check it exits 0, wait until the new one answers /readyz and stays ready for
  --min-ready-seconds (default 5, the Deployment's minReadySeconds; by then nginx routes to it
  again), go on to the next. Through nginx no GET fails meanwhile. Exits 1 if a replica does not
  exit 0 or come back.

Options:
  --skip-tests            accepted for old command lines; no effect (up runs no tests)
  --binary PATH           run this favorite-athlete binary and build nothing
  --port N                nginx port on 127.0.0.1 (default 8088)
  --replica-ports A,B,C   the replicas' ports on 127.0.0.1 (default 18081,18082,18083)
  --host NAME             the routed host (default ${DEFAULT_HOST})
  --run-dir DIR           state, rendered nginx config and logs (default build/local)
  --min-ready-seconds N   rolling-restart: time each new replica must stay ready (default 5)
  -h, --help              this help

Each replica serves GET /metrics on a free port of its own (METRICS_PORT=0, named in its log),
never through nginx. The replicas take their other settings from the environment (DRAIN_SECONDS,
SHUTDOWN_TIMEOUT_SECONDS, ACCESS_LOG, FAVORITE_ATHLETE, ...: the table in config.hpp, or
favorite-athlete --help), e.g.
  DRAIN_SECONDS=2 scripts/local.sh
Needs nginx (Debian package nginx; installed if missing). FA_DEPS_SOURCE: see scripts/lib.sh.
EOF
}

# --- options and state ------------------------------------------------------------------------

COMMAND=up
BINARY=""
NGINX_PORT=8088
REPLICA_PORTS=(18081 18082 18083)
ROUTED_HOST="${DEFAULT_HOST}"
RUN_DIR="${ROOT}/build/local"
MIN_READY_SECONDS=5

NGINX_PID=""
TICK_PID=""
STOPPING=false

parse_args() {
  if [[ $# -gt 0 && $1 != -* ]]; then
    COMMAND="$1"
    shift
  fi
  case "${COMMAND}" in
  up | rolling-restart) ;;
  *)
    usage >&2
    die "unknown command: ${COMMAND}"
    ;;
  esac
  while [[ $# -gt 0 ]]; do
    case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --skip-tests) ;; # old command lines: up no longer runs the tests
    --binary)
      BINARY="$(need_value "$@")"
      shift
      ;;
    --port)
      NGINX_PORT="$(need_value "$@")"
      shift
      ;;
    --replica-ports)
      IFS=, read -r -a REPLICA_PORTS <<<"$(need_value "$@")"
      shift
      ;;
    --host)
      ROUTED_HOST="$(need_value "$@")"
      shift
      ;;
    --run-dir)
      RUN_DIR="$(need_value "$@")"
      shift
      ;;
    --min-ready-seconds)
      MIN_READY_SECONDS="$(need_value "$@")"
      shift
      ;;
    *)
      usage >&2
      die "unknown option: $1"
      ;;
    esac
    shift
  done
  local port
  for port in "${NGINX_PORT}" "${REPLICA_PORTS[@]}"; do
    [[ ${port} =~ ^[1-9][0-9]{0,4}$ && ${port} -le 65535 ]] || die "invalid port: ${port}"
  done
  ((${#REPLICA_PORTS[@]} == 3)) || die "--replica-ports needs three ports, got: ${REPLICA_PORTS[*]}"
  [[ ${ROUTED_HOST} =~ ^[A-Za-z0-9.-]+$ ]] || die "invalid host: ${ROUTED_HOST}"
  [[ ${MIN_READY_SECONDS} =~ ^[0-9]{1,3}$ ]] || die "invalid --min-ready-seconds: ${MIN_READY_SECONDS}"
  mkdir -p "${RUN_DIR}"
  RUN_DIR="$(cd "${RUN_DIR}" && pwd)"
}

need_value() {
  [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"
  printf '%s\n' "$2"
}

# --- small helpers ----------------------------------------------------------------------------

# Status code of `GET path` with a Host header, straight over /dev/tcp (no curl needed); "000" if
# nothing answers within 2 s.
http_status() {
  local port="$1" path="$2" host="$3" fd line=""
  if ! { exec {fd}<>"/dev/tcp/127.0.0.1/${port}"; } 2>/dev/null; then
    printf '000\n'
    return 0
  fi
  printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "${path}" "${host}" >&"${fd}" || true
  IFS= read -r -t 2 -u "${fd}" line || true
  exec {fd}>&-
  line="${line#HTTP/1.? }"
  printf '%s\n' "${line:0:3}" | grep -E '^[0-9]{3}$' || printf '000\n'
}

# Whether something accepts connections on 127.0.0.1:port.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits until `GET path` on port answers `want`, for at most `seconds`.
wait_status() {
  local port="$1" path="$2" host="$3" want="$4" seconds="$5" deadline
  deadline=$((SECONDS + seconds))
  until [[ $(http_status "${port}" "${path}" "${host}") == "${want}" ]]; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# --- build --------------------------------------------------------------------------------------

ensure_nginx() {
  PATH="${PATH}:/usr/sbin:/sbin" # nginx lives in /usr/sbin, not in a user's PATH on Debian
  command -v nginx >/dev/null && return 0
  # apt_install starts no service: Debian's nginx package would otherwise start and enable the
  # system nginx on port 80, which this script never uses.
  apt_install nginx
}

build() {
  if [[ -n ${BINARY} ]]; then
    [[ -x ${BINARY} ]] || die "--binary ${BINARY}: not an executable"
    BINARY="$(cd "$(dirname "${BINARY}")" && pwd)/$(basename "${BINARY}")"
    return 0
  fi
  # No test suite here (minutes, and it installs the test tools): scripts/test.sh is for that.
  install_debian_packages "${ROOT}/scripts/debian_packages.txt"
  build_preset release >/dev/null
  BINARY="${ROOT}/build/release/favorite-athlete"
}

# --- nginx ----------------------------------------------------------------------------------

# nginx's main context and the shared template, rendered by scripts/nginx.sh.
write_nginx_config() {
  mkdir -p "${RUN_DIR}"
  chmod 0755 "${RUN_DIR}" # nginx's workers (nobody) reach their temp paths through it
  FA_LISTEN="127.0.0.1:${NGINX_PORT}" FA_HOST="${ROUTED_HOST}" FA_ACCESS_LOG="${RUN_DIR}/nginx-access.log" \
    FA_UPSTREAM_1="127.0.0.1:${REPLICA_PORTS[0]}" FA_UPSTREAM_2="127.0.0.1:${REPLICA_PORTS[1]}" \
    FA_UPSTREAM_3="127.0.0.1:${REPLICA_PORTS[2]}" nginx_write_config "${RUN_DIR}/nginx" scripts/local.sh ||
    die "could not write the nginx config in ${RUN_DIR}/nginx"
}

start_nginx() {
  local dir="${RUN_DIR}/nginx"
  # Its own session: a Ctrl-C in the terminal reaches this script only, which stops in order.
  spawn nginx -p "${dir}" -c "${dir}/nginx.conf" -e stderr -g 'daemon off;' >>"${RUN_DIR}/nginx.log" 2>&1 &
  NGINX_PID=$!
  printf '%s\n' "${NGINX_PID}" >"${RUN_DIR}/nginx.pid"
  # The routed host answers as soon as nginx and one replica do.
  wait_status "${NGINX_PORT}" /healthz "${ROUTED_HOST}" 200 10 ||
    die "nginx does not answer on 127.0.0.1:${NGINX_PORT} (see ${RUN_DIR}/nginx.log)"
}

# --- replicas -------------------------------------------------------------------------------

# Every process this script starts runs in its own session (a Ctrl-C in the terminal, or a signal
# to this script's process group, reaches this script only, which stops things in order) and gets
# SIGTERM if this script dies without stopping it (parent-death signal).
# Run it as `spawn cmd... &`: exec keeps $! the command's own pid.
spawn() {
  if command -v setpriv >/dev/null; then
    exec setsid setpriv --pdeathsig TERM "$@"
  else
    exec setsid "$@"
  fi
}

REPLICA_PIDS=("" "" "")
REPLICA_STARTED=(0 0 0)
REPLICA_DELAY=(0.1 0.1 0.1)

start_replica() {
  local n="$1"
  # Three replicas on one host cannot share one metrics port: each takes a free one (its log's
  # "listening" line names it). nginx never routes to it, as the Ingress never does.
  PORT="${REPLICA_PORTS[n - 1]}" METRICS_PORT=0 BIND_ADDRESS=127.0.0.1 spawn "${BINARY}" \
    >>"${RUN_DIR}/replica-${n}.log" 2>&1 &
  REPLICA_PIDS[n - 1]=$!
  REPLICA_STARTED[n - 1]=${SECONDS}
  printf '%s\n' "$!" >"${RUN_DIR}/replica-${n}.pid"
}

# Each exit is recorded as "<epoch seconds> <pid> <exit code>" in replica-<n>.exits (the running
# pid is in replica-<n>.pid): rolling-restart and the tests read them.
record_exit() {
  printf '%s %s %s\n' "${EPOCHREALTIME}" "$2" "$3" >>"${RUN_DIR}/replica-$1.exits"
}

start_replicas() {
  local n
  for n in 1 2 3; do start_replica "${n}"; done
  for n in 1 2 3; do
    wait_status "${REPLICA_PORTS[n - 1]}" /readyz localhost 200 10 ||
      die "replica ${n} is not ready on 127.0.0.1:${REPLICA_PORTS[n - 1]} (see ${RUN_DIR}/replica-${n}.log)"
  done
}

# A replica exited while running: record it and start it again on its port, like the kubelet
# does with a pod's container (restartPolicy: Always). Backs off while it keeps failing at once
# (port taken, bad configuration), up to 10 s.
restart_replica() {
  local n="$1" rc="$2" delay=0.1 pid
  pid="${REPLICA_PIDS[n - 1]}"
  record_exit "${n}" "${pid}" "${rc}"
  REPLICA_PIDS[n - 1]=""
  if ((rc != 0 && SECONDS - REPLICA_STARTED[n - 1] < 2)); then
    delay="$(awk -v d="${REPLICA_DELAY[n - 1]}" 'BEGIN { d *= 2; print (d > 10 ? 10 : d) }')"
  fi
  REPLICA_DELAY[n - 1]=${delay}
  log "replica ${n} (pid ${pid}, port ${REPLICA_PORTS[n - 1]}) exited with ${rc}; restarting in ${delay} s"
  sleep "${delay}" &
  wait $! || true
  start_replica "${n}"
}

# Sets REAPED to the exit status of child pid, waiting on through signals that interrupt `wait`
# (their traps ran). Not in $(...): a subshell cannot wait for this shell's children.
REAPED=""
reap() {
  local pid="$1" rc again
  while :; do
    rc=0
    wait "${pid}" 2>/dev/null || rc=$?
    if ((rc <= 128)) || ! alive "${pid}"; then break; fi
  done
  if ((rc > 128)); then # killed by a signal, or interrupted as it exited: ask once more
    again=0
    wait "${pid}" 2>/dev/null || again=$?
    ((again == 127)) || rc=${again}
  fi
  REAPED=${rc}
}

replica_pid() { cat "${RUN_DIR}/replica-$1.pid" 2>/dev/null || true; }

# The exit code recorded for pid in replica n's exits file, if it has exited.
exit_code_of() {
  awk -v pid="$2" '$2 == pid { print $3 }' "${RUN_DIR}/replica-$1.exits" 2>/dev/null || true
}

# --- up -------------------------------------------------------------------------------------

prepare_run_dir() {
  local previous
  previous="$(cat "${RUN_DIR}/local.pid" 2>/dev/null || true)"
  if alive "${previous}" && [[ ${previous} != "$$" ]]; then
    die "already running (pid ${previous}, run directory ${RUN_DIR}); stop it first"
  fi
  rm -f "${RUN_DIR}"/{local.pid,ready,stopping,nginx.pid,settings} "${RUN_DIR}"/replica-*.{pid,exits}
  local port
  for port in "${NGINX_PORT}" "${REPLICA_PORTS[@]}"; do
    ! port_in_use "${port}" || die "127.0.0.1:${port} is in use; choose other ports (--port, --replica-ports)"
  done
  printf '%s\n' "$$" >"${RUN_DIR}/local.pid"
  # What rolling-restart needs to know about this run.
  {
    printf 'REPLICA_PORTS=(%s)\n' "${REPLICA_PORTS[*]}"
    printf 'DRAIN=%q\nSHUTDOWN_TIMEOUT=%q\n' "${DRAIN_SECONDS:-5}" "${SHUTDOWN_TIMEOUT_SECONDS:-10}"
  } >"${RUN_DIR}/settings"
}

print_banner() {
  local url="http://${ROUTED_HOST}:${NGINX_PORT}/"
  cat <<EOF

favorite-athlete: 3 replicas (127.0.0.1:${REPLICA_PORTS[0]}, :${REPLICA_PORTS[1]}, :${REPLICA_PORTS[2]}) behind nginx
  URL:      ${url}
  try:      curl --resolve ${ROUTED_HOST}:${NGINX_PORT}:127.0.0.1 ${url}
  restart:  scripts/local.sh rolling-restart$([[ ${RUN_DIR} == "${ROOT}/build/local" ]] || printf ' --run-dir %q' "${RUN_DIR}")
  logs:     ${RUN_DIR}/{nginx-access,nginx,replica-1,replica-2,replica-3}.log
Ctrl-C stops everything (gracefully; twice: at once).

EOF
}

# Graceful stop: replicas first (SIGTERM: they drain, then exit), then nginx (SIGQUIT: finishes
# what it has in flight). Returns 1 if anything did not exit 0.
stop_all() {
  [[ ${STOPPING} == false ]] || return 0
  STOPPING=true
  trap force_stop INT TERM
  : >"${RUN_DIR}/stopping"
  log "stopping: SIGTERM to the replicas (they drain for ${DRAIN_SECONDS:-5} s), then nginx"
  local n pid rc status=0
  for n in 1 2 3; do
    pid="${REPLICA_PIDS[n - 1]}"
    if alive "${pid}"; then kill -TERM "${pid}"; fi
  done
  for n in 1 2 3; do
    pid="${REPLICA_PIDS[n - 1]}"
    [[ -n ${pid} ]] || continue
    reap "${pid}"
    rc=${REAPED}
    record_exit "${n}" "${pid}" "${rc}"
    REPLICA_PIDS[n - 1]=""
    log "replica ${n} (pid ${pid}) exited with ${rc}"
    ((rc == 0)) || status=1
  done
  if [[ -n ${NGINX_PID} ]]; then
    if alive "${NGINX_PID}"; then kill -QUIT "${NGINX_PID}"; fi
    reap "${NGINX_PID}"
    rc=${REAPED}
    log "nginx exited with ${rc}"
    ((rc == 0)) || status=1
  fi
  NGINX_PID=""
  rm -f "${RUN_DIR}/local.pid" "${RUN_DIR}/ready"
  return "${status}"
}

# Second Ctrl-C: a second signal makes each replica exit at once; nginx stops fast.
force_stop() {
  log "stopping at once"
  local pid
  for pid in "${REPLICA_PIDS[@]}" "${NGINX_PID}"; do
    if alive "${pid}"; then kill -TERM "${pid}"; fi
  done
  return 0
}

# On any exit: nothing this script started may outlive it.
cleanup() {
  local pid
  for pid in "${REPLICA_PIDS[@]}" "${NGINX_PID}" "${TICK_PID}"; do
    if alive "${pid}"; then kill -KILL "${pid}" 2>/dev/null || true; fi
  done
  if [[ -f ${RUN_DIR}/local.pid && $(<"${RUN_DIR}/local.pid") == "$$" ]]; then
    rm -f "${RUN_DIR}/local.pid" "${RUN_DIR}/ready"
  fi
  return 0
}

on_signal() {
  local status=0
  stop_all || status=1
  exit "${status}"
}

# Until a signal: restarts replicas that exit, ends the run if nginx exits.
supervise() {
  local pid rc n
  while :; do
    if ! alive "${TICK_PID}"; then
      sleep 1 &
      TICK_PID=$!
    fi
    pid=""
    rc=0
    wait -n -p pid || rc=$?
    [[ -n ${pid:-} && ${pid} != "${TICK_PID}" ]] || continue # a tick, or a signal's trap ran
    if [[ ${pid} == "${NGINX_PID}" ]]; then
      NGINX_PID=""
      stop_all || true
      die "nginx exited with ${rc} (see ${RUN_DIR}/nginx.log)"
    fi
    for n in 1 2 3; do
      if [[ ${pid} == "${REPLICA_PIDS[n - 1]}" ]]; then restart_replica "${n}" "${rc}"; fi
    done
  done
}

up() {
  ensure_nginx
  build
  prepare_run_dir
  trap cleanup EXIT
  trap on_signal INT TERM
  write_nginx_config
  start_replicas
  start_nginx
  : >"${RUN_DIR}/ready"
  print_banner
  supervise
}

# --- rolling restart ------------------------------------------------------------------------

rolling_restart() {
  local local_pid
  local_pid="$(cat "${RUN_DIR}/local.pid" 2>/dev/null || true)"
  if ! alive "${local_pid}" || [[ ! -f ${RUN_DIR}/ready ]]; then
    die "no running \`scripts/local.sh up\` with run directory ${RUN_DIR}"
  fi
  local DRAIN SHUTDOWN_TIMEOUT REPLICA_PORTS
  # shellcheck source=/dev/null
  source "${RUN_DIR}/settings"
  local n port old new rc t0 exited_after ready_after limit=$((DRAIN + SHUTDOWN_TIMEOUT + 5))
  for n in 1 2 3; do
    port="${REPLICA_PORTS[n - 1]}"
    old="$(replica_pid "${n}")"
    alive "${old}" || die "replica ${n} is not running"
    wait_status "${port}" /readyz localhost 200 10 || die "replica ${n} is not ready before its restart"
    t0=${EPOCHREALTIME}
    log "replica ${n} (pid ${old}, port ${port}): SIGTERM"
    kill -TERM "${old}"
    local deadline=$((SECONDS + limit))
    until rc="$(exit_code_of "${n}" "${old}")" && [[ -n ${rc} ]]; do
      ((SECONDS < deadline)) || die "replica ${n} (pid ${old}) did not exit within ${limit} s"
      sleep 0.05
    done
    exited_after="$(awk -v a="${t0}" -v b="${EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }')"
    [[ ${rc} == 0 ]] || die "replica ${n} (pid ${old}) exited with ${rc}, not 0"
    deadline=$((SECONDS + 30))
    until new="$(replica_pid "${n}")" && [[ ${new} != "${old}" ]] && alive "${new}" &&
      [[ $(http_status "${port}" /readyz localhost) == 200 ]]; do
      ((SECONDS < deadline)) || die "replica ${n} did not come back ready on port ${port} within 30 s"
      sleep 0.05
    done
    ready_after="$(awk -v a="${t0}" -v b="${EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }')"
    log "replica ${n}: exited 0 after ${exited_after} s; pid ${new} ready on port ${port} after ${ready_after} s"
    # It must stay ready (and alive) for a while, as minReadySeconds requires, before the next one
    # goes: nginx takes a replica that failed back only after its fail_timeout.
    deadline=$((${EPOCHREALTIME/./} + MIN_READY_SECONDS * 1000000))
    while ((${EPOCHREALTIME/./} < deadline)); do
      sleep 0.25
      [[ $(replica_pid "${n}") == "${new}" && $(http_status "${port}" /readyz localhost) == 200 ]] ||
        die "replica ${n} (pid ${new}) did not stay ready for ${MIN_READY_SECONDS} s"
    done
  done
  log "rolling restart done: 3 replicas restarted one at a time"
}

main() {
  parse_args "$@"
  case "${COMMAND}" in
  up) up ;;
  rolling-restart) rolling_restart ;;
  esac
}

main "$@"
