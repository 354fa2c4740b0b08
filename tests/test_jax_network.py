"""The JAX engine on the catalogue's networks: bit-identical to the exact engine (which equals NEST).

One network at a time (``run_python_jax``): every network has programs of its own shapes, so these run in
`make test` only (marked slow).
"""
import pytest
from conftest import NETWORK_CATALOGUE, catalogue_params

from harness.backends.jax import run_python_jax
from harness.scenario.schema import load_scenario

pytestmark = pytest.mark.jax


@pytest.mark.parametrize("path", catalogue_params(NETWORK_CATALOGUE, lambda stem: True))
def test_network_is_bit_identical_to_the_exact_engine(path, exact_engine):
    candidate = run_python_jax(load_scenario(path))
    reference = exact_engine(path)  # shared with test_catalogue_parity
    assert candidate.neurons == reference.neurons and len(candidate.spike_steps) == len(reference.spike_steps)
    assert candidate.equals_exactly(reference)
