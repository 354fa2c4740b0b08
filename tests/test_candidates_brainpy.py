"""The brainpy.state candidate: only where its Python 3.12 environment exists (`make candidate-brainpy`).

`make test` must not need that environment, so without it every test here is *skipped* with the reason
(pytest -ra lists it), never counted as a pass.
"""
import pytest
from conftest import REPO

from harness.candidates import load_registry, run_candidate
from harness.candidates.cli import eager_equivalence
from harness.candidates.parity import check_candidate
from harness.scenario.schema import load_scenario

REGISTRY = load_registry()
BRAINPY = REGISTRY["brainpy"]
pytestmark = pytest.mark.skipif(
    bool(BRAINPY.missing_requirements()),
    reason="the brainpy candidate's environment .venv-brainpy does not exist; run `make candidate-brainpy`")

SHORT = REPO / "scenarios" / "ports" / "brainpy" / "port_brainpy_short_mixed.yaml"


def _findings():
    out = []
    for candidate in REGISTRY.values():
        if candidate.findings and candidate.name.startswith("brainpy"):  # the Brian2 ones: test_candidates_brian2
            out += [(candidate.name, p) for p in sorted(candidate.findings_dir().glob("*.yaml"))]
    return out


def test_brainpy_runs_a_short_scenario_within_the_integrator_profile():
    [outcome] = check_candidate(BRAINPY, [load_scenario(SHORT)])
    assert outcome.comparison.status == "pass", outcome.comparison.failures
    assert outcome.comparison.spikes.first_difference_step is None
    info = run_candidate(BRAINPY, load_scenario(SHORT)).provenance["candidate_info"]
    assert (info["version"], info["dtype"], info["mode"]) == ("0.2.0", "float64", "compiled")


def test_the_compiled_loop_equals_the_eager_api_bit_for_bit_under_strict_xla():
    # The compiled loop is how the catalogue is run; the eager per-step call is the port's documented API.
    equivalence = eager_equivalence(BRAINPY, load_scenario(SHORT))
    assert equivalence.strict.comparison.status == "pass", equivalence.strict.comparison.error
    assert all(v.max_abs == 0 for v in equivalence.strict.comparison.variables.values())


@pytest.mark.parametrize("candidate, path", _findings(), ids=lambda x: getattr(x, "stem", x))
def test_each_finding_has_its_declared_status(candidate, path):
    [outcome] = check_candidate(REGISTRY[candidate], [load_scenario(path)])
    assert outcome.ok, (f"{path.name}: verdict {outcome.verdict} (expected {outcome.expected}); "
                        f"{outcome.comparison.error or outcome.comparison.failures}")
