"""The Python API (harness.api, imported as nest_parity): scenarios from paths, YAML text and mappings;
runs on named and callable backends; Traces and Comparison as DataFrames, Datasets and figures; Parquet and
NetCDF files that give the traces back bit for bit; ``nest-parity export``'s refusals."""
import functools
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REFERENCE_DIR, REPO, SCENARIO_DIR

import nest_parity
from harness.cli import main
from harness.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from harness.judge.selftest import run_variant
from harness.model.parameters import RECORDABLE_UNITS
from harness.traces.traces import Traces

AMPA = SCENARIO_DIR / "ampa_only.yaml"
NETWORK = SCENARIO_DIR / "net_ampa_pair.yaml"
# Short enough that the exact engine runs it in milliseconds; it spikes, so spikes are exported too.
SHORT = {"name": "api_short", "duration": 30.0,
         "inputs": [{"device": "dc_generator", "amplitude": 900.0},
                    {"device": "spike_generator", "receptor": "NMDA", "weight": 2.0, "spike_times": [5.0, 6.0]}]}


@pytest.fixture(scope="module")
def stored():
    return nest_parity.run(AMPA, "stored", references=REFERENCE_DIR)


@pytest.fixture(scope="module")
def network():
    return nest_parity.run(NETWORK, "stored", references=REFERENCE_DIR)


# ------------------------------------------------------------------------------------------- scenarios
def test_a_path_a_yaml_string_and_a_mapping_load_to_the_same_experiment():
    text = AMPA.read_text()
    from_path = nest_parity.load_scenario(AMPA)
    from_text = nest_parity.load_scenario(text)
    from_mapping = nest_parity.load_scenario(yaml.safe_load(text))
    assert from_path.name == from_text.name == from_mapping.name == "ampa_only"
    assert from_path.content_hash == from_text.content_hash == from_mapping.content_hash
    assert from_path.path == str(AMPA) and from_text.path == "<yaml string>" and from_mapping.path == "<mapping>"
    assert nest_parity.load_scenario(str(AMPA)).content_hash == from_path.content_hash
    assert nest_parity.load_scenario(from_path) is from_path


def test_a_mapping_takes_numpy_values_and_a_name():
    s = nest_parity.load_scenario({"duration": np.float64(10.0), "inputs": [
        {"device": "spike_generator", "receptor": "AMPA", "spike_times": np.array([1.0, 2.0])}]}, name="np")
    assert s.name == "np" and s.n_steps == 100 and s.inputs[0].spike_steps.tolist() == [10, 20]


@pytest.mark.parametrize("source", [
    {"duration": 10.0, "params": {"C_m": -1.0, "V_th": "high"}, "record": ["V_m", "V_x"], "colour": 1},
    "duration: 10.0\nparams: {C_m: -1.0, V_th: high}\nrecord: [V_m, V_x]\ncolour: 1\n",
], ids=["mapping", "yaml"])
def test_every_problem_of_a_mapping_or_a_string_is_listed_at_once(source):
    with pytest.raises(nest_parity.ScenarioError) as caught:
        nest_parity.load_scenario(source)
    keys = [key for key, _ in caught.value.problems]
    assert {"colour", "params.C_m", "params.V_th", "record[1]"} <= set(keys)
    assert "did you mean" in str(caught.value) and "'V_m'" in str(caught.value)  # V_x: the hint names V_m
    assert isinstance(caught.value, nest_parity.UsageError)


def test_a_missing_file_is_a_scenario_error_and_another_type_a_type_error(tmp_path):
    with pytest.raises(nest_parity.ScenarioError, match="cannot read the file"):
        nest_parity.load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(TypeError, match="not int"):
        nest_parity.load_scenario(3)


def test_the_backends_take_a_path_where_a_scenario_is_expected():
    """The issue: run_python(path) raised AttributeError: 'str' object has no attribute 'n_steps'."""
    from harness.backends.python import run_python

    path = SCENARIO_DIR / "rest_no_input.yaml"
    assert run_python(str(path)).equals_exactly(run_python(nest_parity.load_scenario(path)))
    with pytest.raises(TypeError, match="a scenario is a Scenario"):
        run_python(1.5)


