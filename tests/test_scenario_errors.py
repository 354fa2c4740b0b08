"""Every kind of bad input is refused before anything runs, with file, key path, reason and exit code 2."""
import subprocess
import sys

import pytest
from conftest import REPO

from harness.cli import main

BASE = """\
resolution: 0.1
duration: 100.0
"""

SPIKES = BASE + """\
inputs:
  - device: spike_generator
    receptor: AMPA
    weight: 1.0
"""


def validate(capsys, path):
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    return code, err


def assert_refused(capsys, path, *fragments):
    code, err = validate(capsys, path)
    assert code == 2, err
    assert str(path) in err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert "Traceback" not in err


def test_malformed_yaml(capsys, write_scenario):
    path = write_scenario("resolution: 0.1\nduration: [100.0\n")
    assert_refused(capsys, path, "malformed YAML at line")


def test_not_a_mapping(capsys, write_scenario):
    assert_refused(capsys, write_scenario("- just\n- a list\n"), "must hold a mapping")


def test_unknown_key_suggests_closest(capsys, write_scenario):
    path = write_scenario("resoluton: 0.1\nduration: 100.0\n")
    assert_refused(capsys, path, "resoluton: unknown key 'resoluton' (did you mean 'resolution'?)")


def test_unknown_parameter_suggests_closest(capsys, write_scenario):
    path = write_scenario(BASE + "params:\n  tau_AMPAA: 2.0\n")
    assert_refused(capsys, path, "params.tau_AMPAA: unknown parameter", "did you mean 'tau_AMPA'?")


def test_unknown_device_field_suggests_closest(capsys, write_scenario):
    path = write_scenario(SPIKES + "    spike_time: [1.0]\n")
    assert_refused(capsys, path, "inputs[0].spike_time: unknown field of spike_generator",
                   "did you mean 'spike_times'?")


def test_wrong_type(capsys, write_scenario):
    path = write_scenario("resolution: 0.1\nduration: long\n")
    assert_refused(capsys, path, "duration: expected a number, got a string 'long'")


def test_wrong_type_in_list(capsys, write_scenario):
    path = write_scenario(SPIKES + "    spike_times: [1.0, fast]\n")
    assert_refused(capsys, path, "inputs[0].spike_times[1]: expected a number, got a string 'fast'")


def test_exponent_without_dot_is_a_number(capsys, write_scenario):
    # YAML 1.1 reads 1e-8 as text; the harness means the number, as the user does.
    path = write_scenario(BASE + "params:\n  gsl_error_tol: 1e-8\n")
    code, err = validate(capsys, path)
    assert code == 0, err


def test_unknown_receptor(capsys, write_scenario):
    path = write_scenario(BASE + "inputs:\n  - device: spike_generator\n    receptor: AMPB\n"
                                 "    spike_times: [1.0]\n")
    assert_refused(capsys, path, "inputs[0].receptor: unknown receptor 'AMPB' (did you mean 'AMPA'?)",
                   "allowed: AMPA, GABA, NMDA (or 1, 2, 3)")


@pytest.mark.parametrize("receptor", ["0", "4"])
def test_receptor_numbers_outside_nest_range(capsys, write_scenario, receptor):
    path = write_scenario(BASE + f"inputs:\n  - device: spike_generator\n    receptor: {receptor}\n"
                                 "    spike_times: [1.0]\n")
    assert_refused(capsys, path, f"unknown receptor {receptor}")


def test_unknown_device(capsys, write_scenario):
    path = write_scenario(BASE + "inputs:\n  - device: spike_gen\n")
    assert_refused(capsys, path, "inputs[0].device: unknown device 'spike_gen' (did you mean 'spike_generator'?)",
                   "allowed: spike_generator, poisson_spikes, dc_generator, step_current_generator")


def test_unknown_model(capsys, write_scenario):
    assert_refused(capsys, write_scenario(BASE + "model: iaf_bw_2001\n"),
                   "model: unknown model 'iaf_bw_2001'; allowed: iaf_bw_2001_exact")


