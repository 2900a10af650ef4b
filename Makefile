# pgoutput-decoder: every task a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: setup
setup: ## install what a fresh machine lacks (PostgreSQL server binaries, Rust tools)
	@scripts/bootstrap.sh

.PHONY: build
build: setup ## build the release CLI
	$(CARGO) build --release -p pgoutput-decoder-cli

.PHONY: demo
demo: build ## live CDC demo on a throwaway PostgreSQL (ARGS=--keep leaves it running)
	./target/release/pgoutput-decoder demo $(ARGS)

.PHONY: lint
lint: ## rustfmt and clippy, warnings are errors; no import circles between modules
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	python3 scripts/module-cycles.py --self-test
	python3 scripts/module-cycles.py

.PHONY: test-rust
test-rust: ## Rust unit, integration and conformance tests
	$(CARGO) nextest run --workspace --no-fail-fast
	$(CARGO) test --workspace --doc

.PHONY: python-dev
python-dev: setup ## build the Python package into .venv (with pytest, mypy, ruff)
	scripts/python-env.sh

.PHONY: lint-python
lint-python: python-dev ## ruff and mypy --strict on the package, tests, examples, bench and scripts; stubtest on the stubs
	.venv/bin/ruff check python tests examples bench scripts
	.venv/bin/ruff format --check python tests examples bench scripts
	.venv/bin/mypy
	.venv/bin/mypy --strict examples
	.venv/bin/mypy --strict tests
	.venv/bin/mypy --strict scripts
# The stubs against the compiled module. Run outside the source tree: from here mypy would
# find the package twice (the files setting and the editable install).
	cd / && $(CURDIR)/.venv/bin/python -m mypy.stubtest pgoutput_decoder \
		--allowlist $(CURDIR)/python/stubtest-allowlist.txt

.PHONY: test-python
test-python: python-dev ## the pytest suite (throwaway clusters, examples included)
	.venv/bin/python -m pytest -q

.PHONY: test-matrix
test-matrix: setup python-dev ## the Rust and Python suites on PostgreSQL 12-18, the Python suite on CPython 3.9-3.13 (long; a summary table at the end)
	scripts/test-matrix.py

.PHONY: test-matrix-smoke
test-matrix-smoke: setup python-dev ## CI's part of the matrix: versions.rs on PostgreSQL 12 and 18, the Python smoke tests on CPython 3.9 and 3.13
	scripts/test-matrix.py --smoke

.PHONY: kit-conformance
kit-conformance: ## the reference conformance kit's runner (../shared/conformance), if present
	scripts/kit-conformance.sh

.PHONY: test-faults
test-faults: ## fault-injection tests including the long ones (1,000,000-row transaction, 1,000,000-row snapshot killed mid-way)
	$(CARGO) nextest run -p pgoutput-decoder --test faults --run-ignored all
	$(CARGO) nextest run -p pgoutput-decoder-cli --test snapshot_kill --run-ignored all

.PHONY: test
test: setup lint lint-python test-rust test-python ## everything CI runs: lint, then every test suite

.PHONY: fmt
fmt: ## format the code
	$(CARGO) fmt --all

.PHONY: clean
clean: ## remove build outputs
	$(CARGO) clean

.PHONY: bench
bench: ## throughput benchmark vs pg_recvlogical, psycopg2 and Debezium (bench/README.md; BENCH_SCALE=0.01 for a quick run)
	bench/setup.sh
	bench/.venv/bin/python bench/run.py

.PHONY: bench-soak
bench-soak: ## memory soak of the CLI and the Python API on a continuous insert stream (SOAK_SECONDS, default 600)
	bench/setup.sh
	bench/.venv/bin/python bench/soak.py
