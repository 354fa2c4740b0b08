"""The strict loader and the bounds: each reproducer of issue 15 ("Malformed files accepted", validate's
tracebacks and hangs) gets a one-line refusal naming the file and the key path; what is accepted loads to
exactly what ``yaml.safe_load`` gives (the catalogue's content hashes do not move)."""
import os
import time

import pytest
import yaml
from conftest import REPO
from hostile_corpus import catalogue_files

from harness.cli import main
from harness.errors import ScenarioError
from harness.scenario import bounds, loader
from harness.scenario.fields import Problems
from harness.scenario.schema import load_scenario, parse_scenario

BASE = "name: strict\nresolution: 0.1\nduration: 100.0\n"
SPIKE = BASE + "inputs:\n  - device: spike_generator\n    receptor: AMPA\n"


def refused(capsys, write_scenario, text, *fragments):
    path = write_scenario(text)
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    for fragment in fragments:
        assert f"{path}: {fragment}" in err, f"{fragment!r} not in:\n{err}"
    assert "Traceback" not in err and len(err) < 10_000
    return err


@pytest.mark.parametrize("path", catalogue_files(), ids=lambda p: p.name)
def test_catalogue_loads_exactly_as_safe_load(path):
    strict = loader.load_yaml(path)
    assert strict == yaml.safe_load(path.read_text())
    assert repr(strict) == repr(yaml.safe_load(path.read_text()))  # same types (int stays int)


@pytest.mark.parametrize("text, key", [
    (BASE + "duration: 50.0\n", "duration"),
    (SPIKE + "    receptor: GABA\n    spike_times: [1.0]\n", "inputs[0].receptor"),
    (BASE + "params:\n  C_m: 1.0\n  C_m: 2.0\n", "params.C_m"),
    (BASE + "tolerances: {V_m: {abs: 1.0, abs: 2.0}}\n", "tolerances.V_m.abs"),
])
def test_duplicate_keys_are_refused_with_their_path(capsys, write_scenario, text, key):
    refused(capsys, write_scenario, text, f"{key}: duplicate key")


@pytest.mark.parametrize("field, key", [
    ("    stop: null\n", "inputs[0].stop"),
    ("    rate: null\n", "inputs[0].rate"),
])
def test_null_never_means_the_default_for_poisson(capsys, write_scenario, field, key):
    text = BASE + "inputs:\n  - device: poisson_spikes\n    receptor: AMPA\n    rate: 5.0\n    seed: 1\n"
    text = text.replace("    rate: 5.0\n", "" if "rate" in field else "    rate: 5.0\n") + field
    err = refused(capsys, write_scenario, text, f"{key}: is null")
    assert err.count(key) == 1, "one message per null key, not a second 'missing'"


@pytest.mark.parametrize("text, key", [
    (SPIKE + "    spike_times: null\n", "inputs[0].spike_times"),
    (BASE + "inputs:\n  - {device: step_current_generator, amplitude_times: null, amplitude_values: [1.0]}\n",
     "inputs[0].amplitude_times"),
    ("resolution: 0.1\nduration: null\n", "duration"),
    ("resolution: 0.1\nduration:\n", "duration"),
    (BASE + "params: ~\n", "params"),
    (BASE + "inputs:\n  - {device: dc_generator, stop: null}\n", "inputs[0].stop"),
])
def test_null_is_an_error_wherever_a_value_is_required(capsys, write_scenario, text, key):
    refused(capsys, write_scenario, text, f"{key}: is null")


def test_null_duration_through_the_api_is_an_error_too():
    problems = Problems("api")
    with pytest.raises(ScenarioError, match="duration: is null"):
        parse_scenario({"resolution": 0.1, "duration": None}, problems)


@pytest.mark.parametrize("value, meaning", [
    ("1:30", "base-60"), ("1:30.5", "base-60"), ("017", "octal"), ("0x1F", "octal, hex"), ("0b101", "hex or binary"),
    ("yes", "boolean True"), ("off", "boolean False"), ("2001-12-14", "date"),
])
def test_yaml11_implicit_types_are_refused(capsys, write_scenario, value, meaning):
    err = refused(capsys, write_scenario, f"resolution: 0.1\nduration: {value}\n", f"duration: {value!r} is read")
    assert meaning in err


