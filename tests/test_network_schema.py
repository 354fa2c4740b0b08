"""Network scenarios without NEST: every bad input refused before anything runs (file, key path, what is wrong,
what is allowed), all problems of a file at once; and the expansion of every rule and every targeted input
into the one explicit list, in its documented order and reproducibly from the seed."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import REPO

from harness.errors import ScenarioError
from harness.scenario.fields import Problems
from harness.scenario.loader import parse_yaml
from harness.scenario.schema import load_scenario, parse_scenario
from harness.scenario.targets import MAX_RECORDED_VALUES
from harness.scenario.types import SpikeInput

BASE = """\
name: net
resolution: 0.1
duration: 10.0
populations:
  E: {n: 3}
  I: {n: 1}
"""


def parse(text: str):
    problems = Problems("net.yaml")
    scenario = parse_scenario(parse_yaml(textwrap.dedent(text), "net.yaml"), problems)
    problems.raise_if_any()
    return scenario


def problems_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as info:
        parse(text)
    assert info.value.path == "net.yaml"
    return info.value.problems


def assert_problem(items, key, *words):
    """One problem at exactly ``key`` whose message holds every word (the essentials, not the whole text)."""
    messages = [m for k, m in items if k == key]
    assert messages, f"no problem at {key!r}; got {items}"
    assert any(all(w in m for w in words) for m in messages), f"{words} not in {messages}"


def network(text: str = ""):
    return parse(BASE + textwrap.dedent(text)).network


# ---------------------------------------------------------------------------------------------- bad input
CASES = {
    # unknown population or neuron index: wherever a neuron is named
    "unknown source": ("connections:\n  - {source: X, target: E, receptor: AMPA}\n",
                       "connections[0].source", ["unknown source 'X'", "allowed: a population (E, I)"]),
    "suggested source": ("connections:\n  - {source: 'e', target: E, receptor: AMPA}\n",
                         "connections[0].source", ["unknown source 'e'", "did you mean 'E'?"]),
    "target index": ("connections:\n  - {source: E, target: 'E[3]', receptor: AMPA}\n",
                     "connections[0].target", ["'E[3]'", "index 3 is out of range", "E has 3 neurons",
                                               "E[0] to E[2]"]),
    "source index": ("connections:\n  - {source: 'I[1]', target: E, receptor: GABA}\n",
                     "connections[0].source", ["index 1 is out of range", "I has 1 neuron, I[0]"]),
    "input target": ("inputs:\n  - {device: dc_generator, target: Q, amplitude: 1.0}\n",
                     "inputs[0].target", ["unknown target 'Q'", "allowed: a population (E, I)"]),
    "input target index": ("inputs:\n  - {device: dc_generator, target: 'E[7]', amplitude: 1.0}\n",
                           "inputs[0].target", ["index 7 is out of range", "E[0] to E[2]"]),
    "input without target": ("inputs:\n  - {device: dc_generator, amplitude: 1.0}\n",
                             "inputs[0].target", ["missing", "a population or one neuron such as E[0]"]),
    "recorded neuron": ("record: {neurons: [E, Z]}\n",
                        "record.neurons[1]", ["unknown recorded neuron 'Z'", "allowed: a population (E, I)"]),
    "recorded index": ("record: {neurons: ['I[1]']}\n",
                       "record.neurons[0]", ["index 1 is out of range", "I has 1 neuron"]),
    # rule parameters NEST refuses (or loops on forever)
    "indegree without multapses": (
        "connections:\n  - {source: E, target: I, rule: fixed_indegree, indegree: 4, allow_multapses: false,"
        " seed: 1, receptor: AMPA}\n",
        "connections[0].indegree", ["4 is more than the 3 sources", "without multapses", "NEST refuses it",
                                    "allowed: at most 3", "allow_multapses: true"]),
    "indegree without autapses": (
        "connections:\n  - {source: E, target: E, rule: fixed_indegree, indegree: 3, allow_multapses: false,"
        " allow_autapses: false, seed: 1, receptor: AMPA}\n",
        "connections[0].indegree", ["3 is more than the 2 sources E[0] may draw", "allow_autapses: false leaves "
                                    "2 of 3", "never end", "allowed: at most 2"]),
    "outdegree without multapses": (
        "connections:\n  - {source: I, target: E, rule: fixed_outdegree, outdegree: 5, allow_multapses: false,"
        " seed: 1, receptor: GABA}\n",
        "connections[0].outdegree", ["5 is more than the 3 targets", "NEST refuses it", "allowed: at most 3"]),
    "indegree without a partner": (
        "connections:\n  - {source: I, target: I, rule: fixed_indegree, indegree: 1, allow_autapses: false,"
        " seed: 1, receptor: GABA}\n",
        "connections[0].indegree", ["I[0] has no allowed source", "allow_autapses is false",
                                    "the only source", "allowed: indegree: 0, allow_autapses: true"]),
    "p above 1": ("connections:\n  - {source: E, target: E, rule: pairwise_bernoulli, p: 1.5, seed: 1,"
                  " receptor: AMPA}\n",
                  "connections[0].p", ["1.5 is not a probability", "allowed: 0 <= p <= 1"]),
    "p below 0": ("connections:\n  - {source: E, target: E, rule: pairwise_bernoulli, p: -0.1, seed: 1,"
                  " receptor: AMPA}\n",
                  "connections[0].p", ["-0.1 is not a probability", "allowed: 0 <= p <= 1"]),
    "p missing": ("connections:\n  - {source: E, target: E, rule: pairwise_bernoulli, seed: 1, receptor: AMPA}\n",
                  "connections[0].p", ["missing", "a probability from 0 to 1"]),
    "one_to_one sizes": ("connections:\n  - {source: E, target: I, rule: one_to_one, receptor: AMPA}\n",
                         "connections[0].target", ["as many targets as sources", "source has 3 neurons",
                                                   "the target 1 neuron"]),
    "seed of indegree": ("connections:\n  - {source: E, target: E, rule: fixed_indegree, indegree: 1,"
                         " receptor: AMPA}\n",
                         "connections[0].seed", ["missing", "fixed_indegree draws", "needs a seed", "integer"]),
    "seed of outdegree": ("connections:\n  - {source: E, target: E, rule: fixed_outdegree, outdegree: 1,"
                          " receptor: AMPA}\n",
                          "connections[0].seed", ["missing", "fixed_outdegree draws"]),
    "seed of bernoulli": ("connections:\n  - {source: E, target: E, rule: pairwise_bernoulli, p: 0.5,"
                          " receptor: AMPA}\n",
                          "connections[0].seed", ["missing", "pairwise_bernoulli draws"]),
    "negative seed": ("connections:\n  - {source: E, target: E, rule: fixed_indegree, indegree: 1, seed: -1,"
                      " receptor: AMPA}\n",
                      "connections[0].seed", ["-1", "allowed: an integer from 0"]),
    "indegree on all_to_all": ("connections:\n  - {source: E, target: E, rule: all_to_all, indegree: 2,"
                               " receptor: AMPA}\n",
                               "connections[0].indegree", ["parameter of rule fixed_indegree, not of all_to_all",
                                                           "allowed for all_to_all:", "allow_autapses"]),
    "seed on all_to_all": ("connections:\n  - {source: E, target: E, seed: 2, receptor: AMPA}\n",
                           "connections[0].seed", ["parameter of rule fixed_indegree and fixed_outdegree and "
                                                   "pairwise_bernoulli, not of all_to_all"]),
    "multapses on bernoulli": ("connections:\n  - {source: E, target: E, rule: pairwise_bernoulli, p: 0.5,"
                               " seed: 1, allow_multapses: false, receptor: AMPA}\n",
                               "connections[0].allow_multapses", ["not of pairwise_bernoulli"]),
    "unknown rule": ("connections:\n  - {source: E, target: E, rule: all_to_al, receptor: AMPA}\n",
                     "connections[0].rule", ["unknown rule 'all_to_al'", "did you mean 'all_to_all'?",
                                             "fixed_indegree"]),
    "unknown field": ("connections:\n  - {source: E, target: E, receptor: AMPA, wieght: 1.0}\n",
                      "connections[0].wieght", ["unknown field of rule all_to_all", "did you mean 'weight'?"]),
    "negative indegree": ("connections:\n  - {source: E, target: E, rule: fixed_indegree, indegree: -1, seed: 1,"
                          " receptor: AMPA}\n",
                          "connections[0].indegree", ["-1", "allowed: an integer from 0"]),
    "autapses not a flag": ("connections:\n  - {source: E, target: E, allow_autapses: 'no', receptor: AMPA}\n",
                            "connections[0].allow_autapses", ["expected true or false", "'no'"]),
    "receptor missing": ("connections:\n  - {source: E, target: E}\n",
                         "connections[0].receptor", ["missing", "AMPA, GABA, NMDA"]),
    "receptor unknown": ("connections:\n  - {source: E, target: E, receptor: NMDAR}\n",
                         "connections[0].receptor", ["unknown receptor 'NMDAR'", "did you mean 'NMDA'?"]),
    "connections not a list": ("connections: {source: E}\n", "connections", ["expected a list"]),
    # lists of the wrong length
    "params list": ("populations:\n  E: {n: 3, params: {C_m: [100.0, 200.0]}}\n",
                    "populations.E.params.C_m", ["has 2 values for 3 neurons", "a list of exactly 3"]),
    "initial list": ("populations:\n  E: {n: 2, initial: {V_m: [-70.0, -65.0, -60.0]}}\n",
                     "populations.E.initial.V_m", ["has 3 values for 2 neurons", "a list of exactly 2"]),
    "connection weights": ("connections:\n  - {source: E, target: I, receptor: AMPA, weight: [1.0, 2.0]}\n",
                           "connections[0].weight", ["has 2 values but the rule makes 3 connections",
                                                     "one value per connection in the expansion order",
                                                     "target by target"]),
    "connection delays": ("connections:\n  - {source: E, target: E, rule: fixed_indegree, indegree: 2, seed: 1,"
                          " receptor: AMPA, delay: [0.1]}\n",
                          "connections[0].delay", ["has 1 value but the rule makes 6 connections"]),
    "bernoulli weights": ("connections:\n  - {source: E, target: E, rule: pairwise_bernoulli, p: 0.5, seed: 1,"
                          " receptor: AMPA, weight: [1.0, 2.0]}\n",
                          "connections[0].weight", ["pairwise_bernoulli draws it", "give one number"]),
    "input weights": ("inputs:\n  - {device: spike_generator, target: E, receptor: AMPA, spike_times: [1.0],"
                      " weight: [1.0, 2.0]}\n",
                      "inputs[0].weight", ["has 2 values for 3 targets", "one per target neuron"]),
    "input rates": ("inputs:\n  - {device: poisson_spikes, target: E, receptor: AMPA, rate: [1.0], seed: 1}\n",
                    "inputs[0].rate", ["has 1 value for 3 targets", "a list of exactly 3"]),
    "input amplitudes": ("inputs:\n  - {device: dc_generator, target: 'I[0]', amplitude: [1.0, 2.0]}\n",
                         "inputs[0].amplitude", ["has 2 values for 1 target", "a list of exactly 1"]),
    "per-target value": ("inputs:\n  - {device: poisson_spikes, target: E, receptor: AMPA, rate: [1.0, -2.0, 3.0],"
                         " seed: 1}\n",
                         "inputs[0].rate[1]", ["-2.0 Hz is negative"]),
    "per-neuron value": ("populations:\n  E: {n: 3, params: {C_m: [100.0, -1.0, 200.0]}}\n",
                         "populations.E.params.C_m[1]", ["-1.0", "C_m > 0"]),
    # a device where a neuron belongs
    "device target": ("connections:\n  - {source: E, target: dc_generator, receptor: AMPA}\n",
                      "connections[0].target", ["'dc_generator' is a device, not a population",
                                                "give a generator under inputs", "the recording under record"]),
    "recorder target": ("connections:\n  - {source: E, target: spike_recorder, receptor: AMPA}\n",
                        "connections[0].target", ["'spike_recorder' is a device", "under inputs"]),
    "device source": ("connections:\n  - {source: poisson_generator, target: E, receptor: AMPA}\n",
                      "connections[0].source", ["'poisson_generator' is a device", "under inputs"]),
    # delays below the resolution or off the grid
    "short delay": ("connections:\n  - {source: E, target: I, receptor: AMPA, delay: 0.05}\n",
                    "connections[0].delay", ["0.05 ms is shorter than the resolution 0.1 ms",
                                             "allowed: a multiple of the resolution >= 0.1 ms"]),
    "zero delay": ("connections:\n  - {source: E, target: I, receptor: AMPA, delay: 0.0}\n",
                   "connections[0].delay", ["0.0 ms is shorter than the resolution"]),
    "off-grid delay": ("connections:\n  - {source: E, target: I, receptor: AMPA, delay: 0.25}\n",
                       "connections[0].delay", ["0.25 ms is not a multiple of the resolution 0.1 ms",
                                                "NEST would round it"]),
    "off-grid delay in a list": ("connections:\n  - {source: E, target: I, receptor: AMPA,"
                                 " delay: [0.1, 0.15, 0.2]}\n",
                                 "connections[0].delay[1]", ["0.15 ms is not a multiple of the resolution"]),
    "short input delay": ("inputs:\n  - {device: spike_generator, target: E, receptor: AMPA, spike_times: [1.0],"
                          " delay: 0.05}\n",
                          "inputs[0].delay", ["0.05 ms is shorter than the resolution 0.1 ms"]),
    "off-grid input delay": ("inputs:\n  - {device: dc_generator, target: I, amplitude: 1.0, delay: 0.25}\n",
                             "inputs[0].delay", ["0.25 ms is not a multiple of the resolution 0.1 ms"]),
    "huge weight in a list": ("connections:\n  - {source: E, target: I, receptor: AMPA,"
                              " weight: [1.0, 2.0e9, 1.0]}\n",
                              "connections[0].weight[1]", ["2000000000.0 nS", "allowed: |weight| <= 1e+09"]),
    # network-only keys and the network's own fields
    "top-level params": ("params: {C_m: 100.0}\n", "params.C_m",
                         ["gives params per population", "populations.<name>.params.C_m"]),
    "top-level initial": ("initial: {V_m: -60.0}\n", "initial.V_m",
                          ["gives initial per population", "populations.<name>.initial.V_m"]),
    "threads zero": ("nest_threads: 0\n", "nest_threads", ["0", "allowed: an integer from 1 to 64"]),
    "threads too many": ("nest_threads: 65\n", "nest_threads", ["65", "allowed: an integer from 1 to 64"]),
    "threads not a number": ("nest_threads: two\n", "nest_threads", ["'two'", "an integer from 1 to 64"]),
    "population name": ("populations:\n  E-1: {n: 1}\n", "populations.E-1",
                        ["'E-1' cannot name a population", "a letter or '_', then letters, digits, '_'"]),
    "population digit": ("populations:\n  2x: {n: 1}\n", "populations.2x", ["'2x' cannot name a population"]),
    "n zero": ("populations:\n  E: {n: 0}\n", "populations.E.n", ["0 neurons", "an integer from 1 to 10000"]),
    "n fraction": ("populations:\n  E: {n: 1.5}\n", "populations.E.n", ["got a number 1.5", "an integer from 1"]),
    "n boolean": ("populations:\n  E: {n: true}\n", "populations.E.n", ["got a boolean True"]),
    "n missing": ("populations:\n  E: {params: {C_m: 100.0}}\n", "populations.E.n", ["missing", "an integer"]),
    "n too large": ("populations:\n  E: {n: 10001}\n", "populations.E.n", ["10001 neurons", "from 1 to 10000"]),
    "unknown population key": ("populations:\n  E: {n: 1, param: {}}\n", "populations.E.param",
                               ["unknown key 'param'", "did you mean 'params'?"]),
    "unknown parameter": ("populations:\n  E: {n: 1, params: {tau_AMPAA: 1.0}}\n", "populations.E.params.tau_AMPAA",
                          ["unknown parameter of iaf_bw_2001_exact", "did you mean 'tau_AMPA'?"]),
    "empty populations": ("populations: {}\n", "populations", ["got an empty mapping", "for example"]),
    "populations list": ("populations: [E, I]\n", "populations", ["got a list"]),
}


def _file(addition: str) -> str:
    """BASE with ``addition``; a ``populations:`` in it replaces BASE's."""
    if addition.startswith("populations:"):
        return BASE.split("populations:")[0] + addition
    return BASE + addition


