# Two commands do all the set-up on a fresh machine (Python 3.11 and make):
#   make book   - creates .venv, installs everything, executes every chapter, writes _build/html
#   make test   - creates .venv if missing, runs every test (including a forced,
#                 warnings-as-errors build of the book)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB_FLAGS := -W -n --keep-going
# PyTorch's own CPU wheels (a real user on Linux would otherwise get the multi-GB CUDA
# build from the package index). Used only when the index answers: offline machines
# that supply the CPU wheel themselves install as before.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
torch_index = $(shell $(PYTHON) -c "import urllib.request; urllib.request.urlopen('$(TORCH_INDEX)/torch/', timeout=5)" >/dev/null 2>&1 && echo --extra-index-url $(TORCH_INDEX))

.PHONY: all venv vendor chromium sandbox book chapter test test-fast test-lab notebooks lab bench homework grade clean

all: book

$(STAMP): requirements.txt pyproject.toml .jupyter/overrides.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(torch_index) -r requirements.txt
	@# rfc3987-syntax comes in through an optional extra (jupyter-events ->
	@# jsonschema[format-nongpl]); jsonschema only uses it when present, and
	@# importing it builds dozens of parsers: ~2 s in every notebook kernel.
	$(BIN)/python -m pip uninstall -y rfc3987-syntax
	@# JupyterLab: MyST .md opens as a notebook; widget messages on the main shell (see .jupyter/)
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp .jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

venv: $(STAMP)

# The widget manager and require.js, pinned, from the npm registry into _vendor/
# (gitignored; the book serves them itself, see _ext/offline_assets.py).
# A no-op when _vendor/ already holds the pinned versions.
vendor:
	$(PYTHON) scripts/vendor_js.py

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@test -x /usr/bin/chromium || apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }

# bubblewrap, the sandbox `make grade` runs every submission in (as root, no Docker).
sandbox:
	@test -x /usr/bin/bwrap || apt-get install -y bubblewrap || { apt-get update && apt-get install -y bubblewrap; }

# Every chapter executed from scratch, warnings are errors (what CI does).
book: $(STAMP) vendor
	$(BIN)/jupyter-book build . $(JB_FLAGS)

# Build one chapter alone (fast check while writing it): make chapter CH=01_locality
# Its links to other chapters and to the glossary cannot resolve in a solo build,
# so warnings are printed, not errors: `make book` (and `make test`) is the gate.
chapter: $(STAMP) vendor
	@test -n "$(CH)" || { echo "usage: make chapter CH=01_locality"; exit 2; }
	mkdir -p _build/single/$(CH)
	printf 'format: jb-book\nroot: chapters/$(CH)\nchapters:\n  - file: chapters/references\n' > _build/single/$(CH)/_toc.yml
	$(BIN)/jupyter-book build . -n --all --toc _build/single/$(CH)/_toc.yml --path-output _build/single/$(CH)

test: $(STAMP) vendor chromium sandbox
	$(BIN)/python -m pytest

# The JupyterLab tests: every chapter's notebook opened in a real JupyterLab in Chromium,
# Run All, the text, figures, solutions and live figures checked. Part of `make test`; this
# target runs them alone (CNNLIB_REUSE_BUILD=1 reuses the book of a previous `make book`).
test-lab: $(STAMP) vendor chromium
	$(BIN)/python -m pytest -m lab tests/test_jupyterlab.py

# Everything but the (slow) book build.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not book and not browser and not lab and not notebook"

# The chapters as student notebooks, committed, kept in sync by tests: notebooks/*.ipynb for
# JupyterLab and Binder, notebooks/colab/*.ipynb for Colab (plain Markdown with the values written
# in: every chapter runs once for them, a few minutes). For an edit of the prose only:
#   make notebooks NOTEBOOK_FLAGS=--reuse-values   (keeps the values the Colab notebooks store)
NOTEBOOK_FLAGS ?=
notebooks: $(STAMP)
	$(BIN)/python _ext/course_notebooks.py $(NOTEBOOK_FLAGS)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(BIN)/python -m cnnlib.bench

# Graded homework (otter-grader): for every assignment homework/hw*.md, the student
# notebook and the autograder in dist/homework/<name>/{student,autograder}/. The
# reference solutions are graded on the way: the build fails unless they score full marks.
homework: $(STAMP)
	$(BIN)/python -m homework.build

# Grade a folder of submitted notebooks, each in a bubblewrap sandbox (no Docker):
#   make grade SUBMISSIONS=folder [GRADES=grades] [GRADE_FLAGS="--roster r.csv --manual m.csv ..."]
# writes $(GRADES)/scores.csv, feedback/ and the gradebook exports; a rerun resumes.
# See chapters/instructors.md for the options and what the sandbox protects against.
GRADES ?= grades
GRADE_FLAGS ?=
grade: $(STAMP) sandbox
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder [GRADES=grades] [GRADE_FLAGS=...]"; exit 2; }
	@test -d dist/homework || $(MAKE) homework
	$(BIN)/python -m homework.grade "$(SUBMISSIONS)" --out "$(GRADES)" $(GRADE_FLAGS)

clean:
	rm -rf _build dist .pytest_cache .hypothesis