# ------------------------------------------------------------------------------------------------ runs
def test_run_on_python_and_stored_and_a_callable():
    python = nest_parity.run(SHORT, "python")
    assert python.scenario == "api_short" and len(python.steps) == 300 and len(python.spike_steps) > 0
    assert python.provenance["backend"] == "python"
    broken = nest_parity.run(SHORT, functools.partial(run_variant, "nmda-unweighted"))
    assert not broken.equals_exactly(python)
    assert nest_parity.run(AMPA, "stored", references=REFERENCE_DIR).provenance["backend"] == "nest"


def test_a_registered_candidate_is_a_backend_and_a_prefix_picks_it_over_a_built_in_name():
    from harness.api import registered_candidate

    engine = nest_parity.run(SHORT, "engine")  # the exact engine through the protocol, in its own process
    assert engine.provenance["backend"] == "candidate:engine"
    assert engine.equals_exactly(nest_parity.run(SHORT, "python"))
    assert registered_candidate("nest") is None and registered_candidate("candidate:nest").name == "nest"
    assert "engine" in nest_parity.candidates()


def test_an_unknown_backend_is_refused_with_a_hint_and_a_callable_must_return_traces():
    with pytest.raises(nest_parity.UsageError, match="did you mean 'python'"):
        nest_parity.run(SHORT, "pyhton")
    with pytest.raises(TypeError, match="returned dict, not Traces"):
        nest_parity.run(SHORT, lambda scenario: {})
    with pytest.raises(nest_parity.UsageError, match="callable backend runs in this process"):
        nest_parity.run(SHORT, lambda scenario: None, timeout=5)


def test_a_stored_reference_from_another_folder_is_refused_with_the_repair(tmp_path):
    with pytest.raises(nest_parity.UsageError, match="no stored reference"):
        nest_parity.run(AMPA, "stored", references=tmp_path)


# ------------------------------------------------------------------------------------------ DataFrames
def test_the_wide_form_has_a_column_per_variable_and_time_in_ms_as_the_index(stored):
    df = stored.to_dataframe()
    assert df.shape == (3000, 7) and list(df.columns) == list(stored.variables)
    assert df.index.name == "time_ms" and df.index[0] == pytest.approx(0.1) and df.index[-1] == pytest.approx(300.0)
    assert np.array_equal(df.index.to_numpy(), stored.times_ms)
    assert df["V_m"].to_numpy().tobytes() == stored.variables["V_m"].tobytes()
    assert df.attrs["units"] == {name: RECORDABLE_UNITS[name] for name in stored.variables}
    assert df.attrs["units"]["s_NMDA"] == "nS" and df.attrs["units"]["I_NMDA"] == "pA"
    assert df.attrs["provenance"]["nest_version"] == stored.provenance["nest_version"]


def test_the_long_form_has_a_row_per_sample_and_variable_with_its_unit(stored):
    df = stored.to_dataframe("long")
    assert list(df.columns) == ["variable", "value", "unit"] and df.shape == (7 * 3000, 3)
    assert df.index.name == "time_ms"
    v_m = df[df["variable"] == "V_m"]
    assert (v_m["unit"] == "mV").all() and v_m["value"].to_numpy().tobytes() == stored.variables["V_m"].tobytes()
    assert dict(zip(df["variable"].astype(str), df["unit"].astype(str))) == RECORDABLE_UNITS
    wide_again = df.pivot_table(index="time_ms", columns="variable", values="value", observed=True)
    assert np.array_equal(wide_again["I_AMPA"].to_numpy(), stored.variables["I_AMPA"])
    with pytest.raises(ValueError, match="allowed: wide, long"):
        stored.to_dataframe("tidy")


