#!/usr/bin/env bash
# Keeps the Helm chart's CRDs identical to the generated ones: copies crds/*.yaml into
# charts/computenet/crds/ and removes chart CRDs that no longer have a source.
#
#   hack/sync-chart-crds.sh            copy (make chart-crds)
#   hack/sync-chart-crds.sh --check    change nothing; exit 1 naming every file that differs,
#                                      is missing or is stale (make verify)
#
# Two optional arguments replace the source and destination directories (used by the tests).
set -euo pipefail

usage() { echo "usage: $0 [--check] [SRC_DIR DST_DIR]" >&2; exit 2; }

check=false
if [[ "${1:-}" == "--check" ]]; then
  check=true
  shift
fi
case $# in
  0)
    root=$(cd "$(dirname "$0")/.." && pwd)
    src="$root/crds"
    dst="$root/charts/computenet/crds"
    ;;
  2)
    src=$1
    dst=$2
    ;;
  *) usage ;;
esac

[[ -d "$src" ]] || { echo "no such directory: $src" >&2; exit 2; }
shopt -s nullglob
sources=("$src"/*.yaml)
if (( ${#sources[@]} == 0 )); then
  echo "no CRDs in $src: generate them first (make crds)" >&2
  exit 2
fi

drift=()
for f in "${sources[@]}"; do
  name=$(basename "$f")
  if [[ ! -f "$dst/$name" ]]; then
    drift+=("$dst/$name: missing (source $f)")
  elif ! cmp -s "$f" "$dst/$name"; then
    drift+=("$dst/$name: differs from $f")
  fi
done
for f in "$dst"/*.yaml; do
  name=$(basename "$f")
  if [[ ! -f "$src/$name" ]]; then
    drift+=("$f: stale (no $src/$name)")
  fi
done

if $check; then
  if (( ${#drift[@]} > 0 )); then
    printf '%s\n' "${drift[@]}" >&2
    echo "chart CRDs are out of date: run make chart-crds" >&2
    exit 1
  fi
  exit 0
fi

mkdir -p "$dst"
for f in "$dst"/*.yaml; do
  [[ -f "$src/$(basename "$f")" ]] || rm -f "$f"
done
cp "${sources[@]}" "$dst/"
if (( ${#drift[@]} > 0 )); then
  printf 'fixed %s\n' "${drift[@]}"
fi
