"""Stored references: exact round trip, agreement with live NEST, never overwritten without --force."""
import os

import numpy as np
import pytest
from conftest import CATALOGUE, REFERENCE_DIR

from harness.cli import main
from harness.scenario.schema import load_scenario
from harness.traces.references import load_reference
from harness.traces.traces import Traces, _atomic_write


@pytest.mark.nest
@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: p.stem)
def test_stored_reference_equals_live_nest_bit_for_bit(path, live_nest):
    scenario = load_scenario(path)
    stored = load_reference(scenario, REFERENCE_DIR)
    assert stored.provenance["scenario_hash"] == scenario.content_hash, "reference is stale: re-record it"
    assert stored.provenance["nest_version"] == "3.10.0"
    assert live_nest(path).equals_exactly(stored)


def test_reference_round_trips_bit_for_bit(tmp_path):
    stored = Traces.load(REFERENCE_DIR / "mixed_inputs")
    stored.save(tmp_path / "copy")
    again = Traces.load(tmp_path / "copy")
    assert again.equals_exactly(stored)
    for name, values in stored.variables.items():
        assert values.dtype == np.float64 and again[name].tobytes() == values.tobytes()
    assert again.provenance == stored.provenance


def test_equals_exactly_sees_one_ulp():
    stored = Traces.load(REFERENCE_DIR / "mixed_inputs")
    changed = Traces.load(REFERENCE_DIR / "mixed_inputs")
    changed.variables["I_NMDA"][1234] = np.nextafter(changed.variables["I_NMDA"][1234], np.inf)
    assert not changed.equals_exactly(stored)


def test_provenance_is_recorded():
    p = Traces.load(REFERENCE_DIR / "stiff_dt1").provenance
    for key in ("scenario_hash", "nest_version", "gsl_version", "platform", "harness_version", "date"):
        assert p.get(key), key
    assert p["gsl_version"] == "1.15"  # the GSL bundled in the nest-simulator 3.10.0 wheel


def _record(path, directory, *extra):
    return main(["record", str(path), "--dir", str(directory), *extra])


@pytest.mark.nest
def test_record_writes_then_leaves_identical_alone_then_refuses_differing(write_scenario, tmp_path, capsys):
    refs = tmp_path / "refs"
    path = write_scenario("name: probe\nduration: 20.0\ninputs:\n  - device: dc_generator\n    amplitude: 100.0\n")
    assert _record(path, refs) == 0
    npz = refs / "probe.npz"
    first = npz.read_bytes()
    stat = npz.stat()

    assert _record(path, refs) == 0  # identical: not rewritten
    assert npz.read_bytes() == first and npz.stat().st_mtime_ns == stat.st_mtime_ns
    assert "unchanged" in capsys.readouterr().out

    path.write_text("name: probe\nduration: 20.0\ninputs:\n  - device: dc_generator\n    amplitude: 200.0\n")
    assert _record(path, refs) == 1
    captured = capsys.readouterr()
    assert "refused" in captured.out and "--force" in captured.err
    assert npz.read_bytes() == first

    assert _record(path, refs, "--force") == 0
    assert npz.read_bytes() != first
    assert Traces.load(refs / "probe")["V_m"].max() > Traces.load(refs / "probe")["V_m"][0]
    assert not [p for p in refs.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "ref.npz"
    target.write_bytes(b"old")

    def broken(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        _atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["ref.npz"]