def test_a_network_gets_the_neuron_as_a_level_a_column_and_a_dimension(network):
    assert network.neurons == ("D[0]", "R[0]")
    wide = network.to_dataframe()
    assert wide.columns.names == ["variable", "neuron"] and wide.shape == (2000, 3 * 2)
    assert list(wide["V_m"].columns) == ["D[0]", "R[0]"]
    assert np.array_equal(wide[("I_AMPA", "R[0]")].to_numpy(), network.variables["I_AMPA"][:, 1])
    long = network.to_dataframe("long")
    assert list(long.columns) == ["neuron", "variable", "value", "unit"] and len(long) == 3 * 2000 * 2
    one = long[(long["neuron"] == "R[0]") & (long["variable"] == "V_m")]
    assert np.array_equal(one["value"].to_numpy(), network.variables["V_m"][:, 1])
    ds = network.to_xarray()
    assert ds["V_m"].dims == ("time", "neuron") and list(ds["neuron"].values) == ["D[0]", "R[0]"]
    assert list(ds["spike_neuron"].values) == [network.neurons[j] for j in network.spike_neurons]
    spikes = network.spikes_dataframe()
    assert list(spikes.columns) == ["time_ms", "step", "neuron"] and len(spikes) == len(network.spike_steps)


def test_the_dataset_has_units_and_flat_provenance(stored):
    ds = stored.to_xarray()
    assert ds["V_m"].dims == ("time",) and ds.sizes["time"] == 3000 and ds["time"].attrs["units"] == "ms"
    assert {name: ds[name].attrs["units"] for name in stored.variables} == {
        name: RECORDABLE_UNITS[name] for name in stored.variables}
    assert ds["step"].dtype == np.int64 and ds["step"].values[0] == 1
    assert ds.attrs["scenario"] == "ampa_only" and ds.attrs["tics_per_step"] == 100
    assert ds.attrs["nest_version"] == stored.provenance["nest_version"]
    assert json.loads(ds.attrs["platform"]) == stored.provenance["platform"]  # a mapping: JSON text
    assert all(isinstance(v, (str, int, float)) for v in ds.attrs.values())
    assert ds["spike_time"].values.tolist() == stored.spike_times_ms.tolist()


@pytest.mark.parametrize("suffix", [".nc", ".parquet"])
@pytest.mark.parametrize("which", ["single", "network"])
def test_netcdf_and_parquet_give_the_traces_back_bit_for_bit(suffix, which, stored, network, tmp_path):
    traces = stored if which == "single" else network
    path = nest_parity.export(traces, tmp_path / f"t{suffix}")
    back = nest_parity.read_export(path)
    assert back.equals_exactly(traces) and back.provenance == traces.provenance
    assert back.scenario == traces.scenario and back.neurons == traces.neurons


def test_the_files_carry_units_for_readers_that_know_nothing_of_the_harness(network, tmp_path):
    import pyarrow.parquet as pq
    import xarray as xr

    parquet = nest_parity.export(network, tmp_path / "n.parquet")
    table = pq.read_table(parquet)
    assert table.column_names == ["time_ms", "step", "neuron", "variable", "value", "unit"]
    meta = json.loads(table.schema.metadata[b"nest_parity"])
    assert meta["units"] == {"V_m": "mV", "s_AMPA": "nS", "I_AMPA": "pA"} and meta["neurons"] == ["D[0]", "R[0]"]
    assert meta["provenance"]["nest_version"] == network.provenance["nest_version"]
    netcdf = nest_parity.export(network, tmp_path / "n.nc")
    assert netcdf.read_bytes()[:4] == b"CDF\x02"  # NetCDF 3, 64-bit offsets: written without a C library
    with xr.open_dataset(netcdf, engine="scipy") as ds:
        assert ds["I_AMPA"].attrs["units"] == "pA" and ds.attrs["backend"] == "nest"


def test_non_finite_values_signed_zeros_and_odd_provenance_survive_both_formats(tmp_path):
    values = np.array([[1.0, np.nan], [np.inf, -0.0], [5e-324, -np.inf]])
    traces = Traces("odd", 13, np.arange(1, 4), {"V_m": values}, np.zeros(0, np.int64),
                    {"flag": True, "list": [1, 2], "big": 2 ** 40, "none": None, "scenario": "clash"},
                    ("A[0]", "A[1]"), np.zeros(0, np.int64))
    for suffix in (".nc", ".parquet"):
        back = nest_parity.read_export(nest_parity.export(traces, tmp_path / f"odd{suffix}"))
        assert back.equals_exactly(traces) and back.provenance == traces.provenance


