#!/usr/bin/env bash
# Builds the pinned binaries (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok,
# helm, dashboard-linter, SeaweedFS's weed that serves each region's object store, and the workload
# controllers the test members run: jobset, lws, kuberay, trainer) from their Go modules into a cache
# outside the repository, and prints a directory holding all of them on stdout. Progress goes to
# stderr: a cold build takes many minutes.
#
# A workload controller's step also copies its module's manifests (CRDs, webhook configurations) next
# to its binary, as <name>.config: the members install exactly what the pinned module ships, and a
# version bump brings its manifests with it (computenet.testing.controllers reads them).
#
# Versions are pinned by the wrapper modules under hack/tools/<name>/go.mod. Each build step has its
# own cache directory, named after everything that goes into its binaries (module versions, stamps,
# the Go version), so a change to one step rebuilds that step only: stamping helm differently does
# not rebuild the Kubernetes binaries. The printed directory is named after all the steps' keys and
# holds symbolic links to their binaries.
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
linter_version=$(modversion dashboard-linter github.com/grafana/dashboard-linter)
seaweedfs_version=$(modversion seaweedfs github.com/seaweedfs/seaweedfs)
jobset_version=$(modversion jobset sigs.k8s.io/jobset)
lws_version=$(modversion lws sigs.k8s.io/lws)
kuberay_version=$(modversion kuberay github.com/ray-project/kuberay/ray-operator)
trainer_version=$(modversion trainer github.com/kubeflow/trainer/v2)
go_version=$(go env GOVERSION)