@pytest.mark.parametrize("addition, key, words", CASES.values(), ids=CASES.keys())
def test_bad_network_input_is_refused_with_its_key_path(addition, key, words):
    assert_problem(problems_of(_file(addition)), key, *words)


@pytest.mark.parametrize("addition", [
    "connections:\n  - {source: E, target: I, receptor: AMPA}\n",
    "nest_threads: 2\n",
])
def test_network_keys_without_populations_are_refused(addition):
    items = problems_of(BASE.split("populations:")[0] + addition)
    key = addition.split(":")[0]
    assert_problem(items, key, "belongs to a network scenario", "allowed only with populations")


def test_input_delay_and_device_messages_do_not_blame_connections():
    """The hint about devices belongs to connections; an input's or the recording's unknown name has none."""
    items = problems_of(BASE + "inputs:\n  - {device: dc_generator, target: spike_recorder, amplitude: 1.0}\n"
                               "record: {neurons: [multimeter]}\n")
    assert all("is a device" not in m for _, m in items), items
    assert_problem(items, "inputs[0].target", "unknown target 'spike_recorder'")
    assert_problem(items, "record.neurons[0]", "unknown recorded neuron 'multimeter'")


def test_a_recording_too_big_for_memory_gives_the_estimate_and_how_to_shrink_it():
    # 1e7 steps x 4 neurons x 7 variables = 2.8e8 values
    items = problems_of(BASE.replace("duration: 10.0", "duration: 1000000.0"))
    values = 10 ** 7 * 4 * 7
    assert values > MAX_RECORDED_VALUES
    assert_problem(items, "record", "7 variables of 4 neurons over 10000000 steps", "2.8e+08 values",
                   "2.2 GB of float64", "record fewer neurons (record.neurons)", "fewer variables (record.variables)",
                   "a shorter duration")
    # what the message proposes is accepted
    assert parse(BASE.replace("duration: 10.0", "duration: 1000000.0")
                 + "record: {neurons: ['I[0]'], variables: [V_m]}\n").network.record_neurons.tolist() == [3]


