# Every target builds .venv from pyproject.toml on first use, so a fresh machine needs only python3.11 and pip.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SCENARIO ?= scenarios/mixed_inputs.yaml
STAMP := $(VENV)/.installed

.PHONY: venv test compare gate selftest references record clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

compare: $(STAMP)
	$(PY) -m harness compare $(SCENARIO)

# Every scenario under scenarios/ (sub-folders included): NEST vs the reimplementation vs the stored references.
# Writes reports/gate/gate.json and reports/gate/junit.xml.
gate: $(STAMP)
	$(PY) -m harness gate $(if $(SCENARIOS),$(SCENARIOS),scenarios)

# The gate must catch deliberately broken variants of the reimplementation.
selftest: $(STAMP)
	$(PY) -m harness selftest

references: $(STAMP)
	$(PY) -m harness record scenarios/*.yaml $(if $(FORCE),--force,)

clean:
	rm -rf $(VENV) .pytest_cache
