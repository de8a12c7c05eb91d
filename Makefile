# The two commands: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
VENV := .venv/bin
REPLICAS ?=
PYTEST_ARGS ?=

.PHONY: help setup setup-test run test lint unit integration contract e2e chaos bench soak nlu-bench faq-bench doc-bench eval train clean

help:
	@echo "make run        start the whole helpdesk locally (REPLICAS=\"nlp=2 dialogue=3\" for more replicas; SECRETS=file.json for a model key)"
	@echo "make test       lint, type-check and run the test suite (unit, contract, integration, e2e)"
	@echo "make chaos      fault-injection suite against the real stack"
	@echo "make bench      load benchmark against the running stack (after make run)"
	@echo "make soak       30 minutes at 60 % of capacity against the running stack: memory, bounds, pending, lost turns"
	@echo "make nlu-bench TRAIN=... TEST=...   intent benchmark;  make faq-bench FAQ=... QUERIES=...   retrieval benchmark"
	@echo "make doc-bench DOCS=... QUERIES=...   document retrieval benchmark (SQuAD-format JSON, or a folder + queries.jsonl)"
	@echo "make eval DATASET=...   offline evaluation of a golden set"

setup:
	@scripts/setup.sh

setup-test:
	@SETUP_TEST=1 scripts/setup.sh

run: setup
	@$(VENV)/helpdeskctl up --replicas "$(REPLICAS)" $(if $(SECRETS),--secrets "$(SECRETS)")

test: setup-test lint
	@$(VENV)/pytest -m "not chaos" $(PYTEST_ARGS)

lint:
	@$(VENV)/ruff check .
	@$(VENV)/ruff format --check .
	@$(VENV)/mypy helpdesk services helpdesk_ops
	@$(VENV)/lint-imports

unit:
	@$(VENV)/pytest tests/unit $(PYTEST_ARGS)

integration: setup
	@$(VENV)/pytest tests/integration $(PYTEST_ARGS)

contract:
	@$(VENV)/pytest tests/contract $(PYTEST_ARGS)

e2e: setup-test
	@$(VENV)/pytest tests/e2e $(PYTEST_ARGS)

# Offline evaluation of a golden set through the answering code; non-zero below the thresholds (a CI gate).
DATASET ?= bench/data/golden.jsonl
VARIANTS ?=
eval:
	@$(VENV)/python -m helpdesk_ops.evaluate --dataset "$(DATASET)" --variants "$(VARIANTS)"

nlu-bench:
	@test -n "$(TRAIN)" -a -n "$(TEST)" || { echo "usage: make nlu-bench TRAIN=<csv|clinc json> TEST=<csv|clinc json>"; exit 2; }
	@$(VENV)/helpdeskctl nlu bench --train "$(TRAIN)" --test "$(TEST)" $(NLU_BENCH_ARGS)

clean:
	rm -rf .run test-artifacts .pytest_cache .mypy_cache .ruff_cache

# FAQ retrieval benchmark with the dialogue service's own index: make faq-bench FAQ=faq.jsonl QUERIES=queries.jsonl
# (FAQ may also be knowledge/; LATENCY_ENTRIES=1000 pads the index to time queries at that size; DOCS=<folder> indexes
# those documents' passages beside the entries). Last line: JSON.
faq-bench:
	@test -n "$(FAQ)" -a -n "$(QUERIES)" || { echo "usage: make faq-bench FAQ=<faq.jsonl|dir> QUERIES=<queries.jsonl> [LATENCY_ENTRIES=1000]"; exit 2; }
	@$(VENV)/python -m bench.faq_bench --faq "$(FAQ)" --queries "$(QUERIES)" $(if $(LATENCY_ENTRIES),--latency-entries $(LATENCY_ENTRIES)) $(if $(DOCS),--docs "$(DOCS)")

# Document retrieval benchmark with the dialogue service's own index: make doc-bench DOCS=<squad.json|folder> QUERIES=<squad.json|queries.jsonl>
# (e.g. DOCS=QUERIES=../shared/data/jsquad/valid-v1.3.json, or DOCS=bench/data/manuals QUERIES=bench/data/manuals-queries.jsonl;
# HALF=tune|heldout keeps one half of the queries). Last line: JSON.
doc-bench:
	@test -n "$(DOCS)" -a -n "$(QUERIES)" || { echo "usage: make doc-bench DOCS=<squad.json|folder> QUERIES=<squad.json|queries.jsonl> [HALF=tune|heldout]"; exit 2; }
	@$(VENV)/python -m bench.doc_bench --docs "$(DOCS)" --queries "$(QUERIES)" $(if $(HALF),--half $(HALF))

BENCH_ARGS ?=
bench:
	@test -f .run/stack.json || { echo "start the stack first: make run (in another terminal)"; exit 1; }
	@$(VENV)/python -m bench.load $(BENCH_ARGS)

# Soak (after make run): holds 60 % of capacity (measured by a short search unless SOAK_ARGS gives --capacity
# or --rate) for 30 minutes and stops by itself; PASS/FAIL per criterion, last line JSON, exit 1 on a FAIL.
#   make soak SOAK_ARGS="--minutes 3 --capacity 45 --sample-seconds 15"
SOAK_ARGS ?=
soak:
	@test -f .run/stack.json || { echo "start the stack first: make run (in another terminal)"; exit 1; }
	@$(VENV)/python -m bench.soak $(SOAK_ARGS)

chaos: setup-test
	@$(VENV)/pytest tests/chaos -m chaos -p no:cacheprovider $(PYTEST_ARGS)

# The integration suite on another Dapr runtime, built the same way as the pinned one and cached beside it,
# with the Azure components' metadata checked against that runtime's components-contrib:
#   make integration-dapr DAPR_VERSION=1.16.0
.PHONY: integration-dapr
integration-dapr:
	@test -n "$(DAPR_VERSION)" || { echo "usage: make integration-dapr DAPR_VERSION=1.x.y"; exit 2; }
	@DAPR_VERSION="$(DAPR_VERSION)" scripts/setup.sh
	@daprd="$$(DAPR_VERSION="$(DAPR_VERSION)" scripts/build-daprd.sh 2>/dev/null | tail -n 1)"; echo "daprd: $$daprd ($$("$$daprd" --version))"
	@DAPR_VERSION="$(DAPR_VERSION)" $(VENV)/pytest tests/contract/test_azure_components.py tests/contract/test_azure_mutations.py tests/integration $(PYTEST_ARGS)
