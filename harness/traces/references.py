"""Stored NEST outputs in reference_traces/: the memory that keeps the gate honest across NEST upgrades.

A reference is one file, ``<scenario name>.npz``: arrays and provenance together, checksummed (see
traces.py); ``<scenario name>.json`` beside it is a readable copy that is checked, never trusted. Every
load checks the file, the checksum, the copy, the scenario's name and content hash and that the NEST and
GSL versions are recorded; anything wrong is an error that says how to repair it. A reference is only
replaced when it is identical or when the user says --force: a silently rewritten reference would hide
exactly the drift it exists to reveal. Nothing but ``record`` writes into a reference folder.

Which folder: one named explicitly (``--references DIR``, ``--dir DIR``, ``references=``) is used as it is.
The default, ``reference_traces`` (REFERENCE_DIR), means the scenario's project's, never the current
directory's: the ``reference_traces/`` of the first folder above the scenario file that holds one (for a
scenario of the catalogue, packaged or in a checkout, the catalogue's: ``harness.catalogue``); for a scenario
in no such project (a copy elsewhere, YAML text, a mapping), the catalogue's, where a copy of a catalogue
scenario finds its reference by name and content hash. ``record`` never falls back so: it writes into a
project's folder or a named one, and never into an installed package's catalogue.

Two kinds live there: NEST's outputs (``<folder>/<name>.npz``) and, in ``<folder>/truth/``, the truth
solutions of the same scenarios (``harness.truth``; ``nest-parity record --truth``), whose provenance names
the solver, its tolerances, scipy's version and the convergence figure. The gate and the reports read the
stored truth; they never solve it again.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import catalogue
from harness.errors import UsageError
from harness.scenario.types import Scenario
from harness.traces.atomic import is_temporary
from harness.traces.traces import (
    TraceFileError,
    Traces,
    data_path,
    read_npz,
    readable_mismatch,
    readable_path,
    write_readable,
)

REFERENCE_DIR = Path(catalogue.REFERENCE_FOLDER)  # the default: the scenario's project's (see above)
REPO_REFERENCE_DIR = catalogue.REFERENCES  # the catalogue's own: the checkout's, or the installed package's
RECORDED_BY = "nest-parity record"  # provenance["recorded_by"]: marks a folder as a reference folder
REQUIRED_PROVENANCE = ("scenario_hash", "nest_version", "gsl_version")
KINDS = ("nest", "truth")
TRUTH_SUBDIR = "truth"
# What each kind's provenance must record to be trusted (and for a truth, to be judged converged).
REQUIRED_BY_KIND = {"nest": REQUIRED_PROVENANCE,
                    "truth": ("scenario_hash", "scipy_version", "method", "rtol", "convergence")}


@dataclass
class RecordOutcome:
    scenario: str
    status: str  # "written" | "unchanged" | "repaired" | "refused"
    detail: str
    path: Path


def reference_path(scenario_name: str, directory: Path = REFERENCE_DIR, kind: str = "nest") -> Path:
    """``<directory>/<scenario name>.npz`` (a truth's in ``<directory>/truth/``): the whole name plus the
    extension, so ``x.a`` and ``x.b`` (and ``ampa_only.v2`` and ``ampa_only``) never share a file."""
    if scenario_name in ("", ".", "..") or any(c in scenario_name for c in "/\\\0\n"):
        raise UsageError(f"scenario name {scenario_name[:60]!r} cannot name a reference file")
    if len(f"{scenario_name}.json".encode()) > 255:  # the longest file name Linux file systems allow
        raise UsageError(f"scenario name {scenario_name[:60]!r}... is too long to name a reference file")
    folder = Path(directory) / TRUTH_SUBDIR if kind == "truth" else Path(directory)
    return folder / f"{scenario_name}.npz"


def is_default_folder(directory) -> bool:
    """``directory`` is the default, as the command line gives it when no folder is named."""
    return Path(directory) == REFERENCE_DIR


def project_references(scenario_path) -> Path | None:
    """The ``reference_traces/`` of the first folder above the scenario file that holds one; None when the
    scenario is no file (YAML text, a mapping) or no folder above it holds one. The file's place as given
    (symbolic links not followed): a scenario linked into a project belongs to that project."""
    path = Path(os.path.abspath(scenario_path)) if scenario_path else None
    if path is None or not path.is_file():
        return None
    for folder in path.parents:
        if (folder / REFERENCE_DIR).is_dir():
            return folder / REFERENCE_DIR
    return None


def reference_folder(scenario: Scenario, directory: Path = REFERENCE_DIR, *, writing: bool = False) -> Path:
    """The folder that holds ``scenario``'s references: ``directory`` when it names one, else the scenario's
    project's, else (for reading) the catalogue's. ``writing``: a UsageError instead of a folder that must
    not be written: none found, or an installed package's catalogue."""
    if not is_default_folder(directory):
        return Path(directory)
    found = project_references(scenario.path)
    if writing and found is None:
        raise UsageError(f"{scenario.path}: no folder above it holds {REFERENCE_DIR}/, so its project has no "
                         f"reference folder to record into; create {REFERENCE_DIR}/ in the project's root "
                         f"folder, or name a folder (--dir)")
    if writing and catalogue.is_packaged(found):
        raise UsageError(f"{scenario.path}: is a scenario of the installed package, whose references "
                         f"({found}) are the ones this release was checked against and are never rewritten; "
                         f"copy the scenario into a project with a {REFERENCE_DIR}/ folder, or name a folder (--dir)")
    return found if found is not None else catalogue.REFERENCES


def reference_file(scenario: Scenario, directory: Path = REFERENCE_DIR, kind: str = "nest", *,
                   writing: bool = False) -> Path:
    """``reference_path`` in the folder that holds ``scenario``'s references (``reference_folder``); a
    default folder's file relative to the current directory when it lies there, as messages show it."""
    path = reference_path(scenario.name, reference_folder(scenario, directory, writing=writing), kind)
    if is_default_folder(directory):
        with contextlib.suppress(ValueError, OSError):  # elsewhere (or no current directory): absolute
            return path.relative_to(Path.cwd())
    return path


def record_command(scenario: Scenario, kind: str = "nest", force: bool = False) -> str:
    return f"nest-parity record{' --truth' if kind == 'truth' else ''} {scenario.path}{' --force' if force else ''}"


def repair_hint(scenario: Scenario, kind: str = "nest") -> str:
    return f"repair it with `{record_command(scenario, kind, force=True)}`"


def load_reference(scenario: Scenario, directory: Path = REFERENCE_DIR, kind: str = "nest") -> Traces:
    """The verified stored reference of ``scenario`` (NEST's, or with ``kind="truth"`` the truth's); a
    missing, corrupt or stale one is a UsageError. ``directory``: see ``reference_folder``."""
    npz = reference_file(scenario, directory, kind)
    what = "truth reference" if kind == "truth" else "reference"
    if not npz.exists():
        make = "make truth-references" if kind == "truth" else "make references"
        raise UsageError(f"{scenario.path}: no stored {what} {npz} for scenario {scenario.name!r}; "
                         f"record it with `{record_command(scenario, kind)}` (or `{make}`)")
    try:
        with _folder_lock(npz.parent, exclusive=False):  # not half-way through a record's two renames
            traces = Traces.load(npz)
    except TraceFileError as exc:
        raise UsageError(f"{exc}; the stored {what} cannot be trusted: {repair_hint(scenario, kind)}") from None
    why = provenance_problem(traces, scenario, kind)
    if why:
        raise UsageError(f"{npz}: {why}; {repair_hint(scenario, kind)}")
    recorded = traces.provenance["scenario_hash"]
    if recorded != scenario.content_hash:
        # Comparing against a reference of another experiment would report nonsense as a regression.
        raise UsageError(f"{npz}: was recorded from a different version of {scenario.path} (scenario hash "
                         f"{recorded} stored, {scenario.content_hash} now); re-record it with "
                         f"`{record_command(scenario, kind, force=True)}` once the change is intended")
    return traces


def provenance_problem(traces: Traces, scenario: Scenario, kind: str = "nest") -> str | None:
    """What a checksummed reference still lacks to be this scenario's reference (None: nothing)."""
    if traces.scenario != scenario.name:
        return f"holds scenario {traces.scenario!r}, not {scenario.name!r}"
    if kind == "truth" and traces.provenance.get("backend") != "truth":
        return "it is not a truth solution (its provenance names another backend)"
    if kind == "nest" and traces.provenance.get("backend") == "truth":
        return "it is a truth solution, not NEST's output"
    for key in REQUIRED_BY_KIND[kind]:
        value = traces.provenance.get(key)
        if isinstance(value, str) and value or isinstance(value, float) and value > 0 or (
                isinstance(value, dict) and value):
            continue
        return f"its provenance does not record {key}"
    return None


def first_difference(new: Traces, old: Traces, scenario_hash: str) -> str | None:
    """Why ``new`` is not the same reference as ``old``, or None when it is bit-identical."""
    if old.provenance.get("scenario_hash") != scenario_hash:
        return "the scenario file changed since the reference was recorded"
    if new.tics_per_step != old.tics_per_step or not np.array_equal(new.steps, old.steps):
        return "the time grid differs"
    if new.neurons != old.neurons:
        return "the recorded neurons differ"
    if not np.array_equal(new.spike_steps, old.spike_steps) or (
            new.is_network and not np.array_equal(new.spike_neurons, old.spike_neurons)):
        return f"spike steps differ ({len(old.spike_steps)} stored, {len(new.spike_steps)} now)"
    if new.variables.keys() != old.variables.keys():
        return f"recorded variables differ ({sorted(old.variables)} stored, {sorted(new.variables)} now)"
    for name, values in new.variables.items():
        if values.tobytes() != old.variables[name].tobytes():
            diff = np.abs(values - old.variables[name])
            i = np.unravel_index(int(np.nanargmax(diff)), diff.shape)
            where = f" of {new.neurons[i[1]]}" if new.is_network else ""
            return f"{name}{where} differs, max |difference| {diff[i]:.3g} at step {int(new.steps[i[0]])}"
    return None


def record_reference(scenario: Scenario, traces: Traces, *, force: bool,
                     directory: Path = REFERENCE_DIR, kind: str = "nest") -> RecordOutcome:
    npz = reference_file(scenario, directory, kind, writing=True)
    traces.provenance = {**traces.provenance, "recorded_by": RECORDED_BY}
    with _folder_lock(npz.parent, exclusive=True):  # one record at a time per folder: read, judge, replace
        removed = remove_leftovers(npz.parent)
        note = f" (removed {removed} leftover temporary file{'s' if removed != 1 else ''})" if removed else ""
        if not npz.exists():
            _save(scenario, traces, npz, kind)
            return RecordOutcome(scenario.name, "written", "new reference" + note, npz)
        try:
            stored = Traces.load(npz, check_readable=False)
            why = provenance_problem(stored, scenario, kind) or first_difference(traces, stored,
                                                                                 scenario.content_hash)
            broken = False
        except TraceFileError as exc:
            why, broken = f"the stored reference cannot be trusted: {exc.why}", True
        if why is None:
            side = readable_path(npz)
            stale = readable_mismatch(side, stored.meta())
            if stale:  # the data is right and identical: the readable copy is rewritten from it, nothing lost
                _write(scenario, npz, lambda: write_readable(side, stored.meta()), kind)
                return RecordOutcome(scenario.name, "repaired", f"identical data; rewrote {side.name}, which "
                                     f"was {'missing' if stale == 'missing' else 'out of date'}" + note, npz)
            return RecordOutcome(scenario.name, "unchanged", "identical to the stored reference" + note, npz)
        if not force:
            return RecordOutcome(scenario.name, "refused", f"{why}; use --force to overwrite" + note, npz)
        _save(scenario, traces, npz, kind)
        return RecordOutcome(scenario.name, "written",
                             f"{'replaced' if broken else 'overwritten'} (--force): {why}" + note, npz)


def _save(scenario: Scenario, traces: Traces, npz: Path, kind: str = "nest") -> None:
    _write(scenario, npz, lambda: traces.save(npz), kind)


def _write(scenario: Scenario, npz: Path, write, kind: str = "nest") -> None:
    try:
        write()
    except OSError as exc:
        # Each file is replaced by a rename, so nothing is half-written; a failure between the .npz and its
        # readable .json is caught by the next load, and repaired by recording again.
        raise UsageError(f"{npz}: cannot write the reference: {exc.strerror or exc}; the stored files are "
                         f"whole but may not match each other: once fixed, {repair_hint(scenario, kind)}") from None


def remove_leftovers(folder: Path) -> int:
    """Delete the temporary files of writes that were killed (only called under the folder's lock)."""
    removed = 0
    with contextlib.suppress(OSError):  # a folder that cannot be listed or changed fails at the write instead
        for path in folder.iterdir():
            if is_temporary(path.name) and (".npz." in path.name or ".json." in path.name):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
    return removed


@contextlib.contextmanager
def _folder_lock(folder: Path, *, exclusive: bool):
    """flock on the folder itself (no lock file): records take it exclusively, loads shared. Where the
    file system has no flock, go on unlocked rather than refuse to work."""
    if exclusive:
        folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def is_reference_folder(folder: Path) -> bool:
    """``folder`` is, or is inside, a default reference folder: the current directory's, or the catalogue's
    (the checkout's, or the installed package's). Only ``record`` may write there."""
    folder = Path(folder).resolve()
    known = (REFERENCE_DIR.resolve(), REPO_REFERENCE_DIR.resolve())
    return any(folder == refs or refs in folder.parents for refs in known)


def is_recorded_reference(path: Path) -> bool:
    """``path`` (``<x>.npz`` or its readable ``<x>.json``) belongs to a reference that ``record`` wrote, in
    any folder: its readable copy says so, or (when that copy is gone) its data does."""
    import json

    npz = data_path(path) if not str(path).endswith(".json") else Path(str(path)[:-len(".json")] + ".npz")
    side = readable_path(npz)
    for read in (lambda: json.loads(side.read_text()), lambda: read_npz(npz)[0]):
        try:
            meta = read()
        except (OSError, ValueError, UnicodeDecodeError, UsageError):
            continue
        if isinstance(meta, dict) and isinstance(meta.get("provenance"), dict):
            return meta["provenance"].get("recorded_by") == RECORDED_BY
    return False