def test_too_many_connections_are_refused_before_anything_is_allocated():
    text = BASE.split("populations:")[0] + ("populations:\n  E: {n: 2000}\nconnections:\n"
                                             "  - {source: E, target: E, receptor: AMPA}\n")
    assert_problem(problems_of(text), "connections[0]", "all_to_all from 2000 neurons to 2000 neurons makes "
                                                        "4000000 pairs", "allowed: at most 1000000")


def test_every_independent_problem_of_a_file_is_reported_at_once():
    text = BASE.split("populations:")[0] + """\
nest_threads: 0
populations:
  E: {n: 3, params: {C_m: [100.0, -1.0, 200.0]}, initial: {V_m: [-70.0]}}
  I: {n: 1}
connections:
  - {source: E, target: 'E[5]', receptor: AMPA}
  - {source: E, target: E, rule: fixed_indegree, indegree: 3, allow_autapses: false, allow_multapses: false,
     seed: 1, receptor: NMDA}
  - {source: E, target: I, receptor: AMPA, weight: [1.0, 2.0]}
  - {source: I, target: E, receptor: GABA, delay: 0.25}
  - {source: E, target: dc_generator, receptor: AMPA}
inputs:
  - {device: poisson_spikes, target: E, receptor: AMPA, rate: [1.0, 2.0], seed: 1}
  - {device: spike_generator, target: Q, receptor: AMPA, spike_times: [1.0]}
  - {device: dc_generator, target: I, amplitude: 1.0, delay: 0.05}
record: {neurons: ['I[2]']}
"""
    items = problems_of(text)
    expected = {
        "nest_threads": "allowed: an integer from 1 to 64",
        "populations.E.params.C_m[1]": "C_m > 0",
        "populations.E.initial.V_m": "has 1 value for 3 neurons",
        "connections[0].target": "index 5 is out of range",
        "connections[1].indegree": "3 is more than the 2 sources",
        "connections[2].weight": "has 2 values but the rule makes 3 connections",
        "connections[3].delay": "0.25 ms is not a multiple",
        "connections[4].target": "is a device",
        "inputs[0].rate": "has 2 values for 3 targets",
        "inputs[1].target": "unknown target 'Q'",
        "inputs[2].delay": "shorter than the resolution",
        "record.neurons[0]": "index 2 is out of range",
    }
    for key, words in expected.items():
        assert_problem(items, key, words)
    assert len(items) == len(expected), items  # each once, nothing spurious (the refused C_m blames no weight)


