# shellcheck shell=bash disable=SC2034,SC2153 # sets and reads build-and-deploy.sh's variables
# scripts/deploy_cluster.sh: what build-and-deploy.sh does in the cluster, sourced by it (bash 3.2
# clean, like the script: tests/deploy/bash32_lint.sh checks it): step 3 (minikube started with the
# route's addon, or an existing context that answers), step 5 (apply, rollout), step 6 (the answer),
# delete, and the diagnostics printed on failure.

# The tunnel command users must run: on Linux with a rootful driver (docker, podman), minikube
# tunnel only forwards 127.0.0.1:80/443 when bound to 127.0.0.1 explicitly (minikube's
# pkg/minikube/tunnel/kic).
tunnel_command() { printf 'minikube -p %s tunnel --bind-address=127.0.0.1' "$PROFILE"; }

check_context_cluster() {
  step "3/6 cluster" "context $CONTEXT (no minikube): the API server answers"
  CLUSTER_STEPS_STARTED=1
  # Where the route answers: 127.0.0.1, or the IP a --host <name>.<a.b.c.d>.nip.io stands for
  # (curl --resolve falls back to it; none for another name).
  NODE_IP=127.0.0.1
  [[ -z $HOST_OPTION ]] ||
    NODE_IP=$(printf '%s\n' "$HOST_OPTION" | sed -n 's/.*[.-]\([0-9]\{1,3\}\.[0-9]\{1,3\}\.[0-9]\{1,3\}\.[0-9]\{1,3\}\)\.nip\.io$/\1/p')
  run kubectl --context "$KCONTEXT" get --raw /readyz --request-timeout=20s >/dev/null ||
    die "the cluster of context $CONTEXT does not answer ('kubectl --context $CONTEXT get --raw /readyz' failed)"
  log "route: $ROUTE_DESCRIPTION"
  [[ $DRY_RUN == 0 ]] || return 0
  log "the cluster of context $CONTEXT answers; the route's controller, metrics-server and image access are up to that cluster"
  [[ $AUTOSCALE == 0 ]] || warn "--autoscale with --context: the HPA needs a metrics-server in that cluster (this script installs none)"
}

prepare_cluster() {
  step "3/6 cluster" "minikube profile $PROFILE; route: $ROUTE_DESCRIPTION"
  CLUSTER_STEPS_STARTED=1
  # A dry run reads nothing from the cluster: it shows the start as if the profile were stopped.
  if [[ $DRY_RUN == 0 ]] && mk status >/dev/null 2>&1; then
    log "minikube profile $PROFILE is running"
  else
    if [[ $DRY_RUN == 1 ]]; then
      log "minikube -p $PROFILE status decides: if the profile is not running, it is started"
    else
      log "minikube profile $PROFILE is not running: starting it (bounded by minikube's own --wait-timeout)"
    fi
    # shellcheck disable=SC2086 # FA_MINIKUBE_START_ARGS is a list of arguments
    run minikube -p "$PROFILE" start $FA_MINIKUBE_START_ARGS || die "minikube start failed (see its output above; 'minikube -p $PROFILE logs' has more)"
  fi
  route_prepare_minikube
  if [[ $AUTOSCALE == 1 ]]; then
    run minikube -p "$PROFILE" addons enable metrics-server || die "enabling the metrics-server addon failed"
    rollout kube-system metrics-server "$FA_ADDON_TIMEOUT_SECONDS" "the metrics-server addon; raise FA_ADDON_TIMEOUT_SECONDS"
  fi
  [[ $ROUTE == gateway ]] || minikube_address # a Gateway's address: route_gateway
}

