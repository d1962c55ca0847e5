# semhash: two commands do everything on a fresh machine.
#   make reproduce   set-up, then every notebook on the quick CPU profile, computed afresh in
#                    results/reproduced/<profile>/ and compared with the committed results/*.csv
#   make publish     the same, written into results/ and figures/ (updates the published tables)
#   make test        set-up, then the test suite (make test-fast: without the tests marked slow)
#   make book        the executed notebooks of the latest run and docs/ as an HTML book, build/book/html
# Set-up is idempotent: a stamp file skips the install when pyproject/constraints did not change.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.semhash-installed
BOOK_STAMP := $(VENV)/.semhash-book-installed
PROFILE  ?= quick
PYTEST_ARGS ?=

.PHONY: setup system resources test test-fast reproduce publish reproduce-paper tune bench book clean-cache lab help

help:
	@echo "make reproduce   set up and run all notebooks (PROFILE=$(PROFILE)) into results/reproduced/, compare with results/"
	@echo "make publish     the same, written into results/ and figures/ (the published tables)"
	@echo "make test        set up and run the test suite"
	@echo "make test-fast   the same without the tests marked slow (a few minutes less)"
	@echo "make tune        tune every method on a validation split (PROFILE=$(PROFILE)), results/tuned_<profile>.yaml"
	@echo "make bench       retrieval and loss benchmarks"
	@echo "make book        the latest run's executed notebooks and docs/ as an offline HTML book: build/book/html/index.html"
	@echo "make lab         set up, register the kernel \"semhash\" inside .venv and start JupyterLab on notebooks/"

system:
	@bash scripts/install_system_packages.sh

# Python caches compiled modules (.pyc, git-ignored) even where the environment asks it not to: without them
# each of the ~40 processes of a reproduce run (kernels, workers) compiles torch & co. afresh. So pip need not
# byte-compile all ~19,000 files of the stack (55 of its 120 s on 2 cores): a module compiles on first import.
unexport PYTHONDONTWRITEBYTECODE

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile --upgrade pip
	$(BIN)/python -m pip install -q --no-compile -c requirements/constraints.txt -e ".[test]"
	@touch $(STAMP)

# The book extra (Jupyter Book 1, a local MathJax), on top of the project; the test suite reads a book too.
$(BOOK_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q --no-compile -c requirements/constraints.txt -e ".[test,book]"
	@touch $(BOOK_STAMP)

resources: $(STAMP)
	@$(BIN)/python -m semhash_lib.resources

setup: system $(STAMP) resources

test: setup $(BOOK_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: setup $(BOOK_STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

reproduce: setup
	$(BIN)/semhash reproduce --profile $(PROFILE)

publish: setup
	$(BIN)/semhash reproduce --profile $(PROFILE) --publish

reproduce-paper: setup
	$(BIN)/semhash reproduce --profile paper

# Tuning is its own command (quick: ~45 min on 2 cores); reproduce reads its committed result.
tune: setup
	$(BIN)/semhash tune --profile $(PROFILE)

# JupyterLab on notebooks/ with the project's kernel "semhash" (the notebooks declare it), registered inside the
# venv (.venv/share/jupyter/kernels/semhash, on Jupyter's path whenever the venv runs), not in ~.
lab: setup
	$(BIN)/python -m ipykernel install --sys-prefix --name semhash --display-name "Python (semhash)"
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root)

bench: setup
	$(BIN)/python benchmarks/bench_retrieval.py
	$(BIN)/python benchmarks/bench_losses.py

# The book of the latest run (results/notebooks or results/reproduced/<profile>/notebooks; nothing is executed),
# offline, docs/book.md. Measured on 2 cores (one busy): 18 s for all ten notebooks, 12 s for two.
book: $(BOOK_STAMP)
	$(BIN)/semhash book

clean-cache:
	rm -rf data/cache
