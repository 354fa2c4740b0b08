"""Faults from outside: SIGKILL of `record` and `report` at seeded moments, a full disk, a read-only folder.

Every kill is followed by a check of everything on disk, whatever the moment hit: a reference is absent,
the whole old one or the whole new one (its .npz always loads on its own; a .json that disagrees with it is
reported by ``load_reference`` as a UsageError), a report folder is absent or complete, no worker of the
killed parent survives, and the next ordinary command repairs or ignores what the kill left. The moments are
drawn from a seeded generator, so a run is repeatable; each outcome (finished before the kill, or killed) is
checked the same way. The disk faults need root (tmpfs mounts); elsewhere they are skipped with the reason.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.judge.pool import WORKER_MARKER
from harness.report.folder import HTML_FILE, MARKDOWN_FILE, SUMMARY_FILE
from harness.scenario.schema import load_scenario
from harness.traces.atomic import is_temporary
from harness.traces.references import load_reference, reference_path
from harness.traces.traces import Traces

pytestmark = [pytest.mark.nest, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
NAMES = ("rest_no_input", "gaba_only", "ampa_only")
NEW_DURATION = {"rest_no_input": "150.0", "gaba_only": "150.0", "ampa_only": "250.0"}
SEED = 15


def harness(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """Exit 2 with exactly one line on stderr, no traceback."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Each scenario twice under the same name: ``old`` (the catalogue's file) and ``new`` (a shorter
    duration, so both the content hash and the data differ)."""
    root = tmp_path_factory.mktemp("scenarios")
    paths = {"old": [], "new": []}
    for name in NAMES:
        text = (REPO / "scenarios" / f"{name}.yaml").read_text()
        for version, body in (("old", text), ("new", re.sub(r"(?m)^duration: .*$",
                                                               f"duration: {NEW_DURATION[name]}", text))):
            assert version == "old" or body != text
            path = root / version / f"{name}.yaml"
            path.parent.mkdir(exist_ok=True)
            path.write_text(body)
            paths[version].append(path)
    scenarios = {v: {load_scenario(p).name: load_scenario(p) for p in ps} for v, ps in paths.items()}
    assert all(scenarios["old"][n].content_hash != scenarios["new"][n].content_hash for n in NAMES)
    old_refs = root / "old_refs"
    full = timed("record", *map(str, paths["old"]), "--dir", str(old_refs))
    return paths, scenarios, old_refs, full


# ------------------------------------------------------------------------------------------- helpers
def workers_of(pid: int | str) -> list[int]:
    """Live processes (not zombies) that carry ``WORKER_MARKER=<pid>`` in their environment."""
    marker = f"{WORKER_MARKER}={pid}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state not in ("Z", "X"):
                    found.append(int(entry.name))
    return found


def assert_no_worker_survives(pid: int | str, grace: float = 5) -> None:
    # PR_SET_PDEATHSIG kills them as the parent dies; the kernel may take a moment to finish them off.
    deadline = time.monotonic() + grace
    while (left := workers_of(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"workers {left} of the killed parent {pid} are still running"


def kill_after(argv: list[str], delay: float) -> tuple[int, int]:
    """Start ``nest-parity argv``, SIGKILL it (the parent only, as the OOM killer would) after ``delay`` s.
    Returns (pid, return code): -9 when the kill hit, 0..2 when it had finished first."""
    proc = subprocess.Popen([sys.executable, "-m", "harness", *argv], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    return proc.pid, proc.wait(timeout=30)


def delays(n: int, full: float) -> list[float]:
    """``n`` kill moments between 5 % and 105 % of ``full``, the measured wall time of a whole run (so the
    kills spread over the run on a fast machine as on a slow one); seeded, so the same fractions each time."""
    rng = random.Random(SEED)
    return sorted(round(rng.uniform(0.05, 1.05) * full, 3) for _ in range(n))


def timed(*argv: str) -> float:
    start = time.monotonic()
    proc = harness(*argv)
    assert proc.returncode == 0, proc.stderr
    return time.monotonic() - start


# ------------------------------------------------------------------------------------- SIGKILL of record
def check_reference_folder(folder: Path, scenarios: dict, *, had_old: bool) -> set[str]:
    """Everything in ``folder`` after a kill; returns the states seen ('absent', 'old', 'new', 'reported')."""
    allowed = {f"{n}.{ext}" for n in NAMES for ext in ("npz", "json")}
    names = {p.name for p in folder.iterdir()} if folder.exists() else set()
    assert not {n for n in names - allowed if not is_temporary(n)}, names
    states = set()
    for name in NAMES:
        old, new = scenarios["old"][name], scenarios["new"][name]
        npz = reference_path(name, folder)
        if not npz.exists():
            assert not had_old, f"{npz}: the old reference was lost"
            states.add("absent")
            continue
        # The data file is never half-written: it loads by itself, checksum included, as old or new.
        stored = Traces.load(npz, check_readable=False)
        recorded = stored.provenance["scenario_hash"]
        assert recorded in (old.content_hash, new.content_hash), recorded
        mine, other = (old, new) if recorded == old.content_hash else (new, old)
        assert mine is new or had_old, "an old reference appeared from nowhere"
        with pytest.raises(UsageError):  # the other version's hash is always refused
            load_reference(other, folder)
        try:
            load_reference(mine, folder)
        except UsageError as exc:  # only a readable copy that is missing-stale is reported; never a crash
            assert "json" in str(exc) or "readable" in str(exc), exc
            states.add("reported")
            continue
        side = npz.with_suffix(".json")
        if side.exists():  # a pair that load_reference accepted agrees with itself
            assert json.loads(side.read_text())["provenance"]["scenario_hash"] == recorded
        states.add("old" if mine is old else "new")
    return states


def test_sigkill_of_record_never_leaves_a_half_written_or_inconsistent_reference(versions, tmp_path):
    paths, scenarios, old_refs, full = versions
    new_paths = list(map(str, paths["new"]))
    seen, killed = set(), 0
    for i, delay in enumerate(delays(10, full)):
        folder = tmp_path / f"run{i}"
        had_old = i % 2 == 0  # every other run replaces old references (--force), the others start empty
        if had_old:
            shutil.copytree(old_refs, folder)
        pid, rc = kill_after(["record", *new_paths, "--dir", str(folder), "--force"], delay)
        assert rc in (0, -signal.SIGKILL), (delay, rc)
        killed += rc == -signal.SIGKILL
        assert_no_worker_survives(pid)
        seen |= check_reference_folder(folder, scenarios, had_old=had_old)
        # The next record repairs everything: no temporary file left, every reference the new one.
        proc = harness("record", *new_paths, "--dir", str(folder), "--force")
        assert proc.returncode == 0, proc.stderr
        assert not [p.name for p in folder.iterdir() if is_temporary(p.name)]
        for name in NAMES:
            load_reference(scenarios["new"][name], folder)
        assert check_reference_folder(folder, scenarios, had_old=had_old) == {"new"}
    assert killed >= 3, "the delays no longer hit record while it runs; shorten them"
    assert "new" in seen or "old" in seen


# ------------------------------------------------------------------------------------- SIGKILL of report
def check_report_folder(out: Path) -> str:
    if not out.exists():
        return "absent"
    summary = json.loads((out / SUMMARY_FILE).read_text())
    block = summary["report"]
    listed = set(block["files"].values()) | set(block["figures"].values()) | set(block["accuracy"]["figures"])
    there = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert there == listed, (there, listed)
    assert (out / HTML_FILE).read_text().rstrip().endswith("</html>")
    assert (out / MARKDOWN_FILE).stat().st_size > 0
    for figure in block["figures"].values():
        assert (out / figure).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    return "complete"


def test_sigkill_of_report_leaves_no_half_report_and_nothing_that_blocks_the_next(tmp_path):
    scenarios = [str(REPO / "scenarios" / f"{name}.yaml") for name in ("rest_no_input", "gaba_only")]
    full = timed("report", *scenarios, "--out", str(tmp_path / "whole"), "--workers", "2")
    seen, killed = set(), 0
    for i, delay in enumerate(delays(5, full)):
        out = tmp_path / f"run{i}" / "r"
        if i % 2:  # an existing report (of one scenario) that --force replaces
            proc = harness("report", scenarios[0], "--out", str(out), "--workers", "1")
            assert proc.returncode == 0, proc.stderr
        pid, rc = kill_after(["report", *scenarios, "--out", str(out), "--workers", "2", "--force"], delay)
        assert rc in (0, -signal.SIGKILL), (delay, rc)
        killed += rc == -signal.SIGKILL
        assert_no_worker_survives(pid)
        state = check_report_folder(out)
        assert state == "complete" or not i % 2, "the existing report was lost"
        seen.add(state)
        proc = harness("report", *scenarios, "--out", str(out), "--workers", "2", "--force")
        assert proc.returncode == 0, proc.stderr
        assert check_report_folder(out) == "complete"
        # What a kill can leave beside the report: only its own hidden temporary or set-aside folders.
        assert all(p.name == "r" or re.fullmatch(r"\.r\..+\.(tmp|old)", p.name) for p in out.parent.iterdir())
        assert json.loads((out / SUMMARY_FILE).read_text())["report"]["counts"]["pass"] == 2
    assert killed >= 2, "the delays no longer hit report while it runs; shorten them"


# ------------------------------------------------------------------------------------------ disk faults
def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs (and chmod does not stop root); not a pass")
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small or read-only file system; not a pass")


@contextlib.contextmanager
def tmpfs(folder: Path, size: str):
    folder.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}); not a pass")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_full_disk_is_one_line_exit_2_and_keeps_the_existing_reference(versions, tmp_path):
    need_root()
    paths, scenarios, old_refs, _ = versions
    ampa_old = old_refs / "ampa_only.npz"
    size = ampa_old.stat().st_size
    # Room for the old pair and a few kB, never for a second copy of the data: the new .npz cannot fit.
    with tmpfs(tmp_path / "small", f"{(size + size // 2) // 1024}k") as disk:
        refs = disk / "refs"
        refs.mkdir()
        for ext in ("npz", "json"):
            shutil.copy(old_refs / f"ampa_only.{ext}", refs)
        before = snapshot(refs)
        new_ampa = next(str(p) for p in paths["new"] if p.stem == "ampa_only")
        line = one_line_error(harness("record", new_ampa, "--dir", str(refs), "--force"))
        assert "ampa_only" in line and "No space left" in line, line
        assert snapshot(refs) == before  # nothing half-written, no temporary file, the old pair intact
        load_reference(scenarios["old"]["ampa_only"], refs)
    with tmpfs(tmp_path / "tiny", "64k") as disk:  # a new reference into a disk too small for it
        line = one_line_error(harness("record", new_ampa, "--dir", str(disk)))
        assert "No space left" in line, line
        assert list(disk.iterdir()) == []


def test_read_only_reference_folder_is_one_line_exit_2_and_changes_nothing(versions, tmp_path):
    need_root()
    paths, scenarios, old_refs, _ = versions
    with tmpfs(tmp_path / "ro", "4m") as disk:
        for p in old_refs.iterdir():
            shutil.copy(p, disk)
        before = snapshot(disk)
        proc = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True, text=True)
        if proc.returncode:
            pytest.skip(f"cannot remount the tmpfs read-only ({proc.stderr.strip()}); not a pass")
        one_line_error(harness("record", *map(str, paths["new"]), "--dir", str(disk), "--force"))
        one_line_error(harness("record", *map(str, paths["old"]), "--dir", str(disk)))  # refused before NEST runs
        assert snapshot(disk) == before
        for name in NAMES:
            load_reference(scenarios["old"][name], disk)


# ------------------------------------------------------------------------ the checks above can fail
def test_negative_controls_the_checks_catch_what_they_exist_for(versions, tmp_path):
    paths, scenarios, old_refs, _ = versions
    new_refs = tmp_path / "new_refs"
    assert harness("record", *map(str, paths["new"]), "--dir", str(new_refs)).returncode == 0

    def broken(edit) -> Path:
        folder = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        shutil.copytree(old_refs, folder)
        edit(folder)
        return folder

    # A half-written .npz (what a non-atomic write killed mid-way leaves): the check fails.
    half = broken(lambda f: (f / "gaba_only.npz").write_bytes((old_refs / "gaba_only.npz").read_bytes()[:5000]))
    with pytest.raises(UsageError, match="gaba_only"):
        check_reference_folder(half, scenarios, had_old=True)
    # A new .npz beside the old .json (killed between the two renames): seen, and load_reference says so.
    pair = broken(lambda f: shutil.copy(new_refs / "ampa_only.npz", f))
    assert check_reference_folder(pair, scenarios, had_old=True) == {"old", "reported"}
    # A lost old reference, and a stray file that is not a temporary one.
    lost = broken(lambda f: (f / "rest_no_input.npz").unlink())
    with pytest.raises(AssertionError, match="lost"):
        check_reference_folder(lost, scenarios, had_old=True)
    stray = broken(lambda f: (f / "ampa_only.npz.partial").write_bytes(b""))
    with pytest.raises(AssertionError):
        check_reference_folder(stray, scenarios, had_old=True)

    # A report folder missing a figure, or holding a file its summary does not list.
    out = tmp_path / "report"
    assert harness("report", str(paths["old"][0]), "--out", str(out), "--workers", "1").returncode == 0
    assert check_report_folder(out) == "complete"
    (out / "extra.txt").write_text("x")
    with pytest.raises(AssertionError):
        check_report_folder(out)
    (out / "extra.txt").unlink()
    next((out / "figures").iterdir()).unlink()
    with pytest.raises(AssertionError):
        check_report_folder(out)

    # A process that carries the worker marker and outlives its "parent" is found.
    token = f"negative-control-{os.getpid()}"
    survivor = subprocess.Popen(["sleep", "30"], env={**os.environ, WORKER_MARKER: token})
    try:
        with pytest.raises(AssertionError, match="still running"):
            assert_no_worker_survives(token, grace=0.5)
    finally:
        survivor.kill()
        survivor.wait()
    assert_no_worker_survives(token, grace=0.5)