def test_yaml11_surprise_in_a_list_names_the_entry(capsys, write_scenario):
    refused(capsys, write_scenario, SPIKE + "    spike_times: [1.0, 1:30]\n", "inputs[0].spike_times[1]: '1:30'")


def test_quoted_text_and_true_false_stay_allowed(capsys, write_scenario):
    path = write_scenario(BASE + "description: 'yes, 1:30 on 2001-12-14'\n")
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("name", ["abc\n", "a/b", "../x", "x" * 101, "x" * 300, "", ".hidden", "a\\b", "a b"])
def test_names_that_cannot_name_a_reference_file(capsys, write_scenario, name):
    err = refused(capsys, write_scenario, yaml.safe_dump({"name": name}) + BASE.split("\n", 1)[1], "name:")
    assert len(err) < 600, "the name is quoted truncated"


def test_a_name_of_100_characters_is_allowed(capsys, write_scenario):
    path = write_scenario(f"name: {'x' * 100}\n" + BASE.split("\n", 1)[1])
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("text, fragment", [
    (SPIKE + "    spike_times: [1.0e19]\n", "inputs[0].spike_times[0]: 1e+19 ms; allowed: times up to"),
    (SPIKE + "    spike_times: [1.0e16]\n", "inputs[0].spike_times[0]: 1e+16 ms"),
    (SPIKE + "    spike_times: [1.0e-300]\n", "inputs[0].spike_times[0]: 1e-300 ms is step 0"),
    (SPIKE + "    delay: 1.0e12\n    spike_times: [1.0]\n", "inputs[0].delay: 1000000000000.0 ms"),
    (SPIKE + "    delay: 1.0e5\n    spike_times: [1.0]\n", "inputs[0].delay: 100000.0 ms is 1000000 steps"),
    (SPIKE + "    weight: 1.0e30\n    spike_times: [1.0]\n", "inputs[0].weight: 1e+30 nS is outside"),
    (SPIKE + "    weight: 1.0e9\n    spike_times: [1.0]\n", "inputs[0].weight: one spike gives |weight| x "
                                                             "multiplicity / C_m = 2e+06 /ms"),
    (SPIKE + "    weight: 1.0e3\n    spike_times: [1.0]\n    spike_multiplicities: [1000000]\n",
     "inputs[0].spike_multiplicities: one spike gives"),
    ("resolution: 2.0\nduration: 10.0\n", "resolution: 2.0 ms; allowed: a positive multiple of 0.001 ms up to 1 ms"),
    (SPIKE + "    spike_times: [1.0]\n    spike_multiplicities: [9223372036854775807]\n",
     "inputs[0].spike_multiplicities[0]: 9223372036854775807 is too large"),
    (BASE + "params: {t_ref: 1.0e30}\n", "params.t_ref: 1e+30 ms is outside"),
    (BASE + "params: {E_L: 1.0e300}\n", "params.E_L: 1e+300 mV is outside"),
    (BASE + "params: {gsl_error_tol: 1.0e-300}\n", "params.gsl_error_tol: 1e-300 is outside"),
    (BASE + "params: {C_m: 1.0e-300}\n", "params.C_m: 1e-300 pF is outside"),
    (BASE + "initial: {V_m: 1.0e300}\n", "initial.V_m: 1e+300 mV is outside"),
    ("resolution: 1.0e300\nduration: 1.0\n", "resolution: 1e+300 ms"),
    ("resolution: 0.1\nduration: 1.0e-300\n", "duration: 1e-300 ms is 0 steps"),
    (BASE + "inputs:\n  - {device: poisson_spikes, receptor: AMPA, rate: 1.0e9, seed: 1}\n",
     "inputs[0].rate: 1000000000.0 Hz"),
    (BASE + "inputs:\n  - {device: dc_generator, amplitude: 1.0e30}\n", "inputs[0].amplitude: 1e+30 pA"),
    (BASE + "duration: " + "9" * 5000 + "\n", "duration: a number of 5000 characters"),
])
def test_numbers_beyond_what_nest_and_the_engines_run(capsys, write_scenario, text, fragment):
    refused(capsys, write_scenario, text.replace("duration: 100.0\nduration:", "duration:"), fragment)


