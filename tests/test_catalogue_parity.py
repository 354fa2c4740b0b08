"""The bar of step 2: on every catalogue scenario the reimplementation equals NEST exactly (0.0 difference)."""
import numpy as np
import pytest

from harness.backends.nest import run_nest
from harness.backends.python import run_python
from harness.traces.references import load_reference
from harness.scenario.schema import load_scenario

from conftest import CATALOGUE, REFERENCE_DIR


@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: p.stem)
def test_python_equals_stored_reference_and_live_nest_exactly(path):
    scenario = load_scenario(path)
    candidate = run_python(scenario)
    stored = load_reference(scenario, REFERENCE_DIR)
    live = run_nest(scenario)
    for reference in (stored, live):
        assert np.array_equal(candidate.spike_steps, reference.spike_steps)
        for name in scenario.record:
            diff = np.max(np.abs(candidate[name] - reference[name]))
            assert diff == 0.0, f"{name}: max |difference| {diff:.3g}"
        assert candidate.equals_exactly(reference)
