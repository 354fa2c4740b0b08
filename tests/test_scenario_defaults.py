"""The model's facts (harness.model.parameters), which the scenario defaults are, are live NEST's own.

Scenario files leave most parameters out, so a default that drifted from NEST's would make every backend
agree with each other on an experiment NEST never ran. These tests ask the installed NEST.
"""
import pytest

from harness.backends.nest import nest_module
from harness.errors import ScenarioError
from harness.model.parameters import (
    DEFAULTS,
    INITIAL_STATE,
    MODEL,
    PARAMETER_NAMES,
    POSITIVE,
    RECEPTOR_TYPES,
    RECORDABLES,
    UNITS,
    Parameters,
)
from harness.scenario.fields import Problems
from harness.scenario.schema import parse_scenario


@pytest.fixture(scope="module")
def nest():
    return nest_module()


@pytest.fixture(scope="module")
def nest_defaults(nest):
    nest.ResetKernel()
    return nest.GetDefaults(MODEL)


@pytest.mark.nest
@pytest.mark.parametrize("name", [*DEFAULTS, *INITIAL_STATE])
def test_every_parameter_default_and_initial_value_is_nest_s(nest_defaults, name):
    ours = {**DEFAULTS, **INITIAL_STATE}[name]
    assert name in nest_defaults, f"NEST's {MODEL} has no {name!r}"
    assert isinstance(nest_defaults[name], float) and nest_defaults[name] == ours, \
        f"{name}: NEST's default is {nest_defaults[name]!r}, harness.model.parameters says {ours!r}"


@pytest.mark.nest
def test_a_created_node_starts_from_the_initial_state_whatever_its_parameters(nest):
    """Create(params=...) does not move V_m with E_L: the node is built with the defaults, then set."""
    nest.ResetKernel()
    node = nest.Create(MODEL, params={"E_L": DEFAULTS["E_L"] + 5.0, "V_reset": DEFAULTS["V_reset"] + 1.0})
    for name, value in INITIAL_STATE.items():
        assert node.get(name) == value, f"{name}: a new node holds {node.get(name)!r}, INITIAL_STATE {value!r}"


@pytest.mark.nest
def test_recordables_are_nest_s(nest_defaults):
    assert len(set(RECORDABLES)) == len(RECORDABLES), "a recordable is listed twice"
    nest_recordables = set(nest_defaults["recordables"])
    unknown = set(RECORDABLES) - nest_recordables
    assert not unknown, f"NEST's {MODEL} cannot record {sorted(unknown)}"
    unused = nest_recordables - set(RECORDABLES)
    assert not unused, (f"NEST's {MODEL} also records {sorted(unused)}, which RECORDABLES leaves out: the "
                        f"backends would never compare them. Add them (and to both engines), or list them "
                        f"here as deliberately unused with the reason")


@pytest.mark.nest
def test_receptor_types_are_nest_s(nest_defaults):
    assert dict(nest_defaults["receptor_types"]) == RECEPTOR_TYPES


@pytest.mark.nest
@pytest.mark.parametrize("name", PARAMETER_NAMES)
@pytest.mark.parametrize("value", [0.0, -1.0])
def test_nest_the_engine_and_the_schema_refuse_the_same_parameter_values(nest, name, value):
    """NEST's SetStatus rules, as written once in harness.model.parameters (POSITIVE, V_reset < V_th,
    t_ref >= 0), are the ones the engine and the scenario schema apply: each refuses what NEST refuses."""
    nest.ResetKernel()
    try:
        nest.Create(MODEL, params={name: value})
        by_nest = False
    except nest.NESTErrors.BadProperty:
        by_nest = True
    try:
        Parameters(1, {name: value})
        by_engine = False
    except ValueError:
        by_engine = True
    try:
        parse_scenario({"duration": 1.0, "params": {name: value}}, Problems("case.yaml"))
        by_schema = False
    except ScenarioError as exc:
        assert [key for key, _ in exc.problems] == [f"params.{name}"], exc.format()
        by_schema = True
    assert by_engine == by_nest and by_schema == by_nest, \
        f"{name} = {value}: NEST refuses it: {by_nest}, the engine: {by_engine}, the schema: {by_schema}"


def test_every_parameter_has_a_unit_and_every_rule_names_a_parameter():
    assert tuple(UNITS) == PARAMETER_NAMES
    assert set(POSITIVE) <= set(PARAMETER_NAMES)
    assert set(INITIAL_STATE) <= set(RECORDABLES)