def test_plots_are_figures_with_an_axis_per_variable(stored, network):
    from matplotlib.figure import Figure

    figure = stored.plot()
    assert isinstance(figure, Figure) and len(figure.axes) == 7
    assert [ax.get_ylabel() for ax in figure.axes][:2] == ["V_m (mV)", "s_AMPA (nS)"]
    assert len(network.plot(["V_m"], neurons="R[0]").axes) == 1
    with pytest.raises(KeyError, match="not recorded: X"):
        stored.plot("X")


# ----------------------------------------------------------------------------------------- comparisons
def test_a_comparison_table_has_a_row_per_variable_with_units_and_the_ladder():
    c = nest_parity.compare(AMPA, reference="stored", candidate="python", references=REFERENCE_DIR)
    assert c.status == "pass" and c.ladder is not None
    df = c.to_dataframe()
    assert list(df.index) == [*c.variables, "spikes"] and df.index.name == "variable"
    assert df["passed"].all() and (df.loc[list(c.variables), "max_abs"] == 0).all()
    assert df.loc["V_m", "unit"] == "mV" and df.loc["I_NMDA", "unit"] == "pA" and df.loc["spikes", "unit"] == "ms"
    assert df.loc["spikes", "samples_judged"] == 3
    assert df.loc["V_m", "nest_to_truth"] > 0 and df.loc["V_m", "distance_to_nest"] == 0  # the ladder's rungs
    assert df.attrs["pair"] == "stored-vs-python" and df.attrs["profile"] == "exact"
    v_m = c.traces_dataframe("V_m")
    assert list(v_m.columns) == ["stored", "python"] and (v_m["stored"] == v_m["python"]).all()
    ds = c.to_xarray()
    assert ds["max_abs"].dims == ("variable",) and ds.attrs["status"] == "pass"


def test_a_failing_comparison_says_where_in_its_table_and_figure(tmp_path):
    broken = functools.partial(run_variant, "nmda-unweighted")
    c = nest_parity.compare(SCENARIO_DIR / "nmda_negative_weight.yaml", reference="stored", candidate=broken,
                            truth="none", references=REFERENCE_DIR)
    assert c.status == "fail" and c.candidate == "run_variant('nmda-unweighted')"
    df = c.to_dataframe()
    assert not df.loc["I_NMDA", "passed"] and df.loc["I_NMDA", "first_violation_ms"] == pytest.approx(10.2)
    assert df.loc["s_AMPA", "passed"] and np.isnan(df.loc["s_AMPA", "first_violation_ms"])
    assert "distance_to_nest" not in df or df["distance_to_truth"].isna().all()
    figure = c.plot(["V_m", "I_NMDA"])
    assert len(figure.axes) == 4 and "FAIL" in figure.get_suptitle()
    back = nest_parity.read_export(nest_parity.export(c, tmp_path / "c.parquet"))
    pd.testing.assert_frame_equal(back, df)


def test_a_network_comparison_table_is_indexed_by_neuron_and_variable(network):
    c = nest_parity.compare(NETWORK, reference="stored", candidate="python", truth="none",
                            references=REFERENCE_DIR)
    df = c.to_dataframe()
    assert df.index.names == ["neuron", "variable"] and ("R[0]", "I_AMPA") in df.index
    assert df.loc[("D[0]", "V_m"), "unit"] == "mV" and df["passed"].all()
    assert c.traces_dataframe("V_m").columns.names == ["source", "neuron"]


@pytest.mark.nest
def test_the_gate_and_its_table(tmp_path):
    result = nest_parity.gate([SCENARIO_DIR / "rest_no_input.yaml"], workers=1, references=REFERENCE_DIR)
    assert result.status == "pass" and len(result.comparisons) == 3
    table = nest_parity.read_export(nest_parity.export(result, tmp_path / "gate.nc"))
    assert list(table.groupby(["reference", "candidate"], sort=False).size().index) == [
        ("nest", "python"), ("stored", "python"), ("stored", "nest")]
    assert table["passed"].all() and len(table) == 3 * 8


def test_two_callables_of_one_name_are_both_run():
    def python(scenario):
        return nest_parity.run(scenario, "python")

    c = nest_parity.compare(SHORT, reference=python, candidate=functools.partial(run_variant, "nmda-unweighted"),
                            truth="none")
    assert c.reference == "python (reference)" and c.status == "fail"
    same = nest_parity.compare(SHORT, reference=functools.partial(run_variant, "nmda-unweighted"),
                               candidate=functools.partial(run_variant, "nmda-unweighted"), truth="none")
    assert same.candidate == "run_variant('nmda-unweighted') (candidate)" and same.status == "pass"


