#!/usr/bin/env bash
# stub.bash: every tool build-and-deploy.sh calls (docker, podman, minikube, kubectl, curl, kind,
# k3d, sleep), in one file: deploy_helpers.bash links each name to it, and it answers as the tool
# it is called as (stub_<tool> below). Every call is recorded in $FA_STUB_LOG; state lives in
# $FA_STUB_STATE. One mechanism makes any call fail, as a test needs, another answer otherwise:
#   FA_STUB_FAIL          an extended regex; a call whose line ("kubectl --context ... apply -k
#                         DIR") matches it exits 1, printing FA_STUB_FAIL_MESSAGE on stderr
#   FA_STUB_FAIL_FIRST    only the first N matching calls fail (default: every one)
#   FA_STUB_ANSWER        an extended regex; a call matching it prints FA_STUB_ANSWER_TEXT and
#                         exits 0, instead of its usual answer below
# The other FA_STUB_* variables set what a tool answers (named where they are read). The stub uses
# only tools of the script's own minimal PATH (cat, grep, sort: deploy_helpers.bash POSIX_TOOLS).
set -euo pipefail
: "${FA_STUB_LOG:?FA_STUB_LOG not set}" "${FA_STUB_STATE:?FA_STUB_STATE not set}"

# The argument after FLAG among ARGS (empty if none): arg_after FLAG ARGS...
arg_after() {
  local flag=$1 prev="" a
  shift
  for a in "$@"; do
    [[ $prev != "$flag" ]] || break
    prev=$a
    a=""
  done
  printf '%s' "$a"
}

# docker, podman, kind and k3d are only recorded. The others match their subcommand anywhere in
# the call (" get gateway "), so flags such as --context, -n and -p need no parsing; the object a
# call names is its last argument.

# How long the script wanted to sleep is in the log; 0.1 s lets deadlines measured with $SECONDS
# pass within a test.
stub_sleep() { "$FA_REAL_SLEEP" 0.1; }

# A file in $FA_STUB_STATE says whether minikube "runs", another lists the images loaded into it.
stub_minikube() {
  local images="$FA_STUB_STATE/minikube-images" last=${!#} a st
  : >>"$images"
  case " $* " in
  *" status "*)
    [[ -f $FA_STUB_STATE/minikube-running ]] || {
      echo "host: Stopped"
      exit 7
    }
    echo "host: Running"
    ;;
  *" start "*) : >"$FA_STUB_STATE/minikube-running" ;;
  *" addons list "*)
    # FA_STUB_ADDONS_ENABLED: the addons enabled on the profile (space-separated), as -o json lists them.
    printf '{'
    for a in ingress traefik metrics-server; do
      st=disabled
      [[ " ${FA_STUB_ADDONS_ENABLED:-} " != *" $a "* ]] || st=enabled
      printf '\n    "%s": {\n        "Profile": "minikube",\n        "Status": "%s"\n    },' "$a" "$st"
    done
    printf '\n    "yakd": {"Profile": "minikube", "Status": "disabled"}\n}\n'
    ;;
  *" version --short "*) echo v1.39.0 ;;
  *" ip "*) echo 192.168.49.2 ;;
  *" image load "*) full_name "$last" >>"$images" ;;
  *" image ls "*) sort -u "$images" ;;
  *" image rm "*)
    grep -vxF "$(full_name "$last")" "$images" >"$images.new" || true
    cat "$images.new" >"$images"
    ;;
  *) ;;
  esac
}
full_name() { # as minikube lists an image: docker.io/library/NAME:TAG
  local i=${1#docker.io/}
  echo "docker.io/library/${i#library/}"
}

# kubectl: `apply -k DIR` renders DIR with the real kubectl ($FA_REAL_KUBECTL kustomize) into
# $FA_STUB_STATE/applied.yaml, so the tests can check exactly what would have been applied;
# `kustomize DIR` renders to stdout. The rest are canned answers
# (any context exists: a test makes `config get-contexts` fail with FA_STUB_FAIL).
stub_kubectl() {
  local last=${!#}
  case " $* " in
  *" get gateway "*) echo "nginx 192.168.49.100" ;; # CLASS ADDRESS
  # The route's conditions from its Gateway, as the script's jsonpath prints them.
  *" get httproute "*) echo "Accepted=True (Accepted: Accepted); ResolvedRefs=True (ResolvedRefs: ResolvedRefs); " ;;
  *" kustomize "*) "$FA_REAL_KUBECTL" kustomize "$last" ;;
  *" apply -k "*) "$FA_REAL_KUBECTL" kustomize "$last" >"$FA_STUB_STATE/applied.yaml" ;;
  *" get jobs "*) printf '%s\n' job.batch/ingress-nginx-admission-create job.batch/ingress-nginx-admission-patch ;;
  *" get pods "*jsonpath*) printf '%s\n' "favorite-athlete-7c9d8-abcde false" "favorite-athlete-7c9d8-fghij true" ;;
  *" logs "*) echo "stub log of $(arg_after logs "$@"): listen failed" ;;
  *) ;;
  esac
}

