"""Validation in one pass (issue 18, deliverable 8): every independent problem of a file in one run, each once;
NEST's device names pointed to the schema's; ``validate`` over folders and glob patterns, like ``gate``."""
import re

import pytest
from conftest import SCENARIO_DIR

from harness.cli import main
from harness.scenario.inputs import DEVICE_KEYS
from harness.scenario.nest_devices import ALIASES

# The case: an off-grid duration used to hide every problem of the inputs (their checks need the grid).
TEN_PROBLEMS = """\
resolution: 0.1
duration: 100.05
inputs:
  - {device: spike_generator, receptor: AMPB, spike_times: [1.0]}
  - {device: spike_generator, receptor: AMPA, spike_times: [12.7004]}
  - {device: spike_generator, receptor: AMPA, delay: 2.55, spike_times: [1.0]}
  - {device: poisson_spikes, receptor: AMPA, rate: -5.0, seed: 1}
  - {device: poisson_spikes, receptor: AMPA, rate: 5.0}
  - {device: dc_generator, amplitude: 1.0, start: 10.03}
  - {device: dc_generator, amplitude: 1.0, start: 10.0, stop: 5.0}
  - {device: step_current_generator, amplitude_times: [5.0, 5.0], amplitude_values: [1.0, 2.0]}
  - {device: poisson_generator, rate: 5.0}
"""
TEN_KEYS = ["duration", "inputs[0].receptor", "inputs[1].spike_times[0]", "inputs[2].delay", "inputs[3].rate",
            "inputs[4].seed", "inputs[5].start", "inputs[6].stop", "inputs[7].amplitude_times[1]",
            "inputs[8].device"]


