"""Stored references: exact round trip, agreement with live NEST, never overwritten without --force."""
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import CATALOGUE, REFERENCE_DIR, catalogue_params, only_in_make_test

from harness.cli import main
from harness.scenario.schema import load_scenario
from harness.traces.references import load_reference
from harness.traces.traces import Traces, _atomic_write


@pytest.mark.nest
@pytest.mark.parametrize("path", catalogue_params(CATALOGUE, only_in_make_test))
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


# ------------------------------------------------------------------ one checked unit (issue 15, step 9)
# A reference is one .npz holding arrays, provenance and a SHA-256 of both; the readable .json is checked
# against it, never trusted. Each way to break one is refused with the repair command; record repairs it.
import errno  # noqa: E402
import json  # noqa: E402
import zipfile  # noqa: E402

from conftest import SCENARIO_DIR  # noqa: E402

from harness.errors import UsageError  # noqa: E402
from harness.traces import references as refs_module  # noqa: E402
from harness.traces import traces as traces_module  # noqa: E402
from harness.traces.references import RECORDED_BY, record_reference, reference_path  # noqa: E402
from harness.traces.traces import TraceFileError, data_path, readable_path  # noqa: E402

SMALL = "port_brainpy_short_mixed"  # a small reference (5 kB, 30 samples, 1 spike): cheap to break many ways
SMALL_YAML = SCENARIO_DIR / "ports" / "brainpy" / f"{SMALL}.yaml"


@pytest.fixture
def copied(tmp_path):
    """A copy of the small reference in tmp_path/refs: (folder, scenario, npz, the original traces)."""
    folder = tmp_path / "refs"
    original = Traces.load(REFERENCE_DIR / SMALL)
    original.save(folder / SMALL)
    return folder, load_scenario(SMALL_YAML), folder / f"{SMALL}.npz", original


def _members(npz):
    with np.load(npz, allow_pickle=False) as z:
        return {k: z[k].copy() for k in z.files}


def _rewrite(npz, change):
    """Rewrite the .npz with np.savez after ``change``: a valid zip with right CRCs, old checksum kept."""
    arrays = _members(npz)
    change(arrays)
    with open(npz, "wb") as f:
        np.savez(f, **arrays)


