# shellcheck shell=bash disable=SC2034,SC2153 # sets and reads build-and-deploy.sh's variables
# scripts/deploy_image.sh: the image of build-and-deploy.sh, sourced by it (bash 3.2 clean, like the
# script: tests/deploy/bash32_lint.sh checks it): its tag, its build (step 2) and its way into the
# cluster (step 4); sets TAG, IMAGE, REVISION, VERSION.

# The tag: the git commit, plus -dirty-<hash of the changes> for uncommitted work, so every distinct
# build gets a distinct tag and a rerun of the same tree gets the same one (nothing to roll out).
# Without git (a downloaded archive), a checksum of the source files does the same job.
source_checksum() {
  (cd "$ROOT" && find . \( -name .git -o -name build -o -name .deps -o -name node_modules \) -prune -o -type f -print |
    LC_ALL=C sort | while IFS= read -r f; do
    printf '%s ' "$f"
    cksum <"$f"
  done | cksum | cut -d' ' -f1)
}

compute_tag() {
  REVISION=unknown
  VERSION=unknown
  local git=0
  if command -v git >/dev/null 2>&1 && git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    git=1
    REVISION=$(git -C "$ROOT" rev-parse HEAD)
    VERSION=$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo "$REVISION")
  fi
  if [[ -n ${FA_IMAGE_TAG:-} ]]; then
    TAG=$FA_IMAGE_TAG
  elif ((git == 0)); then
    TAG="src-$(source_checksum)"
    log "no git checkout (or no git): tagging with a checksum of the sources"
  else
    TAG=$(git -C "$ROOT" rev-parse --short=12 HEAD)
    if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=normal) ]]; then
      local changes
      changes=$(cd "$ROOT" && {
        git diff HEAD --binary
        git ls-files --others --exclude-standard | while IFS= read -r f; do
          printf '%s %s\n' "$f" "$(git hash-object -- "$f")"
        done
      } | git hash-object --stdin)
      TAG="$TAG-dirty-${changes:0:8}"
    fi
  fi
  [[ $TAG =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ && $TAG != latest ]] || die "invalid image tag '$TAG'"
  IMAGE="$APP:$TAG"
  # podman names a local image localhost/<name>; the full docker.io name makes the image resolve
  # as plain "favorite-athlete:<tag>" in the cluster, as the pods expect.
  BUILD_REF=$IMAGE
  [[ $ENGINE != podman ]] || BUILD_REF="docker.io/library/$IMAGE"
}

# Step 2: the build; the image's build stage runs the unit tests and a smoke test (the test gate).
build_image() {
  local tests="unit tests and smoke test in the build stage"
  [[ $SKIP_TESTS == 0 ]] || tests="in-build tests skipped (--skip-tests)"
  step "2/6 build" "building $IMAGE from Dockerfile.alpine with $ENGINE ($tests)"
  [[ -f $ROOT/Dockerfile.alpine || $DRY_RUN == 1 ]] || die "Dockerfile.alpine not found in $ROOT"
  local -a args=(build)
  # The docker format keeps HEALTHCHECK (OCI has no such field).
  [[ $ENGINE != podman ]] || args+=(--format docker)
  args+=(-f "$ROOT/Dockerfile.alpine" -t "$BUILD_REF" --build-arg "REVISION=$REVISION" --build-arg "VERSION=$VERSION")
  [[ $SKIP_TESTS == 0 ]] || args+=(--build-arg SKIP_TESTS=1)
  run "$ENGINE" "${args[@]}" "$ROOT" ||
    die "the image build failed; a failing unit test or smoke test in the build stage fails it too (see above). Nothing was deployed."
}

# Step 4: into the cluster, never through a registry.
save_archive() { # save_archive FILE: the image as a docker-archive
  if [[ $ENGINE == podman ]]; then
    run podman save --format docker-archive -o "$1" "$BUILD_REF" || die "podman save failed"
  else
    run docker save -o "$1" "$IMAGE" || die "docker save failed"
  fi
}

load_image_minikube() {
  local ref=$IMAGE
  if [[ $ENGINE == podman ]]; then
    ref="$WORK/image.tar"
    save_archive "$ref"
  fi
  run minikube -p "$PROFILE" image load "$ref" || die "minikube image load failed"
  [[ $DRY_RUN == 0 ]] || return 0
  # grep reads the whole list (no -q): under pipefail an early exit would SIGPIPE minikube.
  mk image ls 2>/dev/null | grep "$APP:$TAG\$" >/dev/null ||
    die "$IMAGE is not in minikube's image list after loading ('minikube -p $PROFILE image ls')"
  log "$IMAGE is in the cluster"
}

load_image_archive() {
  local tar="$WORK/image.tar" cmd=${IMAGE_LOAD#archive:}
  save_archive "$tar"
  # shellcheck disable=SC2086 # CMD is a command line split on spaces, as documented
  run $cmd "$tar" "$IMAGE" || die "--image-load archive: '$cmd $tar $IMAGE' failed"
}

load_image() {
  step "4/6 load" "loading $IMAGE into the cluster with --image-load $IMAGE_LOAD (no registry, no push)"
  case $IMAGE_LOAD in
  minikube) load_image_minikube ;;
  kind) run kind load docker-image "$IMAGE" --name "${CONTEXT#kind-}" || die "kind load docker-image failed" ;;
  k3d) run k3d image import "$IMAGE" -c "${CONTEXT#k3d-}" || die "k3d image import failed" ;;
  none) log "--image-load none: nothing to load, the cluster uses $ENGINE's images" ;;
  archive:*) load_image_archive ;;
  esac
}