def test_values_at_the_bounds_are_allowed(capsys, write_scenario):
    path = write_scenario(BASE + "params: {E_L: -1000.0, V_th: 1000.0, C_m: 10000.0, gsl_error_tol: 1.0e-10, "
                                 "t_ref: 10000.0, alpha: 1000.0}\n" + "inputs:\n  - {device: spike_generator, "
                                 "receptor: AMPA, weight: 1.0e9, delay: 10000.0, spike_times: [10000000.0]}\n"
                                 "  - {device: spike_generator, receptor: NMDA, weight: 1.0, spike_times: [1.0], "
                                 "spike_multiplicities: [100]}\n"
                                 "  - {device: spike_generator, receptor: GABA, weight: 1.0, spike_times: [1.0], "
                                 "spike_multiplicities: [1000000]}\n")
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_alias_bomb_is_refused_quickly_and_quietly(capsys, write_scenario):
    rows = ["  l0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    rows += [f"  l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    text = BASE + "description:\n" + "\n".join(rows) + "\n"
    assert len(text) < 700
    start = time.monotonic()
    err = refused(capsys, write_scenario, text, "description.")
    assert "more than 200000 values" in err and time.monotonic() - start < 5


def test_poisson_aliases_are_refused_before_anything_is_drawn(capsys, write_scenario):
    text = ("resolution: 0.1\nduration: 1000000.0\ninputs:\n  - &p {device: poisson_spikes, receptor: AMPA, "
            "rate: 1000.0, seed: 1}\n" + "  - *p\n" * 199)
    start = time.monotonic()
    refused(capsys, write_scenario, text, "inputs: 200 poisson_spikes inputs")
    assert time.monotonic() - start < 5


def test_deep_nesting_is_refused_without_recursion_error(capsys, write_scenario):
    refused(capsys, write_scenario, BASE + "description: " + "[" * 5000 + "]" * 5000 + "\n")
    refused(capsys, write_scenario, BASE + "description: " + "[" * 20 + "]" * 20 + "\n", "description[0]")


def test_long_lists_and_many_inputs_are_refused(capsys, write_scenario):
    refused(capsys, write_scenario, SPIKE + "    spike_times: [" + ", ".join(["1.0"] * 100_001) + "]\n",
            "inputs[0].spike_times: a list of more than")
    refused(capsys, write_scenario, BASE + "inputs:\n" + "  - {device: dc_generator}\n" * 1001, "inputs: 1001 devices")


def test_a_file_over_the_size_limit_is_refused_unread(capsys, write_scenario):
    refused(capsys, write_scenario, BASE + "#" * (bounds.MAX_SPIKES // 10) + "\n", "the file is larger than")


def test_fifo_and_dev_zero_neither_hang_nor_exhaust_memory(capsys, tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for path, what in [(fifo, "a FIFO"), ("/dev/zero", "a device")]:
        assert main(["validate", str(path)]) == 2
        assert f"{path}: cannot read the file: it is {what}" in capsys.readouterr().err
    (tmp_path / "folder.yaml").mkdir()  # a folder is searched (as by gate): the FIFO in it is read unblocked
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{fifo}: cannot read the file: it is a FIFO" in err
    assert f"{tmp_path / 'folder.yaml'}: cannot read the file: it is a folder" in err


def test_messages_quote_values_truncated(capsys, write_scenario):
    err = refused(capsys, write_scenario, BASE + "model: " + "m" * 100_000 + "\n", "model: unknown model")
    assert "... (100002 characters)" in err and len(err) < 1000


def test_many_problems_are_counted_not_all_printed(capsys, write_scenario):
    err = refused(capsys, write_scenario, BASE + "".join(f"k{i}: 1\n" for i in range(3000)), "k0: unknown key")
    assert "and 2970 more problems" in err and len(err.splitlines()) <= 32


def test_explicit_tags_and_merge_keys_are_refused(capsys, write_scenario):
    refused(capsys, write_scenario, BASE + "params: {C_m: !!float '1e2'}\n", "params.C_m: the explicit tag")
    refused(capsys, write_scenario, BASE + "base: &b {C_m: 100.0}\nparams:\n  <<: *b\n", "params.<<: a merge key")


def test_a_catalogue_file_keeps_its_content_hash():
    scenario = load_scenario(REPO / "scenarios" / "mixed_inputs.yaml")
    from harness.scenario.schema import content_hash
    assert scenario.content_hash == content_hash(yaml.safe_load((REPO / "scenarios" / "mixed_inputs.yaml").read_text()))
