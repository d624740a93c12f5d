# The VI Book task runner. The README's two commands are `make book` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The book's build machines have a CPU build of torch 2.13.0 on disk; elsewhere this resolves
# from PyPI. Override with e.g. `make test TORCH_SPEC='torch'`.
TORCH_SPEC ?= torch==2.13.0
MATHJAX_DIR := tools/mathjax
MATHJAX := $(MATHJAX_DIR)/node_modules/mathjax/es5/tex-chtml.js
JB := $(VENV)/bin/jupyter-book

.PHONY: book reader wheel test execute install mathjax browser unit clean lint

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[book,test,dev]"
	touch $@

mathjax: $(MATHJAX)

$(MATHJAX): $(MATHJAX_DIR)/package.json $(MATHJAX_DIR)/package-lock.json
	cd $(MATHJAX_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Headless Chromium for the rendered-HTML test (Debian package; needs root and apt-get).
browser:
	@bash tools/ensure_chromium.sh

WHEEL_DIR := _build/html/_downloads/wheel

## Build the HTML book from the committed (nbval-verified) outputs: _build/html/index.html, with
## the reader notebooks (served by the download/launch buttons) and vi_lib's wheel beside it.
book: $(STAMP) $(MATHJAX) reader
	$(JB) build . --keep-going
	$(MAKE) wheel

## Reader notebooks: each chapter as plain Jupyter Markdown with its outputs, in reader/ (commit them).
reader: $(STAMP)
	$(PY) tools/export_reader_notebooks.py

## vi_lib as a wheel: _build/html/_downloads/wheel/vi_lib-<version>-py3-none-any.whl
wheel: $(STAMP)
	rm -rf build $(WHEEL_DIR)
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation -w $(WHEEL_DIR) .
	rm -rf build

## Everything CI runs: unit tests, nbval over every chapter, -W book build, rendered-HTML check,
## reader notebooks (up to date, nbconvert HTML in Chromium, run in a fresh venv from the wheel).
test: $(STAMP) $(MATHJAX) browser
	$(PY) -m pytest

## Re-execute every chapter in place with the reproducibility settings (updates stored outputs).
execute: $(STAMP)
	$(PY) tools/execute_notebooks.py

lint: $(STAMP)
	$(VENV)/bin/ruff check vi_lib tests tools benchmarks

clean:
	rm -rf _build