# curl: a bare-IP URL is the script's "is the node reachable" probe. For the nip.io URL:
# FA_STUB_CURL_NO_DNS=1 fails name resolution (exit 6) unless --resolve is given; plain HTTP to a
# deployment with TLS (an Ingress tls entry or a route on the https listener) is redirected
# unless FA_STUB_HTTP_PLAIN=1 (the controller serves the JSON over plain HTTP too); else HTTP 200
# with the JSON, or with FA_STUB_CURL_BODY when set (another answer).
# The URL is the last argument; -w "%{http_code}" asks for the status code on stdout.
stub_curl() {
  local url=${!#} out code=200 json='{"myFavoriteAthlete":"Usain Bolt"}'
  out=$(arg_after -o "$@")
  out=${out:-/dev/stdout}
  if [[ $url =~ ^https?://[0-9.]+/ ]]; then
    echo "<html>404 Not Found</html>" >"$out"
    return 0
  elif [[ ${FA_STUB_CURL_NO_DNS:-0} == 1 && " $* " != *" --resolve "* ]]; then
    echo "curl: (6) Could not resolve host" >&2
    exit 6
  elif [[ $url == http://* && ${FA_STUB_HTTP_PLAIN:-0} == 0 ]] &&
    grep -qE 'secretName: favorite-athlete-tls|sectionName: https' "$FA_STUB_STATE/applied.yaml" 2>/dev/null; then
    : >"$out"
    code=308
  else
    printf '%s' "${FA_STUB_CURL_BODY:-$json}" >"$out"
  fi
  [[ " $* " != *" -w "* ]] || printf '%s' "$code"
}

main() {
  local tool=${0##*/} call n=0
  call="$tool $*"
  printf '%s\n' "$call" >>"$FA_STUB_LOG"
  printf '%s KUBECONFIG=%s\n' "$tool" "${KUBECONFIG-<unset>}" >>"$FA_STUB_STATE/env.log"
  if [[ -n ${FA_STUB_FAIL:-} && $call =~ $FA_STUB_FAIL ]]; then
    [[ ! -f $FA_STUB_STATE/failed ]] || n=$(<"$FA_STUB_STATE/failed")
    n=$((n + 1))
    echo "$n" >"$FA_STUB_STATE/failed"
    if [[ -z ${FA_STUB_FAIL_FIRST:-} ]] || ((n <= FA_STUB_FAIL_FIRST)); then
      echo "${FA_STUB_FAIL_MESSAGE:-stub: this call fails (FA_STUB_FAIL)}" >&2
      exit 1
    fi
  fi
  if [[ -n ${FA_STUB_ANSWER:-} && $call =~ $FA_STUB_ANSWER ]]; then
    printf '%s\n' "${FA_STUB_ANSWER_TEXT:-}"
  elif declare -F "stub_$tool" >/dev/null; then
    "stub_$tool" "$@"
  fi
}

main "$@"