# Sets NODE_IP (where the route answers): the node's IP, or 127.0.0.1 through a tunnel.
minikube_address() {
  if [[ $DRY_RUN == 1 ]]; then
    NODE_IP="<minikube-ip>"
    [[ $TUNNEL == 0 ]] || NODE_IP=127.0.0.1
    return 0
  fi
  NODE_IP=$(mk ip) || true # its error is on stderr; the check below stops
  [[ $NODE_IP =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "'minikube -p $PROFILE ip' gave '$NODE_IP', not an IPv4 address"
  log "minikube node IP: $NODE_IP"
  # Any HTTP answer (even nginx's 404) proves the node's port 80 is reachable.
  if [[ $TUNNEL == 0 ]] && curl -s -o /dev/null --max-time 5 "http://$NODE_IP/"; then return 0; fi
  if [[ $TUNNEL == 0 ]]; then
    warn "the minikube node IP $NODE_IP is not reachable from this machine. This is expected with the docker driver on macOS and Windows, where the node lives inside Docker's VM."
    warn "falling back to 'minikube tunnel' and 127.0.0.1.nip.io"
  fi
  NODE_IP=127.0.0.1
  log "using 127.0.0.1: run '$(tunnel_command)' in another terminal now (it may ask for your password to bind ports 80/443) and leave it running"
  log "on Linux with the docker or podman driver, minikube tunnel forwards 127.0.0.1:80/443 only with --bind-address=127.0.0.1, as in that command"
}

# Step 5: the generated overlay applied, then the rollout waited for.
make_certificate() { # self-signed, reused while valid for another day; for Secret $TLS_SECRET
  local dir=$1 host=$2
  if [[ -s $dir/tls/$host.crt && -s $dir/tls/$host.key ]] &&
    openssl x509 -checkend 86400 -noout -in "$dir/tls/$host.crt" >/dev/null 2>&1; then
    log "reusing the self-signed certificate for $host"
    return 0
  fi
  log "making a self-signed certificate for $host (openssl; valid 365 days; Secret $TLS_SECRET)"
  run mkdir -p "$dir/tls"
  (umask 077 && run -q openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 365 \
    -subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
    -keyout "$dir/tls/$host.key" -out "$dir/tls/$host.crt") ||
    die "openssl could not make a certificate (needs OpenSSL >= 1.1.1 for -addext)"
}

apply_manifests() {
  step "5/6 apply" "kubectl apply -k ($IMAGE, host $HOST), then rollout status"
  if [[ $DRY_RUN == 1 ]]; then
    render_plan
  else
    mkdir -p "$OVERLAY_DIR"
    write_overlay "$OVERLAY_DIR" "$HOST"
    log "generated $OVERLAY_DIR/kustomization.yaml"
  fi
  [[ $TLS == 0 ]] || make_certificate "$OVERLAY_DIR" "$HOST"

  local attempt=1 attempts=5 out
  log "applying: up to $attempts attempts (retried only while ingress-nginx's admission webhook starts)"
  while :; do
    log "apply attempt $attempt/$attempts"
    if out=$(run kubectl --context "$KCONTEXT" apply -k "$OVERLAY_DIR" 2>&1); then
      printf '%s\n' "$out"
      break
    fi
    printf '%s\n' "$out" >&2
    case $out in
    *"failed calling webhook"* | *"validate.nginx.ingress.kubernetes.io"*)
      ((attempt < attempts)) ||
        die "the ingress-nginx admission webhook still refused the Ingress after $attempts attempts; check 'kubectl -n $CONTROLLER_NS get pods' (never delete its ValidatingWebhookConfiguration)"
      log "the admission webhook is not answering yet; retrying in ${FA_POLL_INTERVAL_SECONDS}s"
      sleep "$FA_POLL_INTERVAL_SECONDS"
      attempt=$((attempt + 1))
      ;;
    *) die "kubectl apply failed (not a webhook start-up error, so not retried)" ;;
    esac
  done

  rollout "$NAMESPACE" "$DEPLOYMENT" "$FA_ROLLOUT_TIMEOUT_SECONDS" "the old pods keep serving: maxUnavailable is 0"
}

# rollout NAMESPACE DEPLOYMENT SECONDS WHY: every wait for a Deployment (the app's, an addon's),
# bounded; WHY says what to look at when it is late.
rollout() {
  log "waiting up to ${3}s for deployment/$2 in $1 to roll out"
  run kubectl --context "$KCONTEXT" -n "$1" rollout status "deployment/$2" --timeout="${3}s" ||
    die "deployment/$2 did not finish rolling out within ${3}s ($4)"
}