kube_minor=${kube_version#v1.}
kube_minor=${kube_minor%%.*}
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

# helm learns the Kubernetes version it renders for (`.Capabilities.KubeVersion` of `helm template`
# without --kube-version, and the deprecation checks of `helm lint`) from these variables, which
# helm's own Makefile stamps (helm v3.22.0 Makefile, LDFLAGS). Stamped with the pinned Kubernetes the
# tests run, so the chart renders for the hub it is tested against.
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$kube_minor"
done

# Cache keys, one per build step; a key names everything its binaries are built from.
kube_key="kube-${kube_version}_${go_version}"
etcd_key="etcd-${etcd_version}_${go_version}"
kwok_key="kwok-${kwok_version}_${go_version}"
helm_key="helm-${helm_version}-k8s1.${kube_minor}_${go_version}"
linter_key="dashboard-linter-${linter_version}_${go_version}"
seaweedfs_key="seaweedfs-${seaweedfs_version}_${go_version}"
jobset_key="jobset-${jobset_version}_${go_version}"
lws_key="lws-${lws_version}_${go_version}"
kuberay_key="kuberay-${kuberay_version}_${go_version}"
trainer_key="trainer-${trainer_version}_${go_version}"

# name, cache key, wrapper module, package, ldflags[, module:directory of manifests to copy]
targets=(
  "etcd|$etcd_key|etcd|go.etcd.io/etcd/server/v3|-s -w"
  "kube-apiserver|$kube_key|kube|k8s.io/kubernetes/cmd/kube-apiserver|$kube_ldflags"
  "kube-controller-manager|$kube_key|kube|k8s.io/kubernetes/cmd/kube-controller-manager|$kube_ldflags"
  "kube-scheduler|$kube_key|kube|k8s.io/kubernetes/cmd/kube-scheduler|$kube_ldflags"
  "kwok|$kwok_key|kwok|sigs.k8s.io/kwok/cmd/kwok|-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version"
  "helm|$helm_key|helm|helm.sh/helm/v3/cmd/helm|$helm_ldflags"
  "dashboard-linter|$linter_key|dashboard-linter|github.com/grafana/dashboard-linter|-s -w"
  "weed|$seaweedfs_key|seaweedfs|github.com/seaweedfs/seaweedfs/weed|-s -w"
  "jobset|$jobset_key|jobset|sigs.k8s.io/jobset|-s -w -X sigs.k8s.io/jobset/pkg/version.GitVersion=$jobset_version|sigs.k8s.io/jobset:config"
  "lws|$lws_key|lws|sigs.k8s.io/lws/cmd|-s -w -X sigs.k8s.io/lws/pkg/version.GitVersion=$lws_version|sigs.k8s.io/lws:config"
  "kuberay|$kuberay_key|kuberay|github.com/ray-project/kuberay/ray-operator|-s -w|github.com/ray-project/kuberay/ray-operator:config"
  "trainer|$trainer_key|trainer|github.com/kubeflow/trainer/v2/cmd/trainer-controller-manager|-s -w|github.com/kubeflow/trainer/v2:manifests"
)

# Before each step had its own directory, one directory held every binary, named after all versions,
# with helm unstamped. Its Kubernetes, etcd and kwok binaries are exactly what their steps build now,
# so they are linked from there instead of being rebuilt; its helm is not (it lacks the stamp).
legacy="$cache_root/kube-${kube_version}_etcd-${etcd_version}_kwok-${kwok_version}_helm-${helm_version}_${go_version}"
legacy_names=" etcd kube-apiserver kube-controller-manager kube-scheduler kwok "

bin="$cache_root/${kube_key%_"$go_version"}_${etcd_key%_"$go_version"}_${kwok_key%_"$go_version"}"
bin+="_${helm_key%_"$go_version"}_${linter_key%_"$go_version"}_${seaweedfs_key%_"$go_version"}"
for key in "$jobset_key" "$lws_key" "$kuberay_key" "$trainer_key"; do
  bin+="_${key%_"$go_version"}"
done
bin+="_${go_version}"
mkdir -p "$bin"

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
  IFS='|' read -r name key module pkg ldflags assets <<<"$entry"
  i=$((i + 1))
  dir="$cache_root/$key"
  out="$dir/$name"
  mkdir -p "$dir"
  if [[ ! -x "$out" || ( -n "$assets" && ! -d "$out.config" ) ]]; then
    # One build at a time per step: a second caller (a test run next to a dev-up) waits for the first.
    exec 9>"$dir/.lock"
    if ! flock -n 9; then
      log "another build holds $dir/.lock; waiting for it"
      flock 9
    fi
  fi
  if [[ -x "$out" ]]; then
    :
  elif [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "${KUBEBUILDER_ASSETS}/$name" ]]; then
    log "[$i/$total] $name: using \$KUBEBUILDER_ASSETS/$name"
    ln -sf "${KUBEBUILDER_ASSETS}/$name" "$out"
  elif [[ "$legacy_names" == *" $name "* && -x "$legacy/$name" && ! -L "$legacy/$name" ]]; then
    log "[$i/$total] $name: taken from $legacy"
    ln -f "$legacy/$name" "$out" 2>/dev/null || cp -p "$legacy/$name" "$out"
  else
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
  fi
  if [[ -n "$assets" && ! -d "$out.config" ]]; then
    # The module cache is read-only: copy, make the copy removable, then move it in whole.
    src=$(cd "$tools/$module" && go list -m -f '{{.Dir}}' "${assets%%:*}")/${assets#*:}
    rm -rf "$out.config.partial.$$"
    cp -R "$src" "$out.config.partial.$$"
    chmod -R u+w "$out.config.partial.$$"
    mv -T "$out.config.partial.$$" "$out.config"
    log "[$i/$total] copied $name's manifests from ${assets%%:*}"
  fi
  exec 9>&-
  for suffix in "" ${assets:+.config}; do
    if [[ "$(readlink "$bin/$name$suffix" 2>/dev/null)" != "$out$suffix" ]]; then
      ln -sfn "$out$suffix" "$bin/$name$suffix.link.$$" && mv -T "$bin/$name$suffix.link.$$" "$bin/$name$suffix"
    fi
  done
done
log "binaries ready in $bin ($(( $(date +%s) - overall_start ))s)"
echo "$bin"
