#!/usr/bin/env bash
# The same local federation as `make dev-up`, for people who have Docker: a hub and members as
# kind clusters, each member given the simulated GPU nodes of `computenet.testing.topology` and a
# kwok process playing their lifecycle. Needs docker, kind and the binaries of hack/build-binaries.sh.
#   MEMBERS=3 hack/kind-up.sh        # kubeconfigs land in .dev/ as with dev-up
#   kind delete clusters computenet-hub computenet-member-1 ...   # to tear down
set -euo pipefail
cd "$(dirname "$0")/.."
members=${MEMBERS:-2}
bin=$(hack/build-binaries.sh)
py=${PYTHON:-.venv/bin/python}
mkdir -p .dev
kind create cluster --name computenet-hub --kubeconfig .dev/hub.kubeconfig
for i in $(seq 1 "$members"); do
  kc=.dev/member-$i.kubeconfig
  kind create cluster --name "computenet-member-$i" --kubeconfig "$kc"
  "$py" -m computenet.testing.topology "$i" | kubectl --kubeconfig "$kc" apply -f -
  nohup "$bin/kwok" --kubeconfig "$kc" --config operator/computenet/testing/kwok-stages.yaml \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake >".dev/kwok-member-$i.log" 2>&1 &
  echo "member-$i: kubectl --kubeconfig $kc get nodes   (kwok pid $!)"
done
