# joinedup: the front door. `make` lists the recipes.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

SURVEY ?= interactions_2025
REFERENCE_EXPORT := data/reference/interactions_2025_export.csv
EXPORT ?=
SURVEY_EXPORT = $(or $(EXPORT),$(REFERENCE_EXPORT))
OUT ?= reports/out
SEED ?= 20250116
TEST_WORKERS ?= 2

.PHONY: help install report survey joq test verify lint reference-data docs bench eval-real fuzz clean

help: ## Show this list of recipes
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0 numpy
	@$(PY) -c "import sys, torch; sys.exit(torch.version.cuda is not None)" || { \
		echo "error: pip installed a CUDA build of torch ($$($(PY) -c 'import torch; print(torch.__version__)'))." >&2; \
		echo "joinedup needs the CPU build: install it from the CPU index and run make install again:" >&2; \
		echo "  $(PY) -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" >&2; \
		echo "(or put that wheel in pip's find-links; see README 'Installing')" >&2; exit 2; }
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv (CPU torch first) and install joinedup with its dev tools

report: $(STAMP) ## Run the survey on EXPORT=path (SURVEY=name: drafts a spec first if there is none), report path last; no EXPORT: reference survey + JOQ months
	@if [ -z "$(EXPORT)" ] && [ "$(SURVEY)" = interactions_2025 ] && $(VENV)/bin/joinedup joq --help >/dev/null 2>&1 && [ -d data/reference/joq ]; then \
		$(VENV)/bin/joinedup joq reference --out $(OUT); fi
	@if [ ! -f schemas/surveys/$(SURVEY)/questionnaire.yaml ]; then \
		$(VENV)/bin/joinedup survey init $(SURVEY_EXPORT) --survey $(SURVEY) || exit $$?; fi
	@if grep -q '^status: draft' schemas/surveys/$(SURVEY)/questionnaire.yaml; then \
		echo "note: schemas/surveys/$(SURVEY)/ is a DRAFT spec: the report is marked DRAFT until you review it and set status: reviewed"; \
		$(VENV)/bin/joinedup survey run $(SURVEY_EXPORT) --survey $(SURVEY) --out $(OUT) --allow-draft; \
	else $(VENV)/bin/joinedup survey run $(SURVEY_EXPORT) --survey $(SURVEY) --out $(OUT); fi

test: $(STAMP) ## Lint (ruff check + format check), run the test suite (TEST_WORKERS=2 processes, one test file each at a time), and verify the published figures
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile
	$(VENV)/bin/joinedup survey verify $(SURVEY_EXPORT) --survey $(SURVEY) --out $(OUT)

verify: $(STAMP) ## Regenerate tables from the reference export and compare with the published figures
	$(VENV)/bin/joinedup survey verify $(SURVEY_EXPORT) --survey $(SURVEY) --out $(OUT)

lint: $(STAMP) ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

reference-data: $(STAMP) ## Regenerate the synthetic reference data (survey + JOQ months) byte-identically
	$(PY) -m tools.reference.survey_generator --seed $(SEED) --out data/reference
	$(PY) -m tools.reference.joq_generator --out data/reference

docs: $(STAMP) ## Regenerate generated docs (data dictionary)
	$(VENV)/bin/joinedup survey dictionary --survey $(SURVEY) --out docs/questionnaire.md

bench: $(STAMP) ## Run the benchmarks (not part of make test; 10k/100k/1M rows, JOQ embedding at 237/5,000 answers, a 50,000-answer month through the CLI, whole commands; BENCH_SIZES=10000 BENCH_JOQ_LARGE= for a quick run)
	$(PY) -m tools.benchmarks.run --sizes $${BENCH_SIZES:-10000,100000,1000000} --joq $${BENCH_JOQ:-237,5000} --joq-large $${BENCH_JOQ_LARGE-50000} --repeat $${BENCH_REPEAT:-3}

eval-real: $(STAMP) ## Coding quality on real human-coded text (../shared/external/coded) -> docs/coding-quality.md (not part of make test; EVAL_MONTHS=1 for a quick run)
	$(PY) -m tools.eval.run --months $${EVAL_MONTHS:-5}

fuzz: $(STAMP) ## Fuzz the ingest for FUZZ_SECONDS (default 60) and report inputs tried
	$(PY) -m pip install --quiet -c constraints.txt -e '.[fuzz]'
	$(PY) -m tests.fuzz_ingest --seconds $${FUZZ_SECONDS:-60}

clean: ## Remove generated outputs (keeps .venv)
	rm -rf $(OUT) .pytest_cache .ruff_cache
