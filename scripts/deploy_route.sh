# shellcheck shell=bash disable=SC2034,SC2153 # sets and reads build-and-deploy.sh's variables
# scripts/deploy_route.sh: the public route of build-and-deploy.sh, sourced by it (bash 3.2 clean, like
# the script: tests/deploy/bash32_lint.sh checks it): nginx, traefik or gateway, as manifests/README.md,
# "Which route?", describes them; the addon of each on minikube, and the generated kustomization.

ROUTE_DOC='manifests/README.md, "Which route?"'
INGRESS_OPTION="" # --ingress, --gateway, --controller-namespace (build-and-deploy.sh sets them)
GATEWAY_OPTION=""
CONTROLLER_NS_OPTION=""
# Set by route_configure: ROUTE (nginx, traefik or gateway); ROUTE_OVERLAY, its
# overlays/<minikube|traefik|gateway>; ROUTE_NS, the namespace that overlay's NetworkPolicy admits
# (the generated one patches any other CONTROLLER_NS); ROUTE_KIND and ROUTE_TITLE, what the
# diagnostics list and the messages name; ROUTE_DESCRIPTION, one line of the plan; INGRESS_CLASS
# (empty for gateway).
ROUTE="" ROUTE_OVERLAY="" ROUTE_NS="" ROUTE_KIND=ingress ROUTE_TITLE=Ingress ROUTE_DESCRIPTION=""
INGRESS_CLASS="" CONTROLLER_NS="" GATEWAY_NS="" GATEWAY_NAME=""