def problems(capsys, *paths) -> tuple[int, list[str], str]:
    """(exit code, the key path of every problem line, stderr) of one `validate` run."""
    code = main(["validate", *map(str, paths)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    keys = [m.group(1) for m in re.finditer(r"^error: \S+?\.yaml: (\S+): ", err, re.M)]
    return code, keys, err


def test_an_off_grid_duration_and_nine_input_problems_are_reported_in_one_run(capsys, write_scenario):
    code, keys, err = problems(capsys, write_scenario(TEN_PROBLEMS))
    assert code == 2
    assert keys == TEN_KEYS, err  # all ten, in file order, and nothing else: no follow-up of any of them
    assert "0 files ok, 1 with problems" in err


def test_a_refused_resolution_leaves_only_the_grid_checks_out(capsys, write_scenario):
    path = write_scenario("""\
        resolution: 0.0125
        duration: -3.0
        simulate_chunks: [0.5, -1.0]
        inputs:
          - {device: spike_generator, receptor: AMPB, spike_times: [12.7004, 0.5, fast, -2.0]}
          - {device: spike_generator, receptor: AMPA, spike_times: [1.0], spike_multiplicities: [1, 2]}
          - {device: spike_generator, receptor: AMPA, delay: -2.5, spike_times: [1.0]}
          - {device: dc_generator, amplitude: 1.0, start: 10.03, delay: 0.05}
          - {device: step_current_generator, amplitude_times: [1.0], amplitude_values: [2e6]}
        """)
    code, keys, err = problems(capsys, path)
    assert code == 2
    # Not judged without a grid (and not reported): 12.7004 ms, the chunks' grid, start 10.03, delay 0.05.
    assert keys == ["resolution", "duration", "simulate_chunks[1]", "inputs[0].receptor", "inputs[0].spike_times[2]",
                    "inputs[0].spike_times[3]", "inputs[0].spike_times[1]", "inputs[1].spike_multiplicities",
                    "inputs[2].delay", "inputs[4].amplitude_values[0]"], err
    assert "0.0125 ms grid" not in err and "times > 0 ms, on the grid of the resolution" in err


def test_a_duration_over_the_step_limit_still_checks_the_inputs_against_the_resolution(capsys, write_scenario):
    path = write_scenario("resolution: 0.001\nduration: 1e5\ninputs:\n"
                          "  - {device: poisson_spikes, receptor: AMPA, rate: 5.0, seed: 1, start: 0.0005}\n")
    code, keys, err = problems(capsys, path)
    assert (code, keys) == (2, ["duration", "inputs[0].start"]), err
    assert "0.0005 ms is off the 0.001 ms grid" in err


@pytest.mark.parametrize("params, refused", [
    ("V_th: xyz\n  V_reset: -50.0", "params.V_th"),  # V_reset is not judged against the default V_th
    ("C_m: .nan", "params.C_m"),
    ("C_m: 0.5", "params.C_m"),  # below the bound: the weight's stiffness is not judged on it either
])
def test_a_refused_parameter_gives_no_follow_up_problem(capsys, write_scenario, params, refused):
    # 2e7 nS is stiff on C_m 0.5 pF (4e7 /ms), not on the default 250 pF (8e4 /ms, the limit is 1e5)
    path = write_scenario(f"resolution: 0.1\nduration: 10.0\nparams:\n  {params}\ninputs:\n"
                          "  - {device: spike_generator, receptor: AMPA, weight: 2e7, spike_times: [1.0]}\n")
    code, keys, err = problems(capsys, path)
    assert (code, keys) == (2, [refused]), err


def test_the_stiffness_is_still_judged_when_other_fields_of_the_input_are_wrong(capsys, write_scenario):
    path = write_scenario("resolution: 0.1\nduration: 10.0\ninputs:\n"
                          "  - {device: spike_generator, receptor: AMPA, weight: 1e8, delay: 0.05, spike_times: [x]}\n")
    code, keys, err = problems(capsys, path)
    assert keys == ["inputs[0].delay", "inputs[0].spike_times[0]", "inputs[0].weight"], err


NETWORK = """\
resolution: 0.1
duration: 100.05
populations:
  E: {n: 0}
  I: {n: 2, params: {C_m: [1.0], V_reset: -50.0}}
  "1x": {n: 3}
connections:
  - {source: E, target: I, receptor: AMPA, delay: 2.55}
  - {source: Ee, target: I, receptor: AMPA, weight: [1.0, abc], rule: fixed_indegree}
  - {source: I, target: I, receptor: AMPB, rule: pairwise_bernoulli, p: 1.5, seed: 1, delay: 0.05}
  - {source: poisson_generator, target: I, receptor: AMPA}
  - {source: I, target: "1x", receptor: AMPA, weight: 1e12}
inputs:
  - {device: poisson_generator, target: I, rate: 5.0}
  - {device: poisson_spikes, target: E, receptor: AMPA, rate: [-1.0, 5.0], seed: 1}
  - {device: dc_generator, target: I, amplitude: [1.0, 2.0, 3.0], start: 10.03}
  - {device: spike_generator, receptor: AMPA, spike_times: [1.05]}
record: {neurons: [E, I, Q], variables: [V_m, X]}
"""


def test_a_network_reports_every_independent_problem_once(capsys, write_scenario):
    """A refused population keeps its name: what names it is skipped silently, what does not is checked."""
    code, keys, err = problems(capsys, write_scenario(NETWORK))
    assert code == 2
    assert keys == [
        "duration", "populations.E.n", "populations.I.params.C_m", "populations.I.params.V_reset", "populations.1x",
        "connections[0].delay",  # its source E is refused: no "unknown source"
        "connections[1].source", "connections[1].seed", "connections[1].indegree", "connections[1].weight[1]",
        "connections[2].receptor", "connections[2].p", "connections[2].delay",
        "connections[3].source",  # a device's name: reported, whatever the populations
        "connections[4].weight",  # its target 1x is refused
        "inputs[0].device", "inputs[1].rate[0]",  # the target E is refused, the rate is checked on its own
        "inputs[2].amplitude", "inputs[2].start",  # the list does not fit: the rest is checked all the same
        "inputs[3].target", "inputs[3].spike_times[0]",
        "record.neurons[2]", "record.variables[1]"], err


def test_a_network_with_a_refused_resolution_checks_what_needs_no_grid(capsys, write_scenario):
    path = write_scenario("""\
        resolution: -1.0
        duration: 100.0
        populations: {I: {n: 2}}
        connections:
          - {source: I, target: I, receptor: AMPA, delay: 2.55}
          - {source: I, target: I, receptor: AMPA, delay: -1.0}
          - {source: I, target: J, receptor: AMPA}
        inputs:
          - {device: spike_generator, target: I, receptor: AMPA, spike_times: [1.05, -1.0]}
        """)
    code, keys, err = problems(capsys, path)
    assert (code, keys) == (2, ["resolution", "connections[1].delay", "connections[2].target",
                                "inputs[0].spike_times[1]"]), err


def test_a_populations_block_that_is_no_mapping_leaves_every_name_unjudged(capsys, write_scenario):
    path = write_scenario("""\
        resolution: 0.1
        duration: 10.0
        populations: [E]
        connections:
          - {source: E, target: spike_recorder, receptor: AMPA, delay: 0.05}
        inputs:
          - {device: dc_generator, target: E, amplitude: [1.0, abc]}
          - {device: poisson_spikes, target: "E[3]", rate: 5.0, seed: 1, receptor: AMPA, weight: [1e12]}
        record: {neurons: [E], variables: [V_m]}
        """)
    code, keys, err = problems(capsys, path)
    assert (code, keys) == (2, ["populations", "connections[0].target", "connections[0].delay",
                                "inputs[0].amplitude[1]", "inputs[1].weight[0]"]), err


# ------------------------------------------------------------------------------------------ NEST's names
@pytest.mark.parametrize("name, fragment", [
    ("poisson_generator", "'poisson_generator' is NEST's name; in a scenario file write `device: poisson_spikes` "
                          "(with a `seed`"),
    ("Poisson_Generator", "write `device: poisson_spikes`"),
    ("poisson_generator_ps", "write `device: poisson_spikes`"),
    ("inhomogeneous_poisson_generator", "one `device: poisson_spikes` per stretch of constant rate"),
    ("spike_train_injector", "write `device: spike_generator`"),
    ("sinusoidal_poisson_generator", "give the spike train as `device: spike_generator`"),
    ("noise_generator", "as `device: step_current_generator`"),
    ("multimeter", "is a NEST recorder, not an input"),
    ("spike_detector", "NEST 2's name of the spike_recorder"),
])
def test_nest_device_names_are_pointed_to_the_schema(capsys, write_scenario, name, fragment):
    code, keys, err = problems(capsys, write_scenario(f"resolution: 0.1\nduration: 10.0\ninputs:\n"
                                                      f"  - {{device: {name}, rate: 5.0}}\n"))
    assert (code, keys) == (2, ["inputs[0].device"]), err
    assert fragment in err and "did you mean" not in err
    assert "allowed: spike_generator, poisson_spikes, dc_generator, step_current_generator" in err


def test_a_network_input_gets_the_same_advice(capsys, write_scenario):
    code, keys, err = problems(capsys, write_scenario("resolution: 0.1\nduration: 10.0\npopulations: {E: {n: 1}}\n"
                                                      "inputs:\n  - {device: poisson_generator, target: E}\n"))
    assert keys == ["inputs[0].device"] and "write `device: poisson_spikes`" in err


def test_an_unknown_name_keeps_the_did_you_mean(capsys, write_scenario):
    code, keys, err = problems(capsys, write_scenario("resolution: 0.1\nduration: 10.0\ninputs:\n"
                                                      "  - {device: poisson_spike}\n"))
    assert "unknown device 'poisson_spike' (did you mean 'poisson_spikes'?)" in err


def test_every_advice_names_a_device_of_the_schema_or_the_record_key():
    for name, advice in ALIASES.items():
        assert name not in DEVICE_KEYS
        assert "`record:`" in advice or any(f"`device: {d}`" in advice for d in DEVICE_KEYS), name


@pytest.mark.nest
def test_the_table_covers_every_stimulator_and_recorder_of_the_live_nest():
    import nest

    devices = {m for m in nest.node_models if nest.GetDefaults(m).get("element_type") in ("stimulator", "recorder")}
    assert len(devices) > 20  # the query works: NEST 3.10 has 26
    assert devices <= set(ALIASES) | set(DEVICE_KEYS), sorted(devices - set(ALIASES) - set(DEVICE_KEYS))
    assert "spike_train_injector" in nest.node_models  # a stimulating neuron, hence not in the query above


# -------------------------------------------------------------------------------- folders and patterns
GOOD = "resolution: 0.1\nduration: 10.0\n"


def test_validate_accepts_a_folder_and_searches_it_like_gate(capsys, tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.yaml", "sub/b.yaml"):
        (tmp_path / name).write_text(f"name: {name.replace('/', '_')[:-5]}\n" + GOOD)
    (tmp_path / "notes.txt").write_text("not a scenario")
    assert main(["validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"ok  {tmp_path / 'a.yaml'}: a, 100 steps" in out and f"ok  {tmp_path / 'sub' / 'b.yaml'}" in out
    assert out.splitlines()[-1] == "2 files ok, 0 with problems"


def test_validate_accepts_a_glob_pattern(capsys):
    assert main(["validate", str(SCENARIO_DIR / "net_*.yaml")]) == 0
    out = capsys.readouterr().out
    listed = [line for line in out.splitlines() if line.startswith("ok  ")]
    assert len(listed) == len(list(SCENARIO_DIR.glob("net_*.yaml"))) > 1
    assert all("network of" in line for line in listed)
    assert out.splitlines()[-1] == f"{len(listed)} files ok, 0 with problems"


def test_a_folder_with_bad_files_lists_every_problem_of_each_and_exits_2(capsys, tmp_path):
    (tmp_path / "good.yaml").write_text("name: good\n" + GOOD)
    (tmp_path / "bad.yaml").write_text("name: bad\nresolution: 0.1\nduration: 10.05\n"
                                       "inputs: [{device: poisson_generator}]\n")
    (tmp_path / "worse.yaml").write_text("name: worse\nresoluton: 0.1\nduration: 10.0\n")
    code = main(["validate", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert f"ok  {tmp_path / 'good.yaml'}" in out  # the good file is still listed as ok
    assert f"{tmp_path / 'bad.yaml'}: duration: 10.05 ms is not a multiple" in err
    assert f"{tmp_path / 'bad.yaml'}: inputs[0].device: 'poisson_generator' is NEST's name" in err
    assert f"{tmp_path / 'worse.yaml'}: resoluton: unknown key" in err
    assert err.splitlines()[-1] == "1 file ok, 2 with problems"


def test_an_argument_naming_no_file_is_a_problem_and_the_others_are_still_validated(capsys, tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    code = main(["validate", str(tmp_path / "*.json"), str(tmp_path / "missing.yaml"), str(tmp_path / "a.yaml")])
    out, err = capsys.readouterr()
    assert code == 2
    assert f"{tmp_path / '*.json'}: no scenario files (*.yaml) found there" in err
    assert f"{tmp_path / 'missing.yaml'}: cannot read the file" in err
    assert f"ok  {tmp_path / 'a.yaml'}" in out
    assert err.splitlines()[-1] == "1 file ok, 1 with problems, 1 argument naming no scenario file"


def test_a_file_named_twice_is_validated_once(capsys, tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    assert main(["validate", str(tmp_path), str(tmp_path / "a.yaml")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 file ok, 0 with problems"
