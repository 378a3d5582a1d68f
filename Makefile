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
	$(PY) -m pip install --quiet -e .
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
