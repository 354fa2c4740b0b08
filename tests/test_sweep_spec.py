"""Sweep files and their variants (harness.sweep.spec, .expand, .transforms): no NEST, no Dask."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness.errors import ScenarioError
from harness.scenario.schema import load_scenario
from harness.sweep.expand import draw, expand, variant_yaml
from harness.sweep.spec import load_sweep

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

TWO_NMDA = {  # a base with two NMDA inputs (the second a Poisson train), one AMPA and a current
    "name": "two_nmda", "duration": 50.0,
    "inputs": [
        {"device": "spike_generator", "receptor": "NMDA", "weight": 0.5, "spike_times": [10.0]},
        {"device": "spike_generator", "receptor": "AMPA", "spike_times": [5.0]},
        {"device": "poisson_spikes", "receptor": 3, "weight": 1.5, "rate": 40.0, "seed": 5},
        {"device": "dc_generator", "amplitude": 100.0, "weight": 2.0},
    ],
}


def write(tmp_path, document, name="s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False) if isinstance(document, dict) else document)
    return path


def sweep_of(tmp_path, **keys):
    return load_sweep(write(tmp_path, {"base": dict(TWO_NMDA), **keys}))


def problems_of(tmp_path, document) -> dict:
    with pytest.raises(ScenarioError) as caught:
        load_sweep(write(tmp_path, document))
    return dict(caught.value.problems)


# ------------------------------------------------------------------------------------------------ ids

def test_ids_are_stable_and_independent_of_key_order(tmp_path):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios/ampa_only.yaml").write_text((SCENARIOS / "ampa_only.yaml").read_text())
    first = write(tmp_path, "base: scenarios/ampa_only.yaml\ngrid:\n  resolution: [0.1, 0.05]\n"
                            "  params.gsl_error_tol: [1e-3, 1e-6]\n", "a.yaml")
    second = write(tmp_path, "grid:\n  params.gsl_error_tol: [1.0e-3, 0.000001]\n  resolution: [0.1, 0.05]\n"
                             "base: scenarios/ampa_only.yaml\n", "b.yaml")
    a, b = expand(load_sweep(first)), expand(load_sweep(second))
    assert sorted(v.id for v in a) == sorted(v.id for v in b)
    assert [v.id for v in a] == [v.id for v in expand(load_sweep(first))]
    assert all(len(v.id) == 12 and int(v.id, 16) >= 0 for v in a)
    # sha256 of canonical JSON: the same on every machine and Python; pinned so that a change is noticed
    by_label = {v.label: v.id for v in a}
    assert by_label["resolution=0.1,gsl_error_tol=0.001"] == PINNED_ID
    assert len(set(by_label.values())) == 4  # distinct documents, distinct ids


PINNED_ID = "c0964b9c789c"


def test_the_same_experiment_twice_is_one_variant(tmp_path):
    sweep = sweep_of(tmp_path, grid={"params.gsl_error_tol": ["1e-3", 0.001, 1e-4]})
    variants = expand(sweep)
    assert [v.changes["params.gsl_error_tol"] for v in variants] == [0.001, 1e-4]  # the first is kept


# ------------------------------------------------------------------------------------------ counts

def test_grid_zip_random_and_bases_multiply(tmp_path):
    base2 = dict(TWO_NMDA, name="other", duration=60.0)
    sweep = load_sweep(write(tmp_path, {
        "base": [dict(TWO_NMDA), base2],
        "grid": {"resolution": [0.1, 0.05], "params.gsl_error_tol": [1e-3, 1e-4, 1e-5]},
        "zip": [{"params.C_m": [300.0, 400.0], "params.g_L": [20.0, 30.0]}],
        "random": {"n": 3, "seed": 1, "ranges": {"params.E_L": {"low": -75.0, "high": -65.0}}}}))
    variants = expand(sweep)
    assert len(variants) == 2 * 2 * 3 * 2 * 3
    assert sweep.axes == ("resolution", "params.gsl_error_tol", "params.C_m", "params.g_L", "params.E_L")
    assert [v.base for v in variants[:36]] == ["two_nmda"] * 36
    first = variants[0]
    assert list(first.changes) == list(sweep.axes)
    assert (first.changes["params.C_m"], first.changes["params.g_L"]) == (300.0, 20.0)  # zipped, not crossed
    assert {(v.changes["params.C_m"], v.changes["params.g_L"]) for v in variants} == {(300.0, 20.0), (400.0, 30.0)}
    assert first.scenario.params["C_m"] == 300.0 and first.scenario.resolution == 0.1
    assert first.label.startswith("resolution=0.1,gsl_error_tol=0.001,C_m=300.0,g_L=20.0,E_L=-")


def test_random_draws_are_reproducible_by_seed(tmp_path):
    ranges = {"params.E_L": {"low": -75.0, "high": -65.0}, "params.gsl_error_tol": {"low": 1e-6, "high": 1e-2,
              "log": True}, "inputs[0].weight": {"choice": [10.0, 20.0, 40.0]},
              "inputs[2].seed": {"low": 1, "high": 3, "integer": True}}
    one = draw(sweep_of(tmp_path, random={"n": 50, "seed": 1, "ranges": ranges}))
    assert one == draw(sweep_of(tmp_path, random={"n": 50, "seed": 1, "ranges": ranges}))
    assert one != draw(sweep_of(tmp_path, random={"n": 50, "seed": 2, "ranges": ranges}))
    e_l = np.array([d["params.E_L"] for d in one])
    tol = np.array([d["params.gsl_error_tol"] for d in one])
    assert e_l.min() >= -75 and e_l.max() < -65 and tol.min() >= 1e-6 and tol.max() < 1e-2
    assert np.log10(tol).min() < -5 and np.log10(tol).max() > -3  # log-uniform: spread over the decades
    assert {d["inputs[0].weight"] for d in one} == {10.0, 20.0, 40.0}
    assert {d["inputs[2].seed"] for d in one} == {1, 2, 3} and all(type(d["inputs[2].seed"]) is int for d in one)
    wider = draw(sweep_of(tmp_path, random={"n": 50, "seed": 1, "ranges": {**ranges, "params.C_m": {
        "low": 100.0, "high": 200.0}}}))
    assert [{k: d[k] for k in ranges} for d in wider] == one  # an axis added at the end leaves the others
    assert draw(sweep_of(tmp_path, random={"n": 80, "seed": 1, "ranges": ranges}))[:50] == one  # n extends


# ------------------------------------------------------------------------------- wildcards, transforms

def test_wildcards(tmp_path):
    variants = expand(sweep_of(tmp_path, grid={"inputs[*].weight": [3.0]}))
    weights = [e.get("weight") for e in variants[0].document["inputs"]]
    assert weights == [3.0, None, 3.0, 3.0]  # the entries that give a weight, not the one left at its default
    net = load_sweep(write(tmp_path, {"base": str(SCENARIOS / "net_nmda_pair.yaml"),
                                      "grid": {"populations.*.params.gsl_error_tol": [1e-7]}}))
    (v,) = expand(net)
    assert v.valid and all(v.document["populations"][p]["params"] == {"gsl_error_tol": 1e-7} for p in ("D", "R"))
    assert v.scenario.network.params["gsl_error_tol"].tolist() == [1e-7, 1e-7]


def test_weight_scale_scales_every_synaptic_weight(tmp_path):
    (v,) = expand(sweep_of(tmp_path, grid={"weight_scale": [2.0]}))
    assert v.document["inputs"] == [
        {"device": "spike_generator", "receptor": "NMDA", "weight": 1.0, "spike_times": [10.0]},
        {"device": "spike_generator", "receptor": "AMPA", "spike_times": [5.0], "weight": 2.0},  # default 1.0
        {"device": "poisson_spikes", "receptor": 3, "weight": 3.0, "rate": 40.0, "seed": 5},
        {"device": "dc_generator", "amplitude": 100.0, "weight": 2.0},  # a current's factor: left alone
    ]
    net = load_sweep(write(tmp_path, {"base": str(SCENARIOS / "net_nmda_pair.yaml"), "grid": {"weight_scale": [0.5]}}))
    (n,) = expand(net)
    assert [c["weight"] for c in n.document["connections"]] == [4.5, 2.175]
    assert [i.get("weight") for i in n.document["inputs"]] == [None, None, 1.25]
    assert n.valid and n.scenario.network.connections.weight.tolist() == [4.5, 2.175]


def test_nmda_ports_cycles_the_nmda_inputs(tmp_path):
    by_k = {v.changes["nmda_ports"]: v for v in expand(sweep_of(tmp_path, grid={"nmda_ports": [1, 2, 5]}))}
    nmda0, ampa, poisson, dc = TWO_NMDA["inputs"]
    assert by_k[1].document["inputs"] == [nmda0, ampa, dc]
    assert by_k[2].document["inputs"] == TWO_NMDA["inputs"]
    assert by_k[5].document["inputs"] == [nmda0, ampa, poisson, dc, nmda0, dict(poisson, seed=6), nmda0]
    assert len(by_k[5].scenario.nmda_inputs) == 5
    trains = [i.spike_steps.tolist() for i in by_k[5].scenario.nmda_inputs]
    assert trains[1] != trains[3]  # the copy of a Poisson input is another train


def test_nmda_ports_makes_a_network_or_a_base_without_nmda_invalid(tmp_path):
    sweep = load_sweep(write(tmp_path, {"base": [str(SCENARIOS / "ampa_only.yaml"),
                                                 str(SCENARIOS / "net_nmda_pair.yaml"), dict(TWO_NMDA)],
                                        "grid": {"nmda_ports": [4]}}))
    ampa, net, good = expand(sweep)
    assert not ampa.valid and ampa.problems[0][0] == "nmda_ports" and "no NMDA spike input" in ampa.problems[0][1]
    assert not net.valid and "the base is a network" in net.problems[0][1]
    assert good.valid and ampa.id != net.id


def test_transforms_come_before_key_paths(tmp_path):
    (v,) = expand(sweep_of(tmp_path, grid={"weight_scale": [2.0], "inputs[0].weight": [7.0], "nmda_ports": [3]}))
    assert [e.get("weight") for e in v.document["inputs"]] == [7.0, 2.0, 3.0, 2.0, 1.0]


# ------------------------------------------------------------------------------------- file problems

def test_every_file_problem_at_once(tmp_path):
    found = problems_of(tmp_path, {
        "name": "bad name", "bse": 1, "base": [dict(TWO_NMDA), "no/such/file.yaml", dict(TWO_NMDA)],
        "grid": {"resolution": [], "parms.C_m": [1.0], "params.C_mm": [1.0], "inputs[7].weight": [1.0],
                 "weight_scale": ["x"], "nmda_ports": [1.5], "inputs[*": [1]},
        "zip": [{"params.t_ref": [1.0, 2.0], "params.g_L": [1.0]}, {"nmda_ports": [2]}],
        "random": {"n": 0, "ranges": {"params.E_L": {"low": 1.0, "high": 0.0}, "params.V_th": {"low": -1.0,
                   "high": 1.0, "log": True}, "params.V_reset": {"choice": []}, "params.alpha": {"lo": 1}}},
        "candidates": ["python", "pyhton", "python"], "profile": "exactly", "truth": "sometimes",
        "batch_size": 0, "timeout": -1})
    expected = {
        "bse": "unknown key 'bse' (did you mean 'base'?)",
        "name": "'bad name' cannot name a results folder",
        "base[1]": "'no/such/file.yaml': no such file",
        "base[2]": "the base 'two_nmda' is also base[0]",
        "grid.resolution": "expected a non-empty list of values, got an empty list",
        "grid.parms.C_m": "unknown axis 'parms.C_m' (did you mean 'params'?)",
        "grid.params.C_mm": "unknown field 'C_mm' of params (did you mean 'C_m'?)",
        "grid.inputs[7].weight": "no base has this key path (two_nmda: inputs has 4 entries, so it has no entry [7]",
        "grid.weight_scale[0]": "'x'; allowed: a finite number",
        "grid.nmda_ports[0]": "1.5; allowed: an integer from 0 to 1000",
        "grid.inputs[*": "'inputs[*' is not a key",
        "zip[0]": "lists of unequal length (params.t_ref: 2, params.g_L: 1)",
        "zip[1].nmda_ports": "the axis 'nmda_ports' is also varied in grid.nmda_ports",
        "random.n": "0; allowed: an integer from 1 to 100000",
        "random.seed": "missing; allowed: an integer from 0",
        "random.ranges.params.E_L": "low 1.0 is not below high 0.0",
        "random.ranges.params.V_th.low": "-1.0 with log: true; allowed: low > 0",
        "random.ranges.params.V_reset.choice": "expected a non-empty list of values",
        "random.ranges.params.alpha.lo": "unknown key 'lo' (did you mean 'low'?)",
        "random.ranges.params.alpha.low": "missing",
        "random.ranges.params.alpha.high": "missing",
        "candidates[1]": "unknown candidate 'pyhton' (did you mean 'python'?); allowed: python, python-jax,",
        "candidates": "a candidate is listed twice",
        "profile": "unknown tolerance profile 'exactly' (did you mean 'exact'?)",
        "truth": "'sometimes'; allowed: none, live, stored",
        "batch_size": "0; allowed: an integer from 1 to 10000",
        "timeout": "-1.0 s; allowed: seconds per task, above 0",
    }
    for key, start in expected.items():
        assert key in found, (key, found)
        assert start in found[key], (key, found[key])
    assert set(found) == set(expected)


def test_problems_of_the_bases_and_of_the_choices(tmp_path):
    broken = dict(TWO_NMDA, duration=-1.0)
    found = problems_of(tmp_path, {"base": broken, "profile": "as-accurate-as-nest",
                                   "random": {"n": 2, "seed": 1, "ranges": {"nmda_ports": {"low": 1, "high": 4}}}})
    assert found["base.duration"].startswith("-1.0 ms is not positive")
    assert "needs integer: true" in found["random.ranges.nmda_ports"]
    assert found["truth"].startswith("none with profile as-accurate-as-nest")
    assert problems_of(tmp_path, {"grid": {"resolution": [0.1]}}) == {
        "base": "missing; allowed: a scenario file's path, an inline scenario mapping, or a list of either"}


def test_a_key_path_only_some_bases_lack_makes_their_variants_invalid(tmp_path):
    sweep = load_sweep(write(tmp_path, {"base": [dict(TWO_NMDA), str(SCENARIOS / "nmda_one_port.yaml")],
                                        "grid": {"inputs[3].weight": [0.5, 1.0]}}))
    variants = expand(sweep)
    assert [v.valid for v in variants] == [True, True, False, False]
    assert variants[2].problems == (("inputs[3].weight", "inputs has 2 entries, so it has no entry [3]; "
                                                         "allowed: [0] to [1]"),)
    assert variants[2].id != variants[3].id  # what could not be applied keeps them apart


def test_a_variant_the_schema_refuses_is_invalid_with_its_key_path(tmp_path):
    sweep = load_sweep(write(tmp_path, {"base": str(SCENARIOS / "ampa_only.yaml"),
                                        "grid": {"resolution": [0.1, 0.3], "params.C_m": [-1.0, 250.0]}}))
    variants = {v.label: v for v in expand(sweep)}
    assert variants["resolution=0.1,C_m=250.0"].valid
    bad_grid = variants["resolution=0.3,C_m=250.0"]
    assert bad_grid.scenario is None and bad_grid.problems
    assert all("0.3 ms grid" in message or "multiple of the resolution" in message for _, message in bad_grid.problems)
    assert any(key.startswith("inputs[0].spike_times[") for key, _ in bad_grid.problems)
    bad_param = dict(variants["resolution=0.1,C_m=-1.0"].problems)
    assert bad_param["params.C_m"].startswith("-1.0")


# ---------------------------------------------------------------------------------- files out and in

def test_variant_yaml_loads_as_the_variants_scenario(tmp_path):
    sweep = load_sweep(write(tmp_path, {"base": [str(SCENARIOS / "mixed_inputs.yaml"),
                                                 str(SCENARIOS / "net_nmda_pair.yaml")],
                                        "grid": {"weight_scale": [0.5, 2.0], "resolution": [0.1, 0.05]},
                                        "random": {"n": 2, "seed": 3, "ranges": {
                                            "tolerances.V_m.abs": {"low": 1e-9, "high": 1e-6, "log": True}}}}))
    variants = expand(sweep)
    assert len(variants) == 16 and all(v.valid for v in variants)
    for v in variants[::5]:
        path = tmp_path / f"{v.id}.yaml"
        path.write_text(variant_yaml(v))
        loaded = load_scenario(path)
        assert loaded.name == v.document["name"] == f"{v.base}-{v.id}"
        assert _same(dataclasses.replace(loaded, path=v.scenario.path), v.scenario)
        assert loaded.content_hash == v.scenario.content_hash


def _same(a, b) -> bool:
    if dataclasses.is_dataclass(a):
        return type(a) is type(b) and all(_same(getattr(a, f.name), getattr(b, f.name))
                                          for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("path", sorted((ROOT / "sweeps" / "examples").glob("*.yaml")), ids=lambda p: p.stem)
def test_example_sweeps_load_and_expand(path):
    sweep = load_sweep(path)
    variants = expand(sweep)
    assert variants and all(v.valid for v in variants), [v.problems for v in variants if not v.valid][:3]
    assert sweep.content_hash.startswith("sha256:")