def test_validate_lists_every_problem_and_exits_2_without_traceback(write_scenario):
    path = write_scenario(BASE + """\
connections:
  - {source: E, target: X, receptor: AMPA}
  - {source: E, target: E, rule: pairwise_bernoulli, p: 2.0, seed: 1, receptor: AMPA}
inputs:
  - {device: dc_generator, target: 'E[9]', amplitude: 1.0}
record: {neurons: [Y]}
""")
    proc = subprocess.run([sys.executable, "-m", "harness", "validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    for key in ("connections[0].target", "connections[1].p", "inputs[0].target", "record.neurons[0]"):
        assert f"{path}: {key}: " in proc.stderr, proc.stderr


def test_a_good_network_file_validates(write_scenario):
    path = write_scenario(BASE + "connections:\n  - {source: E, target: I, receptor: AMPA}\n")
    proc = subprocess.run([sys.executable, "-m", "harness", "validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert load_scenario(path).network.n == 4


# ---------------------------------------------------------------------------------------------- expansion
def pairs(net):
    c = net.connections
    return list(zip(c.source.tolist(), c.target.tolist()))


def test_all_to_all_is_target_major():
    """For each target (ascending), each source (ascending): NEST's own loop, so each target's NMDA ports are
    numbered by source."""
    net = network("connections:\n  - {source: E, target: E, allow_autapses: false, receptor: NMDA,"
                  " weight: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], delay: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}\n"
                  "  - {source: E, target: I, receptor: AMPA}\n")
    assert pairs(net) == [(1, 0), (2, 0), (0, 1), (2, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    c = net.connections
    # weight and delay lists follow the expansion order
    assert c.weight[:6].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert c.delay_steps[:6].tolist() == [1, 2, 3, 4, 5, 6]
    assert c.receptor.tolist() == [3] * 6 + [1] * 3
    ports = net.nmda_ports()
    assert [[w for _, _, w in p] for p in ports] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], []]


def test_all_to_all_with_autapses_and_one_to_one():
    net = network("connections:\n  - {source: E, target: E, receptor: AMPA}\n"
                  "  - {source: E, target: E, rule: one_to_one, receptor: GABA, weight: [1.0, 2.0, 3.0]}\n"
                  "  - {source: E, target: E, rule: one_to_one, allow_autapses: false, receptor: GABA}\n")
    assert pairs(net)[:9] == [(s, t) for t in range(3) for s in range(3)]
    assert pairs(net)[9:] == [(0, 0), (1, 1), (2, 2)]  # one_to_one without autapses: nothing on E -> E
    assert net.connections.weight[9:].tolist() == [1.0, 2.0, 3.0]


def _random_rules(seed: int) -> str:
    return f"""\
populations:
  A: {{n: 6}}
  B: {{n: 5}}
connections:
  - {{source: A, target: B, rule: fixed_indegree, indegree: 4, seed: {seed}, receptor: AMPA}}
  - {{source: A, target: A, rule: fixed_indegree, indegree: 3, allow_autapses: false, allow_multapses: false,
     seed: {seed}, receptor: NMDA}}
  - {{source: B, target: A, rule: fixed_outdegree, outdegree: 4, seed: {seed}, receptor: GABA}}
  - {{source: A, target: A, rule: fixed_outdegree, outdegree: 2, allow_autapses: false, allow_multapses: false,
     seed: {seed}, receptor: AMPA}}
  - {{source: A, target: A, rule: pairwise_bernoulli, p: 0.4, allow_autapses: false, seed: {seed},
     receptor: AMPA}}
"""


def random_network(seed: int):
    return parse(BASE.split("populations:")[0] + _random_rules(seed)).network


def test_random_rules_reproduce_from_the_seed():
    first, again, other = random_network(5), random_network(5), random_network(6)
    for name in ("source", "target", "receptor", "weight", "delay_steps"):
        assert np.array_equal(getattr(first.connections, name), getattr(again.connections, name))
    assert pairs(first) != pairs(other)


def test_random_rules_follow_the_documented_draws():
    """The documented rule, written out independently: a change in the draws would move every reference."""
    net = random_network(5)
    a, b = np.arange(6), np.arange(6, 11)
    expected = []
    rng = np.random.default_rng(5)  # fixed_indegree A -> B with multapses: integers, target by target
    expected += [(int(a[i]), int(t)) for t in b for i in rng.integers(0, 6, 4)]
    rng = np.random.default_rng(5)  # fixed_indegree A -> A, no autapses, no multapses: choice without replacement
    for t in a:
        allowed = a[a != t]
        expected += [(int(allowed[i]), int(t)) for i in rng.choice(5, 3, replace=False)]
    rng = np.random.default_rng(5)  # fixed_outdegree B -> A: source by source
    expected += [(int(s), int(a[i])) for s in b for i in rng.integers(0, 6, 4)]
    rng = np.random.default_rng(5)
    for s in a:
        allowed = a[a != s]
        expected += [(int(s), int(allowed[i])) for i in rng.choice(5, 2, replace=False)]
    hit = np.random.default_rng(5).random((6, 6)) < 0.4  # pairwise_bernoulli: (targets, sources), target-major
    expected += [(int(s), int(t)) for t in a for s in a if hit[t, s] and s != t]
    assert pairs(net) == expected
    c = net.connections
    assert c.receptor.tolist() == [1] * 20 + [3] * 18 + [2] * 20 + [1] * (12 + int(hit.sum() - hit.trace()))
    # no multapses and no autapses where the file says so
    nmda = [(s, t) for (s, t), r in zip(pairs(net), c.receptor.tolist()) if r == 3]
    assert len(set(nmda)) == len(nmda) and all(s != t for s, t in nmda)


def test_nmda_ports_follow_the_list_then_the_generators():
    net = network("""\
connections:
  - {source: E, target: I, receptor: NMDA, weight: [1.0, 2.0, 3.0]}
  - {source: 'E[1]', target: I, receptor: NMDA, weight: 4.0}
inputs:
  - {device: spike_generator, target: I, receptor: NMDA, weight: 5.0, spike_times: [1.0]}
  - {device: spike_generator, target: E, receptor: NMDA, weight: [6.0, 7.0, 8.0], spike_times: [1.0]}
""")
    ports = net.nmda_ports()
    assert ports[3] == [("connection", 0, 1.0), ("connection", 1, 2.0), ("connection", 2, 3.0),
                        ("connection", 3, 4.0), ("input", 0, 5.0)]
    assert [p for n in range(3) for p in ports[n]] == [("input", 1, 6.0), ("input", 2, 7.0), ("input", 3, 8.0)]
    assert [t for t, _ in net.inputs] == [3, 0, 1, 2]  # one generator per target, in target order


def test_a_one_target_poisson_input_gives_the_single_neuron_spikes(write_scenario):
    single = write_scenario("""\
        resolution: 0.1
        duration: 50.0
        inputs:
          - {device: poisson_spikes, receptor: AMPA, weight: 2.0, rate: 900.0, seed: 42, start: 5.0, stop: 40.0}
        """, "single.yaml")
    net = write_scenario("""\
        resolution: 0.1
        duration: 50.0
        populations:
          E: {n: 2}
        inputs:
          - {device: poisson_spikes, target: 'E[1]', receptor: AMPA, weight: 2.0, rate: 900.0, seed: 42,
             start: 5.0, stop: 40.0}
        """, "net.yaml")
    (one,) = load_scenario(single).inputs
    ((target, item),) = load_scenario(net).network.inputs
    assert target == 1 and isinstance(item, SpikeInput)
    assert len(one.spike_steps) > 10
    assert np.array_equal(item.spike_steps, one.spike_steps)
    assert np.array_equal(item.multiplicities, one.multiplicities)
    assert (item.weight, item.delay_steps, item.receptor) == (one.weight, one.delay_steps, one.receptor)


def test_row_i_of_a_k_target_poisson_input_is_row_i_of_one_draw():
    rates = [400.0, 900.0, 1500.0]
    net = network(f"inputs:\n  - {{device: poisson_spikes, target: E, receptor: GABA, rate: {rates}, seed: 7}}\n"
                  "  - {device: poisson_spikes, target: 'I[0]', receptor: AMPA, rate: 900.0, seed: 7}\n")
    n_steps = 100
    u = np.random.default_rng(7).random((3, n_steps))
    steps = np.arange(1, n_steps + 1)
    for i, (target, item) in enumerate(net.inputs[:3]):
        assert target == i
        expected = steps[u[i] < rates[i] * 0.1 / 1000.0]
        assert np.array_equal(item.spike_steps, expected)
    # rows differ from one another; a one-target input to I gets row 0 of its own draw
    assert not np.array_equal(net.inputs[0][1].spike_steps, net.inputs[1][1].spike_steps)
    single = np.random.default_rng(7).random(n_steps)
    assert np.array_equal(single, u[0])  # which is why one target reproduces the single-neuron rule
    assert np.array_equal(net.inputs[3][1].spike_steps, steps[single < 900.0 * 0.1 / 1000.0])


def test_per_target_weights_and_amplitudes_follow_the_target_order():
    net = network("inputs:\n  - {device: spike_generator, target: E, receptor: AMPA, weight: [1.5, 2.5, 3.5],"
                  " spike_times: [1.0]}\n  - {device: dc_generator, target: E, amplitude: [10.0, 20.0, 30.0]}\n")
    assert [item.weight for _, item in net.inputs[:3]] == [1.5, 2.5, 3.5]
    assert [item.amplitude for _, item in net.inputs[3:]] == [10.0, 20.0, 30.0]
    assert [t for t, _ in net.inputs] == [0, 1, 2, 0, 1, 2]


def test_record_selection_is_ascending_and_unique():
    net = network("record: {neurons: ['I[0]', E, 'E[1]'], variables: [s_NMDA, V_m]}\n")
    assert net.record_neurons.tolist() == [0, 1, 2, 3]
    assert parse(BASE + "record: {neurons: ['E[2]', 'E[0]'], variables: [s_NMDA, V_m]}\n").record == \
        ("V_m", "s_NMDA")
