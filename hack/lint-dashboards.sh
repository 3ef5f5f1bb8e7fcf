#!/usr/bin/env bash
# Lints the chart's Grafana dashboards with Grafana's own dashboard linter (pinned in
# hack/tools/dashboard-linter, built and cached by hack/build-binaries.sh), every rule in strict mode:
# templated datasource, job and instance; job and instance matchers in every query; rate intervals;
# units, titles and descriptions on every panel; not editable. Run by `make verify`.
#   hack/lint-dashboards.sh                 # every charts/computenet/dashboards/*.json
#   hack/lint-dashboards.sh path/to/x.json  # just these
set -euo pipefail
cd "$(dirname "$0")/.."

linter="$(hack/build-binaries.sh)/dashboard-linter"
if [[ $# -gt 0 ]]; then
  dashboards=("$@")
else
  dashboards=(charts/computenet/dashboards/*.json)
fi

failed=0
for dashboard in "${dashboards[@]}"; do
  # The linter prints every rule's description; only the findings of a failing dashboard matter.
  if ! out=$("$linter" lint --strict "$dashboard" 2>&1); then
    printf '%s:\n' "$dashboard" >&2
    grep -v '^Checks ' <<<"$out" | sed 's/^/  /' >&2
    failed=1
  fi
done
if [[ $failed -ne 0 ]]; then
  echo "lint-dashboards: fix the findings above (\`$linter rules\` explains each rule)" >&2
  exit 1
fi
echo "lint-dashboards: ${#dashboards[@]} dashboards pass" >&2
