"""The release report's section "Release sweep": the committed summary of sweeps/release.yaml, current or
said to be stale, and a missing one said (never a failure)."""
import json
import shutil

from conftest import REPO

from harness.report.sweep_section import RELEASE_RESULTS, RELEASE_SWEEP, release_sweep_section, sweep_markdown


def test_the_committed_release_sweep_summary_describes_the_sweep_file_as_it_is():
    section = release_sweep_section(REPO / RELEASE_RESULTS, REPO / RELEASE_SWEEP)
    assert section.stale is None, f"{section.stale} (then commit reports/sweeps/release/)"
    assert section.verdict == "PASS"
    rows = dict(section.rows)
    assert rows["variants"].startswith("2160: 2160 pass, 0 fail, 0 error, 0 invalid")
    assert section.pairs == [("nest-vs-python", 2160, 2160, 0, 0, 0, "inf"),
                             ("nest-vs-python-jax", 2160, 2160, 0, 0, 0, "inf")]


def test_a_changed_sweep_file_or_base_makes_the_summary_stale(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(REPO / RELEASE_RESULTS, results, ignore=shutil.ignore_patterns("results", "report"))
    shutil.copytree(REPO / "scenarios", tmp_path / "scenarios", ignore=shutil.ignore_patterns("ports", "regressions"))
    (tmp_path / "sweeps").mkdir()
    copy = tmp_path / RELEASE_SWEEP
    original = (REPO / RELEASE_SWEEP).read_text()
    copy.write_text(original)
    assert release_sweep_section(results, copy).stale is None  # the control: an unchanged copy is current

    copy.write_text(original.replace("nmda_ports: [1, 2, 4, 8]", "nmda_ports: [1, 2, 4]"))
    section = release_sweep_section(results, copy)
    assert section.stale and "changed since this summary was made" in section.stale
    assert any("**Stale:**" in line for line in sweep_markdown(section))

    copy.write_text(original)
    base = tmp_path / "scenarios" / "large_weights.yaml"
    base.write_text(base.read_text().replace("duration: 150.0", "duration: 140.0"))
    assert "changed since" in release_sweep_section(results, copy).stale


def test_no_summary_is_said_and_is_no_failure(tmp_path):
    section = release_sweep_section(tmp_path / "nothing", REPO / RELEASE_SWEEP)
    assert section.rows == [] and "no release sweep summary" in section.note
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "summary.json").write_text("{")
    (tmp_path / "bad" / "sweep.json").write_text(json.dumps({"name": "release"}))
    broken = release_sweep_section(tmp_path / "bad", REPO / RELEASE_SWEEP)
    assert broken.rows == [] and "cannot be read" in broken.note
