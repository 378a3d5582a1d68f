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
# The suite runs in TEST_JOBS pytest-xdist workers, a file per worker (their session fixtures,
# such as the built student release, are then made once). One more than the 2 cores: much of a
# test is waiting (a hang's deadline, pip on the network), which the third worker fills.
TEST_JOBS   ?= 3
PYTEST      := $(PY) -m pytest -q -n $(TEST_JOBS) --dist loadfile

.PHONY: install test test-busy test-browser grade stubs notebook release gradescope gradescope-lock gradescope-check bench audit clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[instructor,dev]"
	touch $(STAMP)

test: $(STAMP)
	$(PYTEST)

# The same suite with two CPU-bound processes beside it: it must stay green on a busy machine.
test-busy: $(STAMP)
	$(PY) benchmarks/busy.py -q -n $(TEST_JOBS) --dist loadfile

# grade-all's summary.html in headless Chromium (a screenshot, the DOM checked): installs Debian's
# chromium first when it is missing (as root); `make test` skips that test where chromium is absent.
test-browser: $(STAMP)
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(PY) -m pytest -q tests/test_grade_all.py -k chromium -rs

grade: $(STAMP)
	$(PY) -m autograder grade-all $(SUBMISSIONS) --out $(REPORTS) --jobs $(JOBS)

stubs: $(STAMP)
	$(PY) -m autograder stubs

clean:
	rm -rf $(VENV) dist build reports audit-reports *.egg-info

# The notebook handout assignment/nlm_training.ipynb is (re)written by the stubs command, with the .py stubs.
notebook: $(STAMP)
	$(PY) -m autograder stubs

# The Gradescope autograder zip (setup.sh, run_autograder, requirements.txt, the autograder package).
gradescope: $(STAMP)
	TORCH_SPEC="$(TORCH_SPEC)" $(PY) -m autograder bundle --out dist/gradescope-autograder.zip

# Re-resolve gradescope/requirements.lock (what the bundle installs besides torch) from PyPI on the
# oldest supported Python, after changing pyproject.toml's dependencies.
PYTHON_OLDEST ?= python3.10
gradescope-lock: $(STAMP)
	$(PY) -m autograder.build.lock $(PYTHON_OLDEST)

# Opt-in, not in CI (root, debootstrap, the network to Debian's archive and PyPI; a few minutes):
# the bundle in a fresh Debian image, set up and run as Gradescope does (gradescope/check_image.py).
# TORCH_WHEEL: a torch wheel for the image's Python (default: the one in pip's find-links).
CHECK_SUITE ?= bookworm
TORCH_WHEEL ?=
gradescope-check: gradescope
	$(PY) gradescope/check_image.py dist/gradescope-autograder.zip --suite $(CHECK_SUITE) $(if $(TORCH_WHEEL),--torch-wheel $(TORCH_WHEEL))

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

# Mutation analysis of the checks: every single-change mutant of solutions/ graded by every check
# (through grade-all, cached in audit-reports/), equivalent ones detected on random inputs; fails
# when the kill rate is under 95%. Report: audit-reports/audit.html and audit-reports/audit.json.
audit: $(STAMP)
	$(PY) -m autograder audit --out audit-reports --json audit-reports/audit.json --jobs $(JOBS)