# Dry run: the kustomization it would write and what that renders to (kubectl kustomize: local, no
# cluster), written at the same place under WORK beside a link to the checkout's manifests; under
# --tls the certificate files are placeholders (openssl makes them at deploy time).
render_plan() {
  local dir="$WORK/plan/${OVERLAY_DIR#"$ROOT"/}"
  mkdir -p "$dir/tls"
  ln -s "$ROOT/manifests" "$WORK/plan/manifests"
  write_overlay "$dir" "$HOST"
  log "would write $OVERLAY_DIR/kustomization.yaml:"
  sed 's/^/    | /' "$dir/kustomization.yaml" >&2
  if [[ $TLS == 1 ]]; then
    echo "placeholder" >"$dir/tls/$HOST.crt"
    echo "placeholder" >"$dir/tls/$HOST.key"
  fi
  log "it renders to (kubectl kustomize$([[ $TLS == 0 ]] || echo '; the Secret holds placeholders')):"
  kubectl kustomize "$dir" >"$WORK/plan/rendered.yaml" || die "kubectl kustomize of the generated kustomization failed"
  sed 's/^/    > /' "$WORK/plan/rendered.yaml" >&2
}

# get_json FILE CURL_ARG... URL: one GET asking for the JSON, its body in FILE (curl's errors in
# FILE.err); true when it is the answer (a body with "myFavoriteAthlete"). Sets CODE (the HTTP
# status) and RC (curl's exit status), which the messages show. A dry run prints the curl command
# and returns false.
get_json() {
  local body=$1
  shift
  local -a curl=(curl -sS --max-time 5 -H "Accept: application/json" -o "$body" -w "%{http_code}" "$@")
  RC=0 CODE=""
  if [[ $DRY_RUN == 1 ]]; then
    run "${curl[@]}"
    return 1
  fi
  CODE=$("${curl[@]}" 2>"$body.err") || RC=$?
  ((RC == 0)) && grep -q '"myFavoriteAthlete"' "$body"
}

# Step 6: the answer, polled until it is the JSON.
check_answer() {
  local scheme=http port=80
  [[ $TLS == 0 ]] || {
    scheme=https
    port=443
  }
  URL=$scheme://$HOST/
  step "6/6 verify" "waiting up to ${FA_HTTP_TIMEOUT_SECONDS}s for $URL to answer the JSON {\"myFavoriteAthlete\":...} (curl every ${FA_POLL_INTERVAL_SECONDS}s)"
  local body="$WORK/body" deadline=$((SECONDS + FA_HTTP_TIMEOUT_SECONDS))
  local -a args=("$URL")
  [[ $TLS == 0 ]] || args=(--cacert "$OVERLAY_DIR/tls/$HOST.crt" "$URL")
  RESOLVE_HINT=""
  # The poll repeats one curl (not logged each time); a dry run shows it once.
  until get_json "$body" "${args[@]}"; do
    [[ $DRY_RUN == 0 ]] || break
    if ((RC == 6)) && [[ -z $RESOLVE_HINT && -n $NODE_IP ]]; then
      # nip.io names are not resolving here (offline DNS, or a resolver with DNS
      # rebinding protection that drops answers pointing to private IPs).
      warn "cannot resolve $HOST via DNS; nip.io may be blocked by this network's resolver. Using curl --resolve $HOST:$port:$NODE_IP instead."
      RESOLVE_HINT="--resolve $HOST:$port:$NODE_IP"
      args=(--resolve "$HOST:$port:$NODE_IP" "${args[@]}")
      continue
    fi
    if ((SECONDS >= deadline)); then
      err "no JSON answer from $URL within ${FA_HTTP_TIMEOUT_SECONDS}s (last: curl exit $RC, HTTP ${CODE:-none}: $(head -c 200 "$body" 2>/dev/null || true)$(cat "$body.err" || true))"
      if [[ -z $CONTEXT && $NODE_IP == 127.0.0.1 ]]; then
        die "127.0.0.1 needs '$(tunnel_command)' running in another terminal"
      fi
      die "the pods are ready but the $ROUTE_TITLE did not answer; check 'kubectl -n $NAMESPACE describe $ROUTE_KIND $APP' and the logs of its controller (namespace $CONTROLLER_NS)"
    fi
    sleep "$FA_POLL_INTERVAL_SECONDS"
  done
  [[ $DRY_RUN == 1 ]] || ANSWER=$(cat "$body")
  [[ $TLS == 0 ]] || check_no_plain_http
}

