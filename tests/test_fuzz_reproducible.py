"""The derandomised fuzz profile draws the same scenarios whatever literals the harness's modules hold."""
import json

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.internal.conjecture import providers

from harness.fuzz.run import without_local_constants
from harness.fuzz.strategies import scenario_batches


def draw_derandomised(n: int = 25) -> list[str]:
    drawn = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(scenario_batches(max_size=8))
    def collect(raws):
        drawn.append(json.dumps(raws, sort_keys=True))

    providers.CONSTANTS_CACHE.cache.clear()
    collect()
    return drawn


def test_the_derandomised_sequence_ignores_the_literals_of_local_modules(monkeypatch):
    with without_local_constants():
        before = draw_derandomised()
    # Negative control: hypothesis's own pool of literals from the harness's source changes the sequence,
    # so an edited literal anywhere in harness/ would change the ci profile's scenarios.
    harness_literals = providers._get_local_constants()
    assert harness_literals.floats or harness_literals.integers, "the harness's literals were not collected"
    assert draw_derandomised() != before
    # A module with other literals (an edit, or another import) changes nothing under the patch.
    other = providers.Constants(integers={3, 7, 1000}, floats={0.25, 2.5, 1e-3}, strings={"x"})
    monkeypatch.setattr(providers, "_get_local_constants", lambda: harness_literals | other)
    hook = providers._get_local_constants
    with without_local_constants():
        assert draw_derandomised() == before
    assert providers._get_local_constants is hook  # the patch is undone on leaving
