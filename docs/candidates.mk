# Makefile lines for the out-of-process candidates (issue 8). Merge into the Makefile, or include it:
#     include docs/candidates.mk
#
# `make candidate-brainpy` builds .venv-brainpy, a Python 3.12 virtual environment of its own with the
# brainpy.state port (brainspikes) and pinned dependencies. The harness's .venv never sees these
# packages: the port runs out of process (harness/candidates/, docs/candidates.md).
#
# Python 3.12 is found as `python3.12` when that command works (a pyenv shim exists but fails unless
# 3.12 is enabled, hence the -V probe), else in pyenv's versions folder; PYTHON312=/path overrides.
PYTHON312 ?= $(shell (command -v python3.12 >/dev/null 2>&1 && python3.12 -V >/dev/null 2>&1 && echo python3.12) \
	|| ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -1)
BRAINPY_VENV := .venv-brainpy
BRAINPY_REQUIREMENTS := harness/candidates/brainpy-requirements.txt
BRAINPY_STAMP := $(BRAINPY_VENV)/.installed

.PHONY: candidate-brainpy report-brainpy clean-brainpy

candidate-brainpy: $(BRAINPY_STAMP)

$(BRAINPY_STAMP): $(BRAINPY_REQUIREMENTS)
	@if [ -z "$(PYTHON312)" ]; then \
		echo "candidate-brainpy: no Python 3.12 found (tried python3.12 and ~/.pyenv/versions/3.12*);" \
		     "install one or pass PYTHON312=/path/to/python3.12" >&2; exit 2; fi
	@$(PYTHON312) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' || \
		{ echo "candidate-brainpy: $(PYTHON312) is not Python 3.12" >&2; exit 2; }
	$(PYTHON312) -m venv $(BRAINPY_VENV)
	$(BRAINPY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BRAINPY_VENV)/bin/python -m pip install --quiet -r $(BRAINPY_REQUIREMENTS)
	$(BRAINPY_VENV)/bin/python -c 'import brainspike; brainspike.iaf_bw_2001_exact'
	touch $(BRAINPY_STAMP)

# Regenerates reports/brainpy-state-0.2.0.md (and its JSON summary) over the whole catalogue. Slow: the
# port is run in float64 and float32 on every scenario (about 15 minutes on 2 cores).
report-brainpy: $(STAMP) $(BRAINPY_STAMP)
	$(PY) -m harness.candidates report brainpy brainpy-f32 --out reports/brainpy-state-0.2.0.md \
		--notes reports/brainpy-state-0.2.0.notes.md \
		--equivalence scenarios/ports/brainpy/port_brainpy_short_mixed.yaml

clean-brainpy:
	rm -rf $(BRAINPY_VENV)
