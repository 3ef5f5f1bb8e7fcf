#!/usr/bin/env bash
# The upstream ClusterProfile CRD (multicluster.x-k8s.io/v1alpha1, SIG-Multicluster's Cluster
# Inventory API, KEP-4322), copied byte for byte from the pinned sigs.k8s.io/cluster-inventory-api
# Go module into hack/upstream/, where the integration tests install it on the hub.
#   hack/cluster-inventory-crd.sh          # refresh the copy (after changing the pin)
#   hack/cluster-inventory-crd.sh --check  # fail if the copy differs from the pinned module's file
set -euo pipefail

version=v0.1.2
module=sigs.k8s.io/cluster-inventory-api
file=config/crd/bases/multicluster.x-k8s.io_clusterprofiles.yaml
here=$(cd "$(dirname "$0")" && pwd)
copy="$here/upstream/$(basename "$file")"

dir=$(cd "$here" && GOFLAGS=-mod=mod go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -n "$dir" && -f "$dir/$file" ]] || { echo "cluster-inventory-crd: $module@$version has no $file" >&2; exit 1; }

if [[ "${1:-}" == "--check" ]]; then
  if ! cmp -s "$dir/$file" "$copy"; then
    echo "cluster-inventory-crd: $copy differs from $module@$version $file: run hack/cluster-inventory-crd.sh" >&2
    exit 1
  fi
  exit 0
fi
mkdir -p "$(dirname "$copy")"
cp "$dir/$file" "$copy"
chmod 0644 "$copy"
echo "$copy"