# delete: everything the script applied (it all lives in the namespace: the Namespace is part of the
# manifests), the images it loaded into minikube, the generated overlay.
delete_all() {
  STEP="delete"
  local where="minikube profile $PROFILE" img images="$APP:<each-loaded-tag>"
  [[ -z $CONTEXT ]] || where="context $CONTEXT"
  log "=== removing $APP from $where"
  # A dry run reads nothing from the cluster: it shows the removal as if the profile were
  # running, with a placeholder for the image tags 'minikube image ls' would list.
  if [[ -z $CONTEXT && $DRY_RUN == 0 ]] && ! mk status >/dev/null 2>&1; then
    log "minikube profile $PROFILE is not running: nothing deployed to remove"
  else
    CLUSTER_STEPS_STARTED=1
    run kubectl --context "$KCONTEXT" delete namespace "$NAMESPACE" --ignore-not-found --wait=true --timeout="${FA_DELETE_TIMEOUT_SECONDS}s" ||
      die "namespace $NAMESPACE was not deleted within ${FA_DELETE_TIMEOUT_SECONDS}s (see 'kubectl get namespace $NAMESPACE -o yaml' for what blocks it)"
    if [[ -z $CONTEXT ]]; then
      [[ $DRY_RUN == 1 ]] || images=$(mk image ls 2>/dev/null | grep -E "(^|/)$APP:" || true)
      for img in $images; do
        run minikube -p "$PROFILE" image rm "$img" || warn "could not remove image $img"
      done
    fi
  fi
  run rm -rf "$OVERLAY_DIR"
  if [[ -n $CONTEXT ]]; then
    log "done. Images loaded into that cluster's nodes are left to its own garbage collection."
  else
    log "done. Left in place (may predate this script): the minikube profile and its ingress/metrics-server addons."
    log "to remove those too: minikube -p $PROFILE addons disable ingress (or traefik); or minikube delete -p $PROFILE"
  fi
}

# On failure after step 3 (on stderr): what the cluster says about the deployment, its failing
# pods and the route's controller.
diagnostics() {
  [[ $CLUSTER_STEPS_STARTED == 1 && $DRY_RUN == 0 ]] || return 0
  set +e
  local pods p
  echo "=================== diagnostics (context $KCONTEXT) ==================="
  show 50 -n "$NAMESPACE" get "deployment,replicaset,pods,service,$ROUTE_KIND,endpointslices" -o wide
  show 25 -n "$NAMESPACE" get events --sort-by=.lastTimestamp
  # Pods whose containers are not all ready: describe them and show their logs.
  pods=$(k --request-timeout=15s -n "$NAMESPACE" get pods -l "app.kubernetes.io/name=$APP" \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.containerStatuses[*].ready}{"\n"}{end}' 2>/dev/null |
    awk '$0 !~ / true$/ && NF > 0 {print $1}' | head -n 2)
  for p in $pods; do
    show 30 -n "$NAMESPACE" describe pod "$p"
    show 50 -n "$NAMESPACE" logs "$p" --all-containers
    k --request-timeout=15s -n "$NAMESPACE" logs "$p" --all-containers --tail=50 --previous 2>/dev/null # none: no restart
  done
  show 50 -n "$CONTROLLER_NS" get jobs,pods -o wide
  echo "======================================================================"
  set -e
}

show() { # show LINES KUBECTL_ARGS...: the command, then the last LINES lines of what it says
  local lines=$1
  shift
  echo "--- kubectl $* (last $lines lines)"
  k --request-timeout=15s "$@" 2>&1 | tail -n "$lines"
}