# Picks the route from --ingress, --gateway, --controller-namespace and the context's name.
route_configure() {
  local name='^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
  [[ -z $CONTROLLER_NS_OPTION || $CONTROLLER_NS_OPTION =~ $name ]] ||
    usage_error "--controller-namespace: '$CONTROLLER_NS_OPTION' is not a namespace name"
  if [[ -n $GATEWAY_OPTION ]]; then
    [[ -z $INGRESS_OPTION ]] || usage_error "--ingress and --gateway each pick the route: give one of them"
    GATEWAY_NS=${GATEWAY_OPTION%%/*}
    GATEWAY_NAME=${GATEWAY_OPTION#*/}
    [[ $GATEWAY_OPTION == */* && $GATEWAY_NS =~ $name && $GATEWAY_NAME =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] ||
      usage_error "--gateway: '$GATEWAY_OPTION' is not NAMESPACE/NAME (an existing Gateway's)"
    ROUTE=gateway ROUTE_OVERLAY=gateway ROUTE_NS=gateway ROUTE_KIND=httproute ROUTE_TITLE=HTTPRoute
    CONTROLLER_NS=${CONTROLLER_NS_OPTION:-$GATEWAY_NS}
    ROUTE_DESCRIPTION="HTTPRoute on the Gateway $GATEWAY_NS/$GATEWAY_NAME (overlays/gateway), NetworkPolicy admitting namespace $CONTROLLER_NS"
    return 0
  fi
  if [[ -z $CONTEXT ]]; then
    INGRESS_CLASS=${INGRESS_OPTION:-nginx}
    [[ $INGRESS_CLASS == nginx || $INGRESS_CLASS == traefik ]] ||
      usage_error "--ingress: minikube's addons are nginx (ingress) and traefik, not '$INGRESS_CLASS' (other classes: --context)"
    [[ -z $CONTROLLER_NS_OPTION ]] ||
      usage_error "--controller-namespace is for --context and --gateway (minikube's addons have fixed namespaces)"
  else
    INGRESS_CLASS=$INGRESS_OPTION
    [[ -n $INGRESS_CLASS || $CONTEXT != k3d-* ]] || INGRESS_CLASS=traefik # k3s's bundled Traefik
    INGRESS_CLASS=${INGRESS_CLASS:-nginx}
    [[ $INGRESS_CLASS =~ $name ]] || usage_error "--ingress: '$INGRESS_CLASS' is not an IngressClass name"
  fi
  # traefik has an overlay of its own; any other class takes nginx's with its class patched, and
  # the namespace of its controller, which only nginx's and traefik's have by default.
  case $INGRESS_CLASS in
  traefik) ROUTE=traefik ROUTE_OVERLAY=traefik ROUTE_NS=kube-system ;;
  *) ROUTE=nginx ROUTE_OVERLAY=minikube ROUTE_NS=ingress-nginx ;;
  esac
  CONTROLLER_NS=$CONTROLLER_NS_OPTION
  [[ -n $CONTROLLER_NS || $INGRESS_CLASS != "$ROUTE" ]] || CONTROLLER_NS=$ROUTE_NS
  [[ -n $CONTROLLER_NS ]] ||
    usage_error "--ingress $INGRESS_CLASS: give its controller's namespace with --controller-namespace NS (the NetworkPolicy admits only that one)"
  ROUTE_DESCRIPTION="Ingress class $INGRESS_CLASS (overlays/$ROUTE_OVERLAY), NetworkPolicy admitting namespace $CONTROLLER_NS"
}

# On minikube: the addon of the route, and its controller.
# minikube >= 1.39 (the first with the traefik addon), from 'minikube version --short' (v1.39.0).
check_minikube_version() {
  local v
  v=$(minikube version --short 2>/dev/null) || die "'minikube version --short' failed"
  [[ $v =~ ^v?([0-9]+)\.([0-9]+)(\.|$) ]] || die "cannot read minikube's version from '$v'"
  ((BASH_REMATCH[1] > 1 || (BASH_REMATCH[1] == 1 && BASH_REMATCH[2] >= 39))) ||
    die "--ingress traefik needs minikube >= 1.39 (its traefik addon); this is minikube ${v#v}: upgrade it (https://minikube.sigs.k8s.io/docs/start/) or use the default nginx route"
  log "minikube ${v#v} has the traefik addon"
}

# enable_addon ADDON OTHER: enables ADDON unless OTHER is enabled (read from 'minikube addons list
# -o json', no jq needed): the two bind the node's ports 80/443 and cannot run together, and this
# script never disables an addon.
enable_addon() {
  if [[ $DRY_RUN == 1 ]]; then
    log "checks first that the $2 addon is not enabled on profile $PROFILE (the two cannot run together; this script never disables an addon)"
  elif mk addons list -o json 2>/dev/null | tr -d ' \n\t' | grep "\"$2\":{[^}]*\"Status\":\"enabled\"" >/dev/null; then
    die "the $2 addon is enabled on minikube profile $PROFILE, and it cannot run beside the $1 addon. This script never disables an addon: run 'minikube -p $PROFILE addons disable $2' yourself (it removes that controller for everything on the profile), then run this again; or deploy with the $2 route instead"
  fi
  run minikube -p "$PROFILE" addons enable "$1" || die "enabling the $1 addon failed"
}

wait_ingress_addon() {
  # The addon's admission jobs create the webhook certificate and patch it into
  # the ValidatingWebhookConfiguration; until they complete and the controller
  # is ready, creating an Ingress fails. Wait on those conditions (never delete
  # the webhook configuration: it is what rejects broken Ingresses).
  # A dry run lists no jobs: it shows the wait for each with a placeholder name.
  local jobs="job/<each-admission-job>" j ns=ingress-nginx
  [[ $DRY_RUN == 1 ]] || jobs=$(k -n "$ns" get jobs -o name 2>/dev/null || true)
  if [[ -z $jobs ]]; then
    log "no admission jobs in $ns (already completed and cleaned up)"
  fi
  for j in $jobs; do
    log "waiting up to ${FA_ADDON_TIMEOUT_SECONDS}s for $j to complete"
    if ! run kubectl --context "$KCONTEXT" -n "$ns" wait --for=condition=complete "$j" --timeout="${FA_ADDON_TIMEOUT_SECONDS}s"; then
      # A completed job may be deleted by its TTL while we wait: that is success.
      if k -n "$ns" get "$j" >/dev/null 2>&1; then
        die "$j did not complete within ${FA_ADDON_TIMEOUT_SECONDS}s. It creates the admission webhook certificate; see 'kubectl -n $ns logs $j' (raise FA_ADDON_TIMEOUT_SECONDS on a slow machine)."
      fi
      log "$j finished and was cleaned up"
    fi
  done
  rollout "$ns" ingress-nginx-controller "$FA_ADDON_TIMEOUT_SECONDS" "image pull on a slow network? see the pods below; raise FA_ADDON_TIMEOUT_SECONDS"
  run kubectl --context "$KCONTEXT" -n "$ns" wait --for=condition=Ready pod -l app.kubernetes.io/component=controller --timeout="${FA_ADDON_TIMEOUT_SECONDS}s" ||
    die "the ingress controller pod was not Ready within ${FA_ADDON_TIMEOUT_SECONDS}s"
  [[ $DRY_RUN == 1 ]] || log "ingress controller ready"
}

# Step 3 on minikube: the route's addon enabled and its controller ready (gateway: nothing to
# enable, the Gateway is the cluster's; route_gateway checks it).
route_prepare_minikube() {
  case $ROUTE in
  nginx)
    log "ingress-nginx (the ingress addon, class nginx) is retired: no fixes since 2026-03-24, security ones included; the maintained routes (--ingress traefik, --gateway NS/NAME) are in $ROUTE_DOC"
    enable_addon ingress traefik
    wait_ingress_addon
    ;;
  traefik)
    if [[ $DRY_RUN == 1 ]]; then log "checks first that minikube is >= 1.39 (minikube version --short)"; else check_minikube_version; fi
    enable_addon traefik ingress
    rollout kube-system traefik "$FA_ADDON_TIMEOUT_SECONDS" "the addon's Helm release; see 'kubectl -n kube-system get pods -l app.kubernetes.io/name=traefik'; raise FA_ADDON_TIMEOUT_SECONDS"
    ;;
  gateway) log "no addon: the Gateway $GATEWAY_NS/$GATEWAY_NAME is the cluster's ($ROUTE_DOC installs one)" ;;
  esac
}

# Gateway API: the Gateway exists and has an address; the route is accepted.
# Sets NODE_IP (the Gateway's address, where curl --resolve sends the host).
route_gateway() {
  local gw="$GATEWAY_NS/$GATEWAY_NAME" out addr class
  if [[ $DRY_RUN == 1 ]]; then
    run kubectl --context "$KCONTEXT" -n "$GATEWAY_NS" get gateway "$GATEWAY_NAME" -o "jsonpath={.spec.gatewayClassName} {.status.addresses[0].value}"
    NODE_IP="<gateway-address>"
    return 0
  fi
  out=$(k -n "$GATEWAY_NS" get gateway "$GATEWAY_NAME" -o "jsonpath={.spec.gatewayClassName} {.status.addresses[0].value}" 2>&1) ||
    die "no Gateway $gw on context $KCONTEXT ($out). --gateway needs an existing Gateway (and the Gateway API CRDs): 'kubectl get gateways -A' lists them; $ROUTE_DOC installs NGINX Gateway Fabric and a sample Gateway"
  class=${out%% *}
  addr=${out#* }
  log "Gateway $gw: class $class, address ${addr:-<none yet>}"
  if [[ $addr =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    NODE_IP=$addr
  elif [[ -n $addr ]]; then
    NODE_IP=""
    [[ -n $HOST_OPTION ]] || die "the Gateway $gw's address is the name $addr, not an IPv4 address: give --host (a name that resolves to it)"
  else
    die "the Gateway $gw has no address yet (a LoadBalancer Service pending? on minikube keep 'minikube -p $PROFILE tunnel' running)"
  fi
}

# Waits until the Gateway has accepted the HTTPRoute and resolved its backend.
route_wait_accepted() {
  local gw="$GATEWAY_NS/$GATEWAY_NAME" deadline=$((SECONDS + FA_ADDON_TIMEOUT_SECONDS)) st=""
  # The route's status for our Gateway: "Accepted=True (reason: message); ResolvedRefs=True (...); ".
  local status="jsonpath={range .status.parents[?(@.parentRef.name==\"$GATEWAY_NAME\")]}{range .conditions[*]}{.type}={.status} ({.reason}: {.message}); {end}{end}"
  log "waiting up to ${FA_ADDON_TIMEOUT_SECONDS}s for the Gateway $gw to accept httproute/$APP (conditions Accepted and ResolvedRefs)"
  if [[ $DRY_RUN == 1 ]]; then
    run kubectl --context "$KCONTEXT" -n "$NAMESPACE" get httproute "$APP" -o "jsonpath={.status.parents}"
    return 0
  fi
  while :; do
    st=$(k -n "$NAMESPACE" get httproute "$APP" -o "$status" 2>/dev/null || true)
    if [[ $st == *"Accepted=True"* && $st == *"ResolvedRefs=True"* ]]; then
      log "the Gateway $gw accepted httproute/$APP: $st"
      return 0
    fi
    ((SECONDS < deadline)) || break
    sleep "$FA_POLL_INTERVAL_SECONDS"
  done
  [[ -n $st ]] || st="no status from the Gateway's controller (is the Gateway's class implemented in this cluster?)"
  die "the Gateway $gw did not accept httproute/$APP within ${FA_ADDON_TIMEOUT_SECONDS}s: $st. Check its listeners' allowedRoutes admit namespace $NAMESPACE ('kubectl -n $GATEWAY_NS describe gateway $GATEWAY_NAME')"
}

# The generated kustomization: the route's overlay and components, the tag, the host.
# route_patch TARGET PATCH...: one patch of the generated kustomization.
route_patch() {
  local target=$1 p
  shift
  echo "  - target: {$target}"
  echo "    patch: |-"
  for p in "$@"; do echo "      - {$p}"; done
}

write_overlay() { # write_overlay DIR HOST: the kustomization the script applies, in build/deploy/*/
  local dir=$1 host=$2 base=../../../manifests tls=tls
  local np="group: networking.k8s.io, version: v1, kind: NetworkPolicy, name: $APP"
  local np_ns="/spec/ingress/0/from/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name"
  local route="group: gateway.networking.k8s.io, version: v1, kind: HTTPRoute"
  [[ $ROUTE != gateway ]] || tls=gateway-tls
  {
    echo "# Generated by build-and-deploy.sh; do not edit (rewritten on every run)."
    echo "# Route: $ROUTE_DESCRIPTION."
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "resources:"
    echo "  - $base/overlays/$ROUTE_OVERLAY"
    if [[ $TLS == 1 || $AUTOSCALE == 1 ]]; then
      echo "components:"
      [[ $TLS == 0 ]] || echo "  - $base/components/$tls"
      [[ $AUTOSCALE == 0 ]] || echo "  - $base/components/autoscale"
    fi
    echo "images:"
    echo "  - name: $APP"
    echo "    newTag: \"$TAG\""
    echo "patches:"
    if [[ $ROUTE == gateway ]]; then
      local name names=$APP # with --tls, also the route that redirects plain HTTP
      [[ $TLS == 0 ]] || names="$APP $APP-redirect"
      for name in $names; do
        route_patch "$route, name: $name" "op: replace, path: /spec/hostnames/0, value: $host" \
          "op: replace, path: /spec/parentRefs/0/namespace, value: $GATEWAY_NS" \
          "op: replace, path: /spec/parentRefs/0/name, value: $GATEWAY_NAME"
      done
      [[ $TLS == 0 ]] || route_patch "group: gateway.networking.k8s.io, version: v1beta1, kind: ReferenceGrant, name: $TLS_SECRET" \
        "op: replace, path: /spec/from/0/namespace, value: $GATEWAY_NS"
    else
      local ing=("op: replace, path: /spec/rules/0/host, value: $host")
      [[ $TLS == 0 ]] || ing+=("op: replace, path: /spec/tls/0/hosts/0, value: $host")
      [[ $INGRESS_CLASS == "$ROUTE" ]] || ing+=("op: replace, path: /spec/ingressClassName, value: $INGRESS_CLASS")
      route_patch "group: networking.k8s.io, version: v1, kind: Ingress, name: $APP" "${ing[@]}"
    fi
    [[ $CONTROLLER_NS == "$ROUTE_NS" ]] ||
      route_patch "$np" "op: replace, path: $np_ns, value: $CONTROLLER_NS"
    if [[ $TLS == 1 ]]; then
      echo "secretGenerator:"
      echo "  - name: $TLS_SECRET"
      echo "    namespace: $NAMESPACE"
      echo "    type: kubernetes.io/tls"
      echo "    files: [tls.crt=tls/$host.crt, tls.key=tls/$host.key]"
      echo "generatorOptions:"
      echo "  disableNameSuffixHash: true"
      echo "  labels: {app.kubernetes.io/name: $APP, app.kubernetes.io/part-of: $APP, app.kubernetes.io/managed-by: kustomize}"
    fi
  } >"$dir/kustomization.yaml"
}

# Under --tls, plain HTTP must never answer the JSON: ingress-nginx redirects it (308), the
# Gateway's redirect route too (301), Traefik's TLS-only router answers 404 ($ROUTE_DOC). One GET
# of http://HOST/ (through the same address as the HTTPS check) shows which.
check_no_plain_http() {
  local url="http://$HOST/"
  local -a args=("$url")
  [[ -z $NODE_IP ]] || args=(--resolve "$HOST:80:$NODE_IP" "$url")
  ! get_json "$WORK/plain" "${args[@]}" ||
    die "with --tls, $url still answers the JSON over plain HTTP: the $ROUTE_KIND's controller serves it without TLS ($ROUTE_DOC says what each controller does)"
  [[ $DRY_RUN == 1 ]] || log "plain HTTP does not serve it: $url answered HTTP ${CODE:-none} (curl exit $RC)"
}
