#!/usr/bin/env bash
# build_k8s.sh: prints the directory holding kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet and kube-proxy 1.20, built from Debian 12's `kubernetes` source package
# (its Go dependencies are vendored: GOPROXY=off, -mod=vendor, nothing is downloaded but the
# source package). Built once and cached OUTSIDE the clone, keyed by the source version and the
# Go version, so CI and later runs on the same machine find it:
#   ${FA_K8S_CACHE:-/var/cache/favorite-athlete/k8s-1.20}/<key>/bin
# A cold build takes 7-15 minutes on 2 cores (380 MiB kept); a warm call returns at once.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

readonly COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
readonly CACHE="${FA_K8S_CACHE:-/var/cache/favorite-athlete/k8s-1.20}"

# The newest `kubernetes` source version of the machine's Debian release (scripts/lib.sh's private
# APT configuration: the machine's own apt sources are not changed).
source_version() {
  local v apt_config
  apt_config="$(private_apt_config "$(debian_release)")"
  v="$(APT_CONFIG="${apt_config}" apt-cache showsrc kubernetes | sed -n 's/^Version: //p' | sort -V | tail -n1)"
  [[ ${v} == 1.20.* ]] || die "Debian's kubernetes source package is '${v:-missing}', expected 1.20.x (Debian 12)"
  printf '%s\n' "${v}"
}

# The source tree of VERSION, fetched once into the cache (complete when it has its Makefile).
fetch_source() { debian_source_dir kubernetes "kubernetes=$1" "${CACHE}/src/$1" Makefile; }

# Builds COMPONENTS in SRC (as debian/rules does: GOPATH symlink, CGO off) into OUT/bin.
build() {
  local src="$1" out="$2" tmp
  tmp="${out}.tmp.$$"
  rm -rf "${tmp}" "${src}/_output" && mkdir -p "${tmp}/bin" "${tmp}/home" # no half-built leftovers
  mkdir -p "${src}/.go/src/k8s.io"
  [[ -L ${src}/.go/src/k8s.io/kubernetes ]] || ln -s ../../.. "${src}/.go/src/k8s.io/kubernetes"
  log "building kubernetes ${COMPONENTS[*]} in ${src} (10-15 minutes cold)"
  local what
  what="$(printf 'cmd/%s ' "${COMPONENTS[@]}")"
  (cd "${src}" && env HOME="${tmp}/home" GOPATH="${src}/.go" GOCACHE="${CACHE}/gocache" \
    GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0 GOMAXPROCS=2 \
    make WHAT="${what% }" >"${tmp}/build.log" 2>&1) ||
    {
      tail -n 30 "${tmp}/build.log" >&2
      die "kubernetes build failed (log: ${tmp}/build.log)"
    }
  local c
  for c in "${COMPONENTS[@]}"; do install -m 0755 "${src}/_output/bin/${c}" "${tmp}/bin/${c}"; done
  rm -rf "${tmp:?}/home" "${out:?}"
  mv "${tmp}" "${out}"
}

main() {
  command -v go >/dev/null || die "go is not installed (Debian package golang-go)"
  local version key out
  version="$(source_version)"
  key="$(printf '%s %s %s' "${version}" "$(go env GOVERSION)" "${COMPONENTS[*]}" | sha256sum | cut -c1-16)"
  out="${CACHE}/${key}"
  mkdir -p "${CACHE}"
  exec 9>"${CACHE}/.lock"
  flock 9 # one build at a time; a second caller waits and then finds it cached
  if [[ ! -f ${out}/bin/kube-proxy ]]; then
    build "$(fetch_source "${version}")" "${out}"
    printf 'kubernetes source %s, %s, %s\n' "${version}" "$(go env GOVERSION)" "${COMPONENTS[*]}" >"${out}/VERSION"
    rm -rf "${CACHE:?}/src/${version}" # 2.8 GiB of sources and Go build cache; refetched if needed
    log "built into ${out}/bin"
  fi
  printf '%s/bin\n' "${out}"
}

main "$@"
