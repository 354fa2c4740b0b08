# Every target builds .venv from pyproject.toml on first use, so a fresh machine needs only python3.11 and pip.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SCENARIO ?= scenarios/mixed_inputs.yaml
STAMP := $(VENV)/.installed

.PHONY: venv test check lint docs-numbers compare gate selftest report fuzz references truth-references sweep clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The whole suite, in TEST_WORKERS processes (pytest-xdist; each test file stays in one process, so its
# fixtures run once). docs/testing.md: the markers, what each target runs, and how long it takes.
TEST_WORKERS ?= 2

test: $(STAMP) browser
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The inner loop: ruff, then every test that needs neither Chromium nor a long run (-m "not browser and not slow").
check: lint
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not browser and not slow"

lint: $(STAMP)
	$(PY) -m ruff check harness nest_parity tests bench scripts

# Reruns the commands whose numbers README.md and docs/ quote and rewrites those passages (with the date and
# the machine); SUITE=1 also times make check and make test (minutes).
docs-numbers: $(STAMP)
	$(PY) scripts/docs_numbers.py$(if $(SUITE), --suite)

compare: $(STAMP)
	$(PY) -m harness compare $(SCENARIO)

# Every scenario under scenarios/ (sub-folders included): NEST vs the reimplementation vs the stored references.
# Writes reports/gate/gate.json and reports/gate/junit.xml.
gate: $(STAMP)
	$(PY) -m harness gate $(if $(SCENARIOS),$(SCENARIOS),scenarios)

# The gate must catch deliberately broken variants of the reimplementation.
selftest: $(STAMP)
	$(PY) -m harness selftest

# The release report (docs/report.md): every scenario as in the gate, written to reports/<date>-<commit>/ as
# report.html (self-contained), report.md, summary.json and figures/. OUT=reports/v1.2 names the folder,
# BASELINE=reports/<older> shows what changed since then, FORCE=1 replaces an existing report.
# `make test` opens a report in headless Chromium (`make browser` installs Debian's chromium and chromium-driver).
report: $(STAMP)
	$(PY) -m harness report $(if $(SCENARIOS),$(SCENARIOS),scenarios)$(if $(OUT), --out $(OUT))$(if $(BASELINE), --baseline $(BASELINE))$(if $(FORCE), --force)

# Debian's chromium and chromium-driver for the report's browser test: installed when missing (as root, with
# apt-get); without root it stops with one line saying what to install.
.PHONY: browser
browser:
	@sh scripts/ensure-chromium.sh

# Generated scenarios, NEST vs the reimplementation bit for bit. PROFILE=dev|ci|release (default dev).
fuzz: $(STAMP)
	$(PY) -m harness fuzz --profile $(if $(PROFILE),$(PROFILE),dev)

# Re-records every scenario's NEST reference (sub-folders included); a differing one needs FORCE=1.
references: $(STAMP)
	$(PY) -m harness record $$(find scenarios -name '*.yaml' | sort) $(if $(FORCE),--force,)

# Solves every scenario's truth (harness.truth: DOP853, rtol = atol = 1e-12, checked ten times tighter) and
# stores it in reference_traces/truth/; a differing one needs FORCE=1. About five minutes here (README, Benchmarks).
truth-references: $(STAMP)
	$(PY) -m harness record --truth $$(find scenarios -name '*.yaml' | sort) $(if $(FORCE),--force,)

# A sweep on a local Dask cluster (docs/sweeps.md): SWEEP=sweeps/<name>.yaml (default the release sweep),
# WORKERS=N, SCHEDULER=tcp://host:8786 for an existing cluster, OUT=DIR (default reports/sweeps/<name>), FORCE=1
# to start over. A rerun resumes; the results (Parquet) are not committed, the summary beside them is.
sweep: $(STAMP)
	$(PY) -m harness sweep $(if $(SWEEP),$(SWEEP),sweeps/release.yaml)$(if $(WORKERS), --workers $(WORKERS))$(if $(SCHEDULER), --scheduler $(SCHEDULER))$(if $(OUT), --out $(OUT))$(if $(FORCE), --force)

clean:
	rm -rf $(VENV) .pytest_cache


# ---------------------------------------------------------------------------------------------------
# Out-of-process candidates (README, "Candidates"). `make candidate-brainpy` builds .venv-brainpy, a
# Python 3.12 virtual environment of its own with the brainpy.state port (brainspikes) and pinned
# dependencies; the harness's .venv never sees these packages.
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

# Regenerates reports/brainpy-state-0.2.0.md (and its JSON summary) over the whole catalogue, judged under
# integrator, as-accurate-as-nest (against the stored truth references) and exact, with each scenario's
# accuracy ladder. Slow: the port is run in float64 and float32 on every scenario (about 15 minutes on 2 cores).
report-brainpy: $(STAMP) $(BRAINPY_STAMP)
	$(PY) -m harness.candidates report brainpy brainpy-f32 --out reports/brainpy-state-0.2.0.md \
		--notes reports/brainpy-state-0.2.0.notes.md --also-profile as-accurate-as-nest \
		--equivalence scenarios/ports/brainpy/port_brainpy_short_mixed.yaml

clean-brainpy:
	rm -rf $(BRAINPY_VENV)

# `make candidate-brian2` builds .venv-brian2, a Python 3.11 virtual environment with Brian2 and pinned
# dependencies (harness/candidates/brian2-requirements.txt) for the Brian2 port
# (harness/candidates/brian2_runner.py); like .venv-brainpy, the harness's .venv never sees them.
# PYTHON311=/path overrides the interpreter.
PYTHON311 ?= $(shell command -v $(PYTHON) >/dev/null 2>&1 && $(PYTHON) -V >/dev/null 2>&1 && echo $(PYTHON))
BRIAN2_VENV := .venv-brian2
BRIAN2_REQUIREMENTS := harness/candidates/brian2-requirements.txt
BRIAN2_STAMP := $(BRIAN2_VENV)/.installed

.PHONY: candidate-brian2 report-brian2 clean-brian2

candidate-brian2: $(BRIAN2_STAMP)

$(BRIAN2_STAMP): $(BRIAN2_REQUIREMENTS)
	@if [ -z "$(PYTHON311)" ]; then \
		echo "candidate-brian2: no Python 3.11 found ($(PYTHON) does not run);" \
		     "install one or pass PYTHON311=/path/to/python3.11" >&2; exit 2; fi
	@$(PYTHON311) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "candidate-brian2: $(PYTHON311) is not Python 3.11" >&2; exit 2; }
	$(PYTHON311) -m venv $(BRIAN2_VENV)
	$(BRIAN2_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BRIAN2_VENV)/bin/python -m pip install --quiet -r $(BRIAN2_REQUIREMENTS)
	$(BRIAN2_VENV)/bin/python -c 'import brian2; assert brian2.__version__ == "2.9.0", brian2.__version__'
	touch $(BRIAN2_STAMP)

# Regenerates reports/brian2-2.9.0.md (and its JSON summary) over the single-neuron catalogue: rk4 at the
# simulation step and with 10 sub-steps (about 8 minutes on 2 cores). The port speaks protocol version 1
# only; `report` takes one glob, and ??[!t]* is every catalogue file except the networks (net_*).
report-brian2: $(STAMP) $(BRIAN2_STAMP)
	$(PY) -m harness.candidates report brian2-rk4 brian2-rk4-sub10 --out reports/brian2-2.9.0.md \
		--also-profile as-accurate-as-nest --notes reports/brian2-2.9.0.notes.md

clean-brian2:
	rm -rf $(BRIAN2_VENV)
