# computenet: run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PY      := $(VENV)/bin/python
MEMBERS ?= 2
MEMBER_MODES ?= push
CONTROLLERS ?= jobset,lws,kuberay
DEV_DIR ?= .dev
PYTEST_ARGS ?=

# The pinned control-plane binaries (built once, cached outside the repository).
BIN_DIR = $(shell hack/build-binaries.sh)

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the virtual environment with the package and its dev tools.

.PHONY: binaries
binaries: ## Build (or find cached) etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, helm and dashboard-linter.
	@echo "binaries in $(BIN_DIR)"

.PHONY: dev-up
dev-up: venv ## Start a hub and $(MEMBERS) members on loopback with an S3 object store per region, install the CRDs, register the members, run the operator with its plugin endpoint, write $(DEV_DIR)/user.kubeconfig for a plugin user and print the exports kubectl computenet needs. MEMBER_MODES=push,pull runs member-2 on through an agent (pull mode); CONTROLLERS=jobset,lws,kuberay,trainer adds the Kubeflow trainer.
	COMPUTENET_BIN_DIR=$(BIN_DIR) $(PY) -m computenet.testing.devenv up --dir $(DEV_DIR) --members $(MEMBERS) --member-modes $(MEMBER_MODES) --controllers $(CONTROLLERS)

.PHONY: dev-down
dev-down: venv ## Stop everything dev-up started (operator included).
	$(PY) -m computenet.testing.federation down --dir $(DEV_DIR)

.PHONY: test
test: venv ## Run the whole test suite (unit, integration against real control planes, e2e).
	hack/install-prometheus.sh
	COMPUTENET_BIN_DIR=$(BIN_DIR) $(PY) -m pytest $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: venv ## The whole suite but the slow scenarios (about 25 minutes instead of 30).
	COMPUTENET_BIN_DIR=$(BIN_DIR) $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

.PHONY: test-slow
test-slow: venv ## Run the slow scenarios only (the 20-kill standby test: about 5 to 10 minutes).
	COMPUTENET_BIN_DIR=$(BIN_DIR) $(PY) -m pytest -m slow $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: venv ## Run the unit tests only (no cluster).
	$(PY) -m pytest -m "not cluster" $(PYTEST_ARGS)

.PHONY: lint
lint: venv ## ruff, mypy (strict) and the import layering contracts.
	$(VENV)/bin/ruff check operator tests bench hack
	$(VENV)/bin/ruff format --check operator tests bench hack
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

.PHONY: crds
crds: venv ## Regenerate crds/, docs/api.md and the chart's copy of the CRDs from the API models.
	$(PY) -m computenet.api.generate
	hack/sync-chart-crds.sh

.PHONY: chart-crds
chart-crds: ## Copy crds/*.yaml into the Helm chart (charts/computenet/crds/).
	hack/sync-chart-crds.sh

.PHONY: verify
verify: lint ## Lint (dashboards with Grafana's linter too), and fail if generated or vendored files drifted.
	$(PY) -m computenet.api.generate --check
	hack/sync-chart-crds.sh --check
	hack/lint-dashboards.sh
	hack/cluster-inventory-crd.sh --check

.PHONY: bench
bench: venv ## Run the benchmarks; they print numbers (JSON lines) and never fail the build.
	@for b in bench/bench_*.py; do echo "== $$b"; COMPUTENET_BIN_DIR=$(BIN_DIR) $(PY) $$b || exit 1; done
