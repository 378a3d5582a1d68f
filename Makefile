# Every target builds the virtual environment on first use, so a fresh clone needs only `make grade`
# or `make test`. torch is installed first from the pin below: asking pip for an unpinned torch on a
# machine without one downloads the CUDA build (gigabytes).
PYTHON      ?= python3
TORCH_SPEC  ?= torch==2.13.0
VENV        ?= .venv
PY          := $(VENV)/bin/python
SUBMISSIONS ?= examples/submissions
REPORTS     ?= reports
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
STAMP       := $(VENV)/.installed

.PHONY: install test grade stubs notebook release gradescope bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

grade: $(STAMP)
	$(PY) -m autograder grade-all $(SUBMISSIONS) --out $(REPORTS) --jobs $(JOBS)

stubs: $(STAMP)
	$(PY) -m autograder stubs

clean:
	rm -rf $(VENV) dist build reports *.egg-info

# The notebook handout assignment/nlm_training.ipynb is (re)written by the stubs command, with the .py stubs.
notebook: $(STAMP)
	$(PY) -m autograder stubs

# The Gradescope autograder zip (setup.sh, run_autograder, requirements.txt, the autograder package).
gradescope: $(STAMP)
	TORCH_SPEC="$(TORCH_SPEC)" $(PY) -m autograder bundle --out dist/gradescope-autograder.zip

# The student release: dist/student-release/ (stubs, notebook, README, visible checks as a pytest
# plugin; never solutions/ or hidden checks) and dist/student-release.zip.
release: $(STAMP)
	$(PY) -m autograder release

# The speed and memory targets (benchmarks/bench.py), plus otter-grader side by side when it can be
# installed into .bench/otter-venv (skipped, not fatal, offline). otter runs submissions in a Jupyter
# kernel of its own Python, and otter-grader does not pull in ipykernel, hence the second package.
bench: $(STAMP)
	-test -x .bench/otter-venv/bin/otter || ($(PYTHON) -m venv .bench/otter-venv && .bench/otter-venv/bin/pip install --quiet otter-grader ipykernel)
	OTTER=$$(ls .bench/otter-venv/bin/otter 2>/dev/null) $(PY) benchmarks/bench.py
