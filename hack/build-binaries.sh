#!/usr/bin/env bash
# Builds the pinned control-plane binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok, helm) from their Go modules into a cache outside the repository, and prints
# that directory on stdout. Progress goes to stderr, because a cold build takes many minutes.
#
# Versions are pinned by the wrapper modules under hack/tools/<name>/go.mod; the cache directory is
# named after them, so a binary is rebuilt only when its pinned version changes.
# A binary already present in $KUBEBUILDER_ASSETS is used instead of building it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tools="$here/tools"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/computenet/bin"

log() { printf '[build-binaries] %s\n' "$*" >&2; }

modversion() { # module-dir module-path
  (cd "$tools/$1" && go list -m -f '{{.Version}}' "$2")
}

kube_version=$(modversion kube k8s.io/kubernetes)
etcd_version=$(modversion etcd go.etcd.io/etcd/server/v3)
kwok_version=$(modversion kwok sigs.k8s.io/kwok)
helm_version=$(modversion helm helm.sh/helm/v3)
go_version=$(go env GOVERSION)

bin="$cache_root/kube-${kube_version}_etcd-${etcd_version}_kwok-${kwok_version}_helm-${helm_version}_${go_version}"
mkdir -p "$bin"

# One build at a time per cache: a second caller (a test run next to a dev-up) waits for the first.
exec 9>"$bin/.lock"
if ! flock -n 9; then
  log "another build holds $bin/.lock; waiting for it"
  flock 9
fi

kube_minor=${kube_version#v1.}
kube_minor=${kube_minor%%.*}
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

# name, wrapper module, package, ldflags
targets=(
  "etcd|etcd|go.etcd.io/etcd/server/v3|-s -w"
  "kube-apiserver|kube|k8s.io/kubernetes/cmd/kube-apiserver|$kube_ldflags"
  "kube-controller-manager|kube|k8s.io/kubernetes/cmd/kube-controller-manager|$kube_ldflags"
  "kube-scheduler|kube|k8s.io/kubernetes/cmd/kube-scheduler|$kube_ldflags"
  "kwok|kwok|sigs.k8s.io/kwok/cmd/kwok|-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version"
  "helm|helm|helm.sh/helm/v3/cmd/helm|-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
)

# A heartbeat, so that a person watching a cold build knows it is still working.
heartbeat() {
  local name=$1 start=$2
  while sleep 30; do
    log "still building $name ($(( $(date +%s) - start ))s so far)"
  done
}

total=${#targets[@]}
i=0
overall_start=$(date +%s)
for entry in "${targets[@]}"; do
  IFS='|' read -r name module pkg ldflags <<<"$entry"
  i=$((i + 1))
  out="$bin/$name"
  if [[ -x "$out" ]]; then
    continue
  fi
  if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "${KUBEBUILDER_ASSETS}/$name" ]]; then
    log "[$i/$total] $name: using \$KUBEBUILDER_ASSETS/$name"
    ln -sf "${KUBEBUILDER_ASSETS}/$name" "$out"
    continue
  fi
  log "[$i/$total] building $name from $pkg (cold builds take minutes on 2 cores)"
  start=$(date +%s)
  heartbeat "$name" "$start" &
  hb=$!
  # Build into a temporary name so an interrupted build never leaves a half-written binary behind.
  if ! (cd "$tools/$module" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.partial.$$" "$pkg"); then
    kill "$hb" 2>/dev/null || true
    rm -f "$out.partial.$$"
    log "[$i/$total] FAILED to build $name: command was (cd hack/tools/$module && go build $pkg)"
    exit 1
  fi
  kill "$hb" 2>/dev/null || true
  wait "$hb" 2>/dev/null || true
  mv "$out.partial.$$" "$out"
  log "[$i/$total] built $name in $(( $(date +%s) - start ))s"
done
log "binaries ready in $bin ($(( $(date +%s) - overall_start ))s)"
echo "$bin"