@pytest.mark.parametrize("params, fragment", [
    ("V_reset: -50.0", "params.V_reset: V_reset = -50.0 mV must be below V_th = -55.0 mV"),
    ("V_reset: -55.0", "params.V_reset: V_reset = -55.0 mV must be below V_th"),
    ("C_m: 0.0", "params.C_m: 0.0 pF; allowed: C_m > 0"),
    ("t_ref: -0.1", "params.t_ref: -0.1 ms; allowed: t_ref >= 0"),
    ("tau_AMPA: 0.0", "params.tau_AMPA: 0.0 ms; allowed: every time constant > 0"),
    ("tau_GABA: -1.0", "params.tau_GABA: -1.0 ms"),
    ("tau_rise_NMDA: 0.0", "params.tau_rise_NMDA: 0.0 ms"),
    ("tau_decay_NMDA: 0.0", "params.tau_decay_NMDA: 0.0 ms"),
    ("alpha: 0.0", "params.alpha: 0.0 1/ms; allowed: alpha > 0"),
    ("conc_Mg2: -1.0", "params.conc_Mg2: -1.0 mM; allowed: conc_Mg2 > 0"),
    ("gsl_error_tol: 0.0", "params.gsl_error_tol: 0.0; allowed: gsl_error_tol > 0"),
    ("g_L: .nan", "params.g_L: nan is not finite"),
    ("E_L: .inf", "params.E_L: inf is not finite"),
    ("t_ref: 2.0004", "params.t_ref: 2.0004 ms is not a whole number of tics"),
])
def test_nest_parameter_rules(capsys, write_scenario, params, fragment):
    assert_refused(capsys, write_scenario(BASE + f"params:\n  {params}\n"), fragment)


@pytest.mark.parametrize("times, fragment", [
    ("[0.0]", "inputs[0].spike_times[0]: 0.0 ms; allowed: times > 0 ms"),
    ("[-1.0]", "inputs[0].spike_times[0]: -1.0 ms; allowed: times > 0 ms"),
    ("[5.0, 4.0]", "inputs[0].spike_times[1]: 4.0 ms comes after 5.0 ms; allowed: non-decreasing times"),
    ("[12.7004]", "inputs[0].spike_times[0]: 12.7004 ms is off the 0.1 ms grid"),
    ("[12.75]", "inputs[0].spike_times[0]: 12.75 ms is off the 0.1 ms grid"),
])
def test_spike_times(capsys, write_scenario, times, fragment):
    assert_refused(capsys, write_scenario(SPIKES + f"    spike_times: {times}\n"), fragment)


def test_equal_spike_times_are_allowed(capsys, write_scenario):
    code, err = validate(capsys, write_scenario(SPIKES + "    spike_times: [5.0, 5.0]\n"))
    assert code == 0, err


def test_delay_shorter_than_resolution(capsys, write_scenario):
    path = write_scenario(SPIKES + "    delay: 0.05\n    spike_times: [1.0]\n")
    assert_refused(capsys, path, "inputs[0].delay: 0.05 ms is shorter than the resolution 0.1 ms")


def test_delay_off_grid(capsys, write_scenario):
    path = write_scenario(SPIKES + "    delay: 2.55\n    spike_times: [1.0]\n")
    assert_refused(capsys, path, "inputs[0].delay: 2.55 ms is not a multiple of the resolution 0.1 ms")


def test_duration_not_multiple_of_resolution(capsys, write_scenario):
    assert_refused(capsys, write_scenario("resolution: 0.1\nduration: 100.05\n"),
                   "duration: 100.05 ms is not a multiple of the resolution 0.1 ms")


def test_duration_missing(capsys, write_scenario):
    assert_refused(capsys, write_scenario("resolution: 0.1\n"), "duration: missing")


def test_resolution_not_whole_tics(capsys, write_scenario):
    assert_refused(capsys, write_scenario("resolution: 0.0125\nduration: 1.0\n"),
                   "resolution: 0.0125 ms is not a whole number of NEST tics")


def test_chunks_must_sum_to_duration(capsys, write_scenario):
    assert_refused(capsys, write_scenario(BASE + "simulate_chunks: [50.0, 40.0]\n"),
                   "simulate_chunks: the chunks sum to 90.0 ms but duration is 100.0 ms")


def test_chunk_off_grid(capsys, write_scenario):
    assert_refused(capsys, write_scenario(BASE + "simulate_chunks: [50.05, 49.95]\n"),
                   "simulate_chunks[0]: 50.05 ms is not a multiple of the resolution")


def test_multiplicities_length(capsys, write_scenario):
    path = write_scenario(SPIKES + "    spike_times: [1.0, 2.0]\n    spike_multiplicities: [1]\n")
    assert_refused(capsys, path, "inputs[0].spike_multiplicities: has 1 entries but spike_times has 2")


