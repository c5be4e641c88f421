# Two commands on a fresh machine: `make book` and `make test`.
# Both create .venv and install what is missing; nothing is reinstalled when
# requirements.txt and pyproject.toml are unchanged (the stamp file below).
SHELL := /bin/bash
# A pipeline fails when any of its commands fails (the pip filter below must not hide pip's).
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.nnbook-installed
COURSE := $(BIN)/python -m nnbook.course
# One thread per process: on 2 cores, torch with two threads next to another busy
# process (a second pytest worker, a grading worker) ran ~100x slower.
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export PYTHONHASHSEED := 0
JOBS ?= 2

.PHONY: help setup book book-instructor test release bench clean pdf

help:
	@echo "make setup            create .venv and install everything (once; again when requirements change)"
	@echo "make book             build the student site into _build/html"
	@echo "make book-instructor  build the instructor site into _build/instructor/_build/html"
	@echo "make pdf              the student edition as one PDF: _build/pdf/nnbook.pdf (installs TeX once)"
	@echo "make test             run every test (unit, notebooks, grading round trips, site)"
	@echo "make release          write student notebooks under release/ and the kit under downloads/"
	@echo "make bench            run the benchmarks in benchmarks/"
	@echo "make clean            remove everything generated (builds, releases, grading, reports)"
	@echo "grading (docs/INSTRUCTORS.md; A=assignment, IN=folder of submissions):"
	@echo "  make collect A=ch01 IN=inbox | grade A=ch01 | feedback A=ch01 | export | report A=ch01 | leaks"
	@echo "  make selfcheck NB=path/to/chNN_name.ipynb   a student's check before submitting"
	@echo "  make test-grading   the grading tests only"

# pip prints "Location '...' is ignored: it is neither a file nor a directory" once per
# package for each configured local index folder that lacks it (a machine's pip.conf, not
# this project); only that message is dropped, everything else pip says is shown.
PIP_FILTER := 2>&1 | { grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory\.$$" || true; }

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || { echo "[setup] creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "[setup] installing the pinned requirements into $(VENV) (first time: a few minutes)"
	@$(BIN)/python -m pip install -q --upgrade pip $(PIP_FILTER)
	@$(BIN)/python -m pip install -q -r requirements.txt $(PIP_FILTER)
	@$(BIN)/python -m pip install -q --no-deps -e . $(PIP_FILTER)
	@touch $@

setup: $(STAMP)
	@tools/system-deps.sh

book: setup
	@$(COURSE) site --edition student --quiet

book-instructor: setup
	$(COURSE) site --edition instructor

release: setup
	$(COURSE) release

NBVAL := --nbval --nbval-sanitize-with .ci/nbval-sanitize.cfg --nbval-current-env
# The chapters whose outputs come from torch. torch, oneDNN and MKL pick float kernels by
# CPU; the second nbval pass checks these chapters with an older CPU's kernels, so a
# committed output that only holds on this CPU fails here too (docs/DESIGN.md).
TORCH_CHAPTERS := chapters/ch06_tensors.ipynb chapters/ch07_pytorch.ipynb chapters/ch08_mnist.ipynb
OLDER_CPU := ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 MKL_ENABLE_INSTRUCTIONS=SSE4_2

test: setup
	@tools/system-deps.sh --browser --slurm --pdf || true
	@$(COURSE) site --edition student --quiet
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope -q tests chapters $(NBVAL)
	@echo "[test] the torch chapters again, with an older CPU's float kernels ($(OLDER_CPU))"
	$(OLDER_CPU) $(BIN)/python -m pytest -n $(JOBS) --dist loadscope -q $(NBVAL) $(TORCH_CHAPTERS)

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf _build release source submitted autograded feedback .grading downloads exports reports gradebook.db

# ---- instructor grading (docs/INSTRUCTORS.md). A=assignment, IN=folder of submissions.
A ?= ch01
IN ?= inbox
.PHONY: collect grade feedback export report leaks selfcheck test-grading
collect: setup
	$(COURSE) collect $(A) $(IN)
grade: setup
	$(COURSE) grade $(A)
feedback: setup
	$(COURSE) feedback $(A)
export: setup
	$(COURSE) export
report: setup
	$(COURSE) report $(A)
leaks: setup
	$(COURSE) leaks
selfcheck: setup
	$(BIN)/python -m nnbook.kit.selfcheck $(NB)
test-grading: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope -q tests/test_grading_trust.py \
	    tests/test_grading_pipeline.py tests/test_leaks.py tests/test_hidden.py tests/test_kit_ownership.py \
	    tests/test_integrity.py tests/test_similarity.py tests/test_grading_plan.py tests/test_forkserver.py tests/test_kernels.py \
	    tests/test_kit_dependencies.py tests/test_faults.py tests/test_kit_checks.py tests/test_kit_selfcheck.py

# ---- the book as one PDF (student edition): _build/pdf/nnbook.pdf. Installs Debian's TeX
# the first time (tools/system-deps.sh --pdf, ~300 MB; README).
.PHONY: pdf
pdf: setup
	@tools/system-deps.sh --pdf
	$(BIN)/python -m nnbook.course.build.pdf
