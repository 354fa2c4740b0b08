"""The bar of step 2: on every catalogue scenario the reimplementation equals NEST exactly (0.0 difference)."""
import numpy as np
import pytest
from conftest import CATALOGUE, REFERENCE_DIR, catalogue_params, only_in_make_test

from harness.scenario.schema import load_scenario
from harness.traces.references import load_reference

pytestmark = pytest.mark.nest


@pytest.mark.parametrize("path", catalogue_params(CATALOGUE, only_in_make_test))
def test_python_equals_stored_reference_and_live_nest_exactly(path, exact_engine, live_nest):
    scenario = load_scenario(path)
    candidate = exact_engine(path)
    stored = load_reference(scenario, REFERENCE_DIR)
    live = live_nest(path)
    for reference in (stored, live):
        assert np.array_equal(candidate.spike_steps, reference.spike_steps)
        for name in scenario.record:
            diff = np.max(np.abs(candidate[name] - reference[name]))
            assert diff == 0.0, f"{name}: max |difference| {diff:.3g}"
        assert candidate.equals_exactly(reference)