@pytest.mark.parametrize("entry, fragment", [
    ("  - device: spike_generator\n    receptor: AMPA\n    spike_times: [1.0]\n    spike_multiplicities: [-1]\n",
     "inputs[0].spike_multiplicities[0]: -1 is negative; allowed: integers >= 0"),
    ("  - device: spike_generator\n    receptor: AMPA\n    spike_times: [1.0]\n    spike_multiplicities: [1.5]\n",
     "inputs[0].spike_multiplicities[0]: expected an integer, got a number 1.5"),
    ("  - device: spike_generator\n    receptor: AMPA\n    weight: .nan\n    spike_times: [1.0]\n",
     "inputs[0].weight: nan is not finite"),
    ("  - device: poisson_spikes\n    receptor: AMPA\n    rate: -5.0\n    seed: 1\n",
     "inputs[0].rate: -5.0 Hz is negative; allowed: rate >= 0"),
    ("  - device: poisson_spikes\n    receptor: AMPA\n    rate: 5.0\n    seed: -1\n",
     "inputs[0].seed: -1 is not an integer >= 0"),
    ("  - device: poisson_spikes\n    receptor: AMPA\n    rate: 5.0\n",
     "inputs[0].seed: missing"),
    ("  - device: dc_generator\n    amplitude: .inf\n", "inputs[0].amplitude: inf is not finite"),
    ("  - device: dc_generator\n    amplitude: 1.0\n    start: -1.0\n",
     "inputs[0].start: -1.0 ms is negative"),
    ("  - device: dc_generator\n    amplitude: 1.0\n    start: 10.0\n    stop: 5.0\n",
     "inputs[0].stop: 5.0 ms is before start = 10.0 ms; allowed: stop >= start"),
    ("  - device: dc_generator\n    amplitude: 1.0\n    start: 10.03\n",
     "inputs[0].start: 10.03 ms is off the 0.1 ms grid"),
    ("  - device: step_current_generator\n    amplitude_times: [5.0, 5.0]\n    amplitude_values: [1.0, 2.0]\n",
     "inputs[0].amplitude_times[1]: 5.0 ms comes after 5.0 ms; allowed: strictly increasing times"),
    ("  - device: step_current_generator\n    amplitude_times: [5.0]\n    amplitude_values: [1.0, 2.0]\n",
     "inputs[0].amplitude_values: has 2 entries but amplitude_times has 1"),
    ("  - device: step_current_generator\n    amplitude_times: [0.0]\n    amplitude_values: [1.0]\n",
     "inputs[0].amplitude_times[0]: 0.0 ms; allowed: times > 0 ms"),
    ("  - device: step_current_generator\n    amplitude_times: [5.05]\n    amplitude_values: [1.0]\n",
     "inputs[0].amplitude_times[0]: 5.05 ms is off the 0.1 ms grid"),
])
def test_device_values(capsys, write_scenario, entry, fragment):
    assert_refused(capsys, write_scenario(BASE + "inputs:\n" + entry), fragment)


def test_every_problem_is_reported_at_once(capsys, write_scenario):
    path = write_scenario("resolution: 0.1\nduration: 100.0\nparams:\n  C_m: -1.0\n  alpha: 0.0\n")
    assert_refused(capsys, path, "params.C_m", "params.alpha")


def test_unknown_recordable(capsys, write_scenario):
    assert_refused(capsys, write_scenario(BASE + "record: [V_m, I_NMDAA]\n"),
                   "record[1]: unknown recordable 'I_NMDAA' (did you mean 'I_NMDA'?)")


def test_missing_file(capsys, tmp_path):
    path = tmp_path / "nope.yaml"
    assert_refused(capsys, path, "cannot read the file")


def test_duplicate_scenario_names(capsys, write_scenario):
    a = write_scenario("name: same\n" + BASE, "a.yaml")
    b = write_scenario("name: same\n" + BASE, "b.yaml")
    code = main(["validate", str(a), str(b)])
    err = capsys.readouterr().err
    assert code == 2 and "'same' is also the name of" in err


def test_no_traceback_from_the_console_entry_point(write_scenario):
    """The real process: exit status 2, the message on stderr, no Python traceback."""
    path = write_scenario("resolution: 0.1\nduration: 100.0\ninputs:\n  - device: spike_generator\n"
                          "    receptor: AMPA\n    delay: 0.05\n    spike_times: [1.0]\n")
    proc = subprocess.run([sys.executable, "-m", "harness", "validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "inputs[0].delay" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_scenario_stops_record_before_anything_is_written(capsys, write_scenario, tmp_path):
    good = write_scenario("name: good\n" + BASE, "good.yaml")
    bad = write_scenario("name: bad\nresolution: 0.1\nduration: 100.05\n", "bad.yaml")
    out = tmp_path / "refs"
    code = main(["record", str(good), str(bad), "--dir", str(out)])
    assert code == 2
    assert "bad.yaml: duration" in capsys.readouterr().err
    assert not out.exists()