def _edit_meta(arrays, edit):
    meta = json.loads(arrays["meta_json"].tobytes().decode())
    edit(meta)
    arrays["meta_json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


def _compare_stored(folder, capsys):
    code = main(["compare", str(SMALL_YAML), "--reference", "stored", "--candidate", "stored",
                 "--references", str(folder)])
    return code, capsys.readouterr()


def _assert_one_line_repair_error(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert f"nest-parity record {SMALL_YAML} --force" in lines[0], err


def test_untouched_copy_loads_and_compares(copied, capsys):
    """The negative control of every tampering test below: the same copy, not broken, passes."""
    folder, scenario, npz, original = copied
    assert refs_module.load_reference(scenario, folder).equals_exactly(original)
    code, out = _compare_stored(folder, capsys)
    assert code == 0, out.err


def test_every_catalogue_reference_is_format_2_and_its_json_matches():
    for npz in sorted(REFERENCE_DIR.glob("*.npz")):
        traces = Traces.load(npz)  # checksum and readable copy checked
        meta = json.loads(readable_path(npz).read_text())
        assert meta["format"] == traces_module.FORMAT and meta["sha256"] == traces.meta()["sha256"], npz
        assert traces.provenance["recorded_by"] == RECORDED_BY
    assert not [p for p in REFERENCE_DIR.iterdir() if p.name.startswith(".")], "temporary files committed"


@pytest.mark.parametrize("tamper, fragment", [
    (lambda a: a["var/V_m"].__setitem__(3, a["var/V_m"][3] + 1e-9), "failed its checksum"),
    (lambda a: a["spike_steps"].__setitem__(slice(None), a["spike_steps"] + 1) if len(a["spike_steps"])
     else a.__setitem__("spike_steps", np.array([5], dtype=np.int64)), "failed its checksum"),
    (lambda a: _edit_meta(a, lambda m: m["provenance"].__setitem__("scenario_hash", "sha256:" + "0" * 64)),
     "failed its checksum"),
    (lambda a: _edit_meta(a, lambda m: m["provenance"].__setitem__("nest_version", "3.9.0")), "failed its checksum"),
    (lambda a: a.pop("var/V_m"), "holds members"),
    (lambda a: a.__setitem__("extra", np.zeros(3)), "holds members"),
    (lambda a: a.__setitem__("steps", a["steps"].astype(np.float64)), "expected 1-D <i8"),
    (lambda a: _edit_meta(a, lambda m: m.pop("format")), "format 1"),
    (lambda a: a.__setitem__("meta_json", np.frombuffer(b"{not json", dtype=np.uint8)), "not JSON"),
], ids=["data", "spikes", "hash-in-npz", "nest-version-in-npz", "member-removed", "member-added", "dtype",
        "old-format", "meta-not-json"])
def test_tampered_data_is_an_error_with_the_repair_command(copied, capsys, tamper, fragment):
    folder, scenario, npz, _ = copied
    _rewrite(npz, tamper)
    with pytest.raises(UsageError, match=fragment):
        refs_module.load_reference(scenario, folder)
    code, out = _compare_stored(folder, capsys)
    assert code == 2
    _assert_one_line_repair_error(out.err)


@pytest.mark.parametrize("key, value", [("scenario_hash", "sha256:" + "0" * 64), ("nest_version", "3.9.0"),
                                        ("gsl_version", "2.7")])
def test_edited_json_is_reported_even_though_only_the_npz_is_read(copied, capsys, key, value):
    folder, scenario, npz, _ = copied
    side = readable_path(npz)
    meta = json.loads(side.read_text())
    meta["provenance"][key] = value
    side.write_text(json.dumps(meta, indent=2))
    code, out = _compare_stored(folder, capsys)
    assert code == 2
    _assert_one_line_repair_error(out.err)
    assert f"provenance.{key}" in out.err and "the .npz is what is read" in out.err


def test_json_that_is_not_json_and_reformatted_json(copied, capsys):
    folder, scenario, npz, _ = copied
    side = readable_path(npz)
    side.write_text(json.dumps(json.loads(side.read_text())))  # same content, other layout: still a copy
    assert refs_module.load_reference(scenario, folder)
    side.write_text("{\n")
    code, out = _compare_stored(folder, capsys)
    assert code == 2 and "is not valid JSON" in out.err


def test_a_missing_json_is_not_an_error_the_npz_carries_everything(copied):
    folder, scenario, npz, original = copied
    readable_path(npz).unlink()
    assert refs_module.load_reference(scenario, folder).equals_exactly(original)


def test_versions_must_be_recorded(copied):
    folder, scenario, npz, original = copied
    original.provenance = {k: v for k, v in original.provenance.items() if k != "gsl_version"}
    original.save(npz)  # a valid, checksummed file: only the provenance check can refuse it
    with pytest.raises(UsageError, match="does not record gsl_version"):
        refs_module.load_reference(scenario, folder)


@pytest.mark.parametrize("keep", [0, 1, 22, 100, 0.5, -22, -1])
def test_truncated_reference_is_an_error(copied, capsys, keep):
    folder, scenario, npz, _ = copied
    data = npz.read_bytes()
    npz.write_bytes(data[:keep if isinstance(keep, int) and keep >= 0 else
                         (int(len(data) * keep) if keep < 1 and keep > 0 else len(data) + keep)])
    with pytest.raises(UsageError, match="corrupt|not a nest-parity trace file"):
        refs_module.load_reference(scenario, folder)
    code, out = _compare_stored(folder, capsys)
    assert code == 2
    _assert_one_line_repair_error(out.err)


def test_bit_flips_anywhere_are_refused_or_harmless(copied):
    """A flipped bit at 200 places across the file: refused, or (in bytes no reader uses, such as a zip
    timestamp) the very same data. Never another exception, never different data."""
    folder, scenario, npz, original = copied
    data = npz.read_bytes()
    refused = 0
    for position in np.linspace(0, len(data) - 1, 200).astype(int):
        flipped = bytearray(data)
        flipped[position] ^= 1 << (position % 8)
        npz.write_bytes(bytes(flipped))
        try:
            loaded = Traces.load(npz)
        except TraceFileError:
            refused += 1
            continue
        assert loaded.equals_exactly(original) and loaded.provenance == original.provenance, position
    assert refused > 150, refused  # nearly every byte matters; the harmless ones are zip bookkeeping


def test_bit_flip_in_the_data_is_a_crc_error_not_a_traceback(copied, capsys):
    folder, scenario, npz, _ = copied
    data = bytearray(npz.read_bytes())
    at = data.index(b"var/V_m.npy") + 200  # inside V_m's values
    data[at] ^= 0x10
    npz.write_bytes(bytes(data))
    code, out = _compare_stored(folder, capsys)
    assert code == 2 and "CRC" in out.err
    _assert_one_line_repair_error(out.err)


def test_a_header_claiming_a_huge_array_is_refused_before_allocating(copied):
    folder, scenario, npz, _ = copied
    arrays = _members(npz)
    with zipfile.ZipFile(npz, "w") as z:
        for name, values in arrays.items():
            with z.open(f"{name}.npy", "w") as f:
                if name == "steps":
                    np.lib.format.write_array_header_1_0(f, {"descr": "<i8", "fortran_order": False,
                                                             "shape": (10**12,)})
                    f.write(values.tobytes())
                else:
                    np.lib.format.write_array(f, values)
    with pytest.raises(UsageError, match="header claims 1000000000000 values"):
        refs_module.load_reference(scenario, folder)


def test_name_mapping_uses_the_full_name():
    d = Path("refs")
    assert reference_path("ampa_only.v2", d) == d / "ampa_only.v2.npz" != reference_path("ampa_only", d)
    assert reference_path("x.a", d) != reference_path("x.b", d)
    assert data_path("out/t.v2") == Path("out/t.v2.npz") and readable_path("out/t.v2") == Path("out/t.v2.json")
    assert data_path("out/t.npz") == Path("out/t.npz")
    for bad in ("", ".", "..", "a/b", "a\nb"):
        with pytest.raises(UsageError):
            reference_path(bad, d)


def test_dotted_names_get_their_own_files(tmp_path):
    base = Traces.load(REFERENCE_DIR / SMALL)
    for name in ("x.a", "x.b", "x"):
        base.scenario = name
        base.save(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.a.json", "x.a.npz", "x.b.json", "x.b.npz",
                                                          "x.json", "x.npz"]
    assert Traces.load(tmp_path / "x.a").scenario == "x.a" and Traces.load(tmp_path / "x").scenario == "x"


# ------------------------------------------------------------------ record: repair, refuse, leftovers, ENOSPC
def test_record_refuses_a_corrupt_reference_then_force_repairs_it(copied):
    folder, scenario, npz, original = copied
    npz.write_bytes(npz.read_bytes()[:1000])
    outcome = record_reference(scenario, Traces.load(REFERENCE_DIR / SMALL), force=False, directory=folder)
    assert outcome.status == "refused" and "cannot be trusted" in outcome.detail
    assert len(npz.read_bytes()) == 1000  # left as it was
    outcome = record_reference(scenario, Traces.load(REFERENCE_DIR / SMALL), force=True, directory=folder)
    assert outcome.status == "written" and outcome.detail.startswith("replaced (--force)")
    assert refs_module.load_reference(scenario, folder).equals_exactly(original)


def test_record_repairs_a_stale_json_from_identical_data(copied):
    """A kill (or ENOSPC) between the .npz and .json renames leaves a new .npz beside an old .json."""
    folder, scenario, npz, original = copied
    side = readable_path(npz)
    meta = json.loads(side.read_text())
    meta["provenance"]["scenario_hash"] = "sha256:stale"
    side.write_text(json.dumps(meta))
    with pytest.raises(UsageError):
        refs_module.load_reference(scenario, folder)
    before = npz.stat().st_mtime_ns
    outcome = record_reference(scenario, Traces.load(REFERENCE_DIR / SMALL), force=False, directory=folder)
    assert outcome.status == "repaired" and "out of date" in outcome.detail
    assert npz.stat().st_mtime_ns == before  # the data was not rewritten
    assert refs_module.load_reference(scenario, folder).equals_exactly(original)
    side.unlink()
    assert record_reference(scenario, Traces.load(REFERENCE_DIR / SMALL), force=False,
                            directory=folder).status == "repaired" and side.exists()
    assert record_reference(scenario, Traces.load(REFERENCE_DIR / SMALL), force=False,
                            directory=folder).status == "unchanged"


def test_a_write_killed_between_the_two_renames_is_caught_then_repaired(copied, monkeypatch):
    folder, scenario, npz, original = copied
    changed = Traces.load(REFERENCE_DIR / SMALL)
    changed.variables["V_m"][5] = np.nextafter(changed.variables["V_m"][5], np.inf)
    real = traces_module._atomic_write

    def json_write_fails(path, write):
        if str(path).endswith(".json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, write)

    monkeypatch.setattr(traces_module, "_atomic_write", json_write_fails)
    with pytest.raises(UsageError, match="No space left on device.*nest-parity record .* --force"):
        record_reference(scenario, changed, force=True, directory=folder)
    monkeypatch.setattr(traces_module, "_atomic_write", real)
    with pytest.raises(UsageError, match="does not match the provenance stored"):  # new .npz, old .json
        refs_module.load_reference(scenario, folder)
    assert record_reference(scenario, changed, force=False, directory=folder).status == "repaired"
    assert refs_module.load_reference(scenario, folder).equals_exactly(changed)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_enospc_on_the_data_keeps_the_old_reference(copied, monkeypatch):
    folder, scenario, npz, original = copied
    before = npz.read_bytes()
    changed = Traces.load(REFERENCE_DIR / SMALL)
    changed.variables["V_m"][5] += 1.0

    def full(f):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(traces_module.np, "savez", lambda f, **arrays: full(f))
    with pytest.raises(UsageError, match="cannot write the reference: No space left on device"):
        record_reference(scenario, changed, force=True, directory=folder)
    assert npz.read_bytes() == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "temporary file left behind"


def test_leftover_temporary_files_are_ignored_by_loads_and_removed_by_record(copied):
    folder, scenario, npz, original = copied
    leftovers = [folder / f".{SMALL}.npz.k1ll3d.tmp", folder / f".{SMALL}.json.abc123.tmp"]
    for path in leftovers:
        path.write_bytes(b"PK\x03\x04 half a file")
    assert refs_module.load_reference(scenario, folder).equals_exactly(original)
    outcome = record_reference(scenario, Traces.load(REFERENCE_DIR / SMALL), force=False, directory=folder)
    assert outcome.status == "unchanged" and "removed 2 leftover temporary files" in outcome.detail
    assert not any(p.exists() for p in leftovers)


@pytest.mark.nest
def test_record_cli_repairs_a_bit_flipped_reference_with_force(copied, capsys):
    folder, scenario, npz, original = copied
    data = bytearray(npz.read_bytes())
    data[data.index(b"var/V_m.npy") + 200] ^= 0x10
    npz.write_bytes(bytes(data))
    assert main(["record", str(SMALL_YAML), "--dir", str(folder)]) == 1
    assert "cannot be trusted" in capsys.readouterr().out
    assert main(["record", str(SMALL_YAML), "--dir", str(folder), "--force"]) == 0
    assert "replaced (--force)" in capsys.readouterr().out
    assert refs_module.load_reference(scenario, folder).equals_exactly(original)


def test_a_name_too_long_for_a_file_is_a_usage_error_not_enametoolong(tmp_path):
    with pytest.raises(UsageError, match="too long"):
        reference_path("a" * 300, tmp_path)
    assert reference_path("a" * 100, tmp_path).name == "a" * 100 + ".npz"


def test_record_into_a_read_only_folder_is_one_usage_error(copied, monkeypatch):
    folder, scenario, npz, original = copied
    (folder / f".{SMALL}.npz.k1ll3d.tmp").write_bytes(b"x")
    before = npz.read_bytes()

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(refs_module.Path, "unlink", read_only)
    monkeypatch.setattr(traces_module._atomic_write.__globals__["tempfile"], "mkstemp", read_only)
    npz.write_bytes(b"broken")
    with pytest.raises(UsageError, match="cannot write the reference: Read-only file system"):
        record_reference(scenario, original, force=True, directory=folder)
    assert npz.read_bytes() == b"broken" != before