def test_profiles_are_checked_by_name():
    with pytest.raises(nest_parity.UsageError, match="did you mean 'exact'"):
        nest_parity.compare(SHORT, reference="python", candidate="python", profile="exakt")


def test_the_package_imports_from_another_folder(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", "import nest_parity; print(nest_parity.compare.__module__)"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "harness.api"


# ------------------------------------------------------------------------------------ nest-parity export
def test_export_writes_a_stored_trace_file_and_refuses_to_overwrite_it(tmp_path, capsys, network):
    out = tmp_path / "net.parquet"
    assert main(["export", str(REFERENCE_DIR / "net_ampa_pair.npz"), "--out", str(out)]) == EXIT_OK
    assert nest_parity.read_export(out).equals_exactly(network)
    before = out.read_bytes()
    assert main(["export", str(REFERENCE_DIR / "net_ampa_pair.npz"), "--out", str(out)]) == EXIT_FAIL
    assert "exists; pass --force" in capsys.readouterr().err and out.read_bytes() == before
    assert main(["export", str(REFERENCE_DIR / "net_ampa_pair.npz"), "--out", str(out), "--format", "netcdf",
                 "--force"]) == EXIT_OK
    assert out.read_bytes()[:3] == b"CDF"


def test_export_refuses_a_reference_folder_before_running(capsys, monkeypatch):
    import harness.api

    monkeypatch.setattr(harness.api, "produce_named", lambda *a: pytest.fail("ran before refusing"))
    target = REFERENCE_DIR / "ampa_only.parquet"
    assert main(["export", str(AMPA), "--backend", "python", "--out", str(target)]) == EXIT_USAGE
    assert "reference folder" in capsys.readouterr().err and not target.exists()


@pytest.mark.parametrize("argv, message", [
    (["--out", "x.csv"], "cannot tell the format"),
    (["--out", "{tmp}/x.nc", "--backend", "pyhton"], "did you mean 'python'"),
    (["--out", "{tmp}", "--format", "netcdf"], "is a folder"),
], ids=["suffix", "backend", "folder"])
def test_export_refuses_bad_arguments(argv, message, capsys, tmp_path):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["export", str(AMPA), *argv]) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_export_of_a_trace_file_takes_no_backend(capsys, tmp_path):
    assert main(["export", str(REFERENCE_DIR / "ampa_only.npz"), "--backend", "python",
                 "--out", str(tmp_path / "x.nc")]) == EXIT_USAGE
    assert "applies to a scenario file" in capsys.readouterr().err
    assert main(["export", str(REFERENCE_DIR / "ampa_only.json"), "--out", str(tmp_path / "x.nc")]) == EXIT_USAGE
    assert "readable provenance of a trace file" in capsys.readouterr().err


def test_export_runs_a_scenario_and_writes_a_compare_summary_as_a_table(tmp_path, capsys):
    scenario = tmp_path / "short.yaml"
    scenario.write_text(yaml.safe_dump(SHORT))
    out = tmp_path / "short.nc"
    assert main(["export", str(scenario), "--backend", "python", "--out", str(out)]) == EXIT_OK
    assert nest_parity.read_export(out).equals_exactly(nest_parity.run(SHORT, "python"))
    summary = tmp_path / "c.json"
    assert main(["compare", str(AMPA), "--reference", "stored", "--candidate", "stored", "--truth", "none",
                 "--references", str(REFERENCE_DIR), "--json", str(summary)]) == EXIT_OK
    for suffix in (".parquet", ".nc"):
        assert main(["export", str(summary), "--out", str(tmp_path / f"c{suffix}")]) == EXIT_OK
        table = nest_parity.read_export(tmp_path / f"c{suffix}")
        assert list(table["variable"]) == [*RECORDABLE_UNITS, "spikes"]
        assert (table["scenario"] == "ampa_only").all() and table["passed"].all()
        assert table.attrs["command"] == "compare"
    capsys.readouterr()
