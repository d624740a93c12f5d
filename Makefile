# The VI Book task runner. The README's two commands are `make book` and `make test`.
# The GitHub workflows (.github/workflows/) only call targets of this file.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# PINNED=1 (the default) installs the exact versions of requirements/lock.txt; PINNED=0 installs
# the newest releases that pyproject.toml admits (`make test-latest`, the weekly check).
PINNED ?= 1
STAMP := $(VENV)/.installed-$(if $(filter 1,$(PINNED)),locked,latest)
LOCK := requirements/lock.txt
# The book's build machines have a CPU build of torch 2.13.0 on disk; elsewhere this resolves
# from PyPI. Override with e.g. `make test TORCH_SPEC='torch'`.
TORCH_VERSION ?= 2.13.0
TORCH_SPEC ?= torch==$(TORCH_VERSION)
MATHJAX_DIR := tools/mathjax
MATHJAX := $(MATHJAX_DIR)/node_modules/mathjax/es5/tex-chtml.js
JB := $(VENV)/bin/jupyter-book
PDF := _build/latex/the-vi-book.pdf

.PHONY: book reader wheel test test-latest execute install mathjax browser latex pdf site lock unit clean lint

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
ifeq ($(PINNED),1)
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
else
	$(PY) -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[book,test,dev]"
	mkdir -p _build && $(PY) -m pip freeze --exclude-editable > _build/latest-versions.txt
	@echo "newest releases installed (_build/latest-versions.txt):" && cat _build/latest-versions.txt
endif
	rm -f $(VENV)/.installed-*
	touch $@

## Refresh requirements/lock.txt from pyproject.toml (uv; the lock is for CPython 3.11 on
## x86_64 Linux, the build machines and CI). torch is installed by TORCH_SPEC and left out of the
## lock, but resolved as its CPU build so that torch's own dependencies are pinned without CUDA
## wheels: from pip's find-links where the machine has the wheel on disk, else PyTorch's CPU index.
TORCH_CPU_SOURCE ?= $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS),--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)
lock: $(STAMP)
	mkdir -p _build && echo "torch==$(TORCH_VERSION)+cpu" > _build/torch-override.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra book --extra test --extra dev \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --upgrade \
	  $(TORCH_CPU_SOURCE) --override _build/torch-override.txt --no-emit-package torch \
	  --custom-compile-command "make lock" --quiet -o $(LOCK)

mathjax: $(MATHJAX)

$(MATHJAX): $(MATHJAX_DIR)/package.json $(MATHJAX_DIR)/package-lock.json
	cd $(MATHJAX_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Headless Chromium for the rendered-HTML test (Debian package; needs root or sudo, and apt-get).
browser:
	@bash tools/ensure_chromium.sh

# xelatex, latexmk, xeCJK and the Noto CJK fonts for the PDF (Debian packages; root or sudo, apt-get).
latex:
	@bash tools/ensure_latex.sh

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

## The whole book as one PDF: _build/latex/the-vi-book.pdf (Sphinx's LaTeX writer, xelatex).
pdf: $(STAMP) latex
	$(JB) build . --builder pdflatex
	@test -f $(PDF) && echo "PDF: $(PDF)"

## What the main branch publishes: the PDF, then the HTML book (its landing page links the PDF and
## a zip of the reader notebooks, both under _build/html/downloads/) and the wheel.
site: pdf book
	test -f _build/html/downloads/the-vi-book.pdf
	test -f _build/html/downloads/reader-notebooks.zip
	grep -q 'href="downloads/the-vi-book.pdf"' _build/html/index.html
	grep -q 'href="downloads/reader-notebooks.zip"' _build/html/index.html
	ls _build/html/_downloads/wheel/*.whl

## Everything CI runs: unit tests, nbval over every chapter, -W book build, rendered-HTML check,
## reader notebooks (up to date, nbconvert HTML in Chromium, run in a fresh venv from the wheel),
## the PDF (built and read back) and actionlint over the workflows.
test: $(STAMP) $(MATHJAX) browser latex
	$(PY) -m pytest

## The same tests against the newest releases of every dependency (the weekly workflow), in a
## separate environment so the pinned .venv is left alone.
test-latest:
	$(MAKE) test PINNED=0 VENV=.venv-latest TORCH_SPEC=torch

## Re-execute every chapter in place with the reproducibility settings (updates stored outputs
## and the execution report, chapters/appendix/execution_times.json).
execute: $(STAMP)
	$(PY) tools/execute_notebooks.py

lint: $(STAMP)
	$(VENV)/bin/ruff check vi_lib tests tools benchmarks

clean:
	rm -rf _build
