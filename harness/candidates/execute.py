"""Running one candidate on one scenario, out of process, and turning every way it can go wrong into an error.

The candidate runs as a child process in a fresh temporary folder, its own session and process group, with
the registry's timeout. A non-zero exit, a timeout, or output that ``protocol.read_traces`` refuses raises
``CandidateError`` (status "error", with the tail of the candidate's stderr): a broken candidate can never
produce a comparison, so it can never pass.

Containment (a candidate is someone else's code):

* **its processes**: every run carries ``CANDIDATE_MARKER=<token>`` in its environment. When it exits or
  times out, its process group, every descendant found through /proc (by parent pid, and by the marker, so
  that a ``setsid`` grandchild reparented to init is found too) is killed, until none is left. Not found: a
  descendant that both cleared its environment and was orphaned (that would take a cgroup).
* **its output**: read with limits (``protocol.read_traces``: array shapes and types from the NPZ headers
  before anything is loaded); its stderr only as a bounded tail.

An in-process candidate (a ``python:`` entry, ``inprocess``) is a function called with the compiled inputs
in memory: no folder, no child process; its result is checked by the same rules, and the scenario file and
the reference folders are fingerprinted around the call as below.

A network scenario is handed over in protocol version 2: a candidate whose registry entry does not list 2 in
``protocols`` is not run, and the run is an error that says so.
* **everything else**: the inputs are made read-only, and the inputs, the scenario file and the reference
  folders are fingerprinted (size, mtime, SHA-256) before and after; a change is an error naming each path.
  Writes elsewhere (the candidate's own working folder aside) are not watched.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from harness.scenario.types import Scenario
from harness.traces.traces import Traces

from . import protocol
from .errors import STDERR_TAIL_CHARS, CandidateError, CandidateUnavailable
from .registry import Candidate

__all__ = ["CandidateError", "CandidateUnavailable", "STDERR_TAIL_CHARS", "run_candidate", "tail"]

CANDIDATE_MARKER = "NEST_PARITY_CANDIDATE"
_KILL_ROUNDS = 50


def run_candidate(candidate: Candidate, scenario: Scenario, *, keep_dir: Path | None = None,
                  watch: tuple = ()) -> Traces:
    """The candidate's traces of ``scenario``, validated; CandidateError on anything else.

    ``keep_dir``: use this folder instead of a temporary one and leave it behind (for debugging a port).
    ``watch``: more files or folders that the candidate must leave alone, besides the scenario file and the
    reference folders (``reference_traces/`` here and in the repository).
    """
    missing = candidate.missing_requirements()
    if missing:
        setup = f"; run `{candidate.setup}` first" if candidate.setup else ""
        raise CandidateUnavailable(candidate.name, scenario.name,
                                   f"not available: {', '.join(missing)} does not exist{setup}")
    version = protocol.version_for(scenario)
    if version not in candidate.protocols:
        kind = "a network scenario" if scenario.is_network else "a single-neuron scenario"
        raise CandidateError(candidate.name, scenario.name, f"it speaks protocol version "
                             f"{' and '.join(map(str, candidate.protocols))} only (`protocols` in its registry entry), "
                             f"and {kind} is handed over in version {version} (docs/candidates.md)")
    try:
        compiled = protocol.compile_inputs(scenario)
    except ValueError as exc:  # a network too large to hand over
        raise CandidateError(candidate.name, scenario.name, str(exc)) from None
    watched = _watched_paths(scenario, watch)
    if candidate.in_process:
        return _run_in_process(candidate, scenario, compiled, watched)
    if keep_dir is not None:
        return _run_in(candidate, scenario, compiled, Path(keep_dir), watched)
    with tempfile.TemporaryDirectory(prefix=f"candidate-{candidate.name}-") as tmp:
        return _run_in(candidate, scenario, compiled, Path(tmp), watched)


def _run_in(candidate: Candidate, scenario: Scenario, compiled, work: Path, watched: list) -> Traces:
    inputs, outputs = work / "inputs", work / "outputs"
    protocol.write_inputs(compiled, inputs)
    outputs.mkdir(parents=True, exist_ok=True)
    argv = candidate.argv(inputs, outputs)
    watched = [*watched, inputs]
    _set_read_only(inputs, True)
    before = _fingerprints(watched)
    started = time.perf_counter()
    try:
        returncode, stderr, timed_out = _execute(argv, work, candidate.timeout_s)
    finally:
        seconds = time.perf_counter() - started
        changed = _changes(before, _fingerprints(watched))
        try:
            _set_read_only(inputs, False)  # a kept folder can be removed again; the temporary one is removed
        except OSError:
            pass  # the candidate removed its inputs: the fingerprints say so
    if changed:
        # Checked first: a candidate that tampered with the reference or its inputs is not to be believed,
        # whatever it wrote.
        raise CandidateError(candidate.name, scenario.name, "it changed files outside its output folder: "
                             + ", ".join(changed), stderr)
    if timed_out:
        raise CandidateError(candidate.name, scenario.name, f"timed out after {candidate.timeout_s:g} s "
                             f"(timeout_s in the registry)", stderr)
    if returncode != 0:
        raise CandidateError(candidate.name, scenario.name, f"exited with status {returncode}"
                             + _signal_name(returncode), stderr, returncode)
    try:
        traces = protocol.read_traces(outputs, compiled.meta)
    except protocol.CandidateOutputError as exc:
        raise CandidateError(candidate.name, scenario.name, f"malformed output: {exc}", stderr) from None
    traces.provenance.update({
        "backend": f"candidate:{candidate.name}", "candidate": candidate.name, "command": argv,
        "seconds": round(seconds, 3), "scenario_path": scenario.path, "scenario_hash": scenario.content_hash,
        "protocol_version": compiled.meta["format_version"],
    })
    return traces


def _run_in_process(candidate: Candidate, scenario: Scenario, compiled, watched: list) -> Traces:
    """A ``python:`` entry, called here (``parity.collect`` calls this in a worker): no files are written."""
    from .inprocess import run_inprocess

    before = _fingerprints(watched)
    traces, failure = None, None
    try:
        traces = run_inprocess(candidate, scenario, compiled)
    except CandidateError as exc:
        failure = exc
    changed = _changes(before, _fingerprints(watched))
    if changed:  # checked first, as for a command: a candidate that tampered with the references is not believed
        raise CandidateError(candidate.name, scenario.name, "it changed the scenario or the references: "
                             + ", ".join(changed), failure.stderr if failure else "")
    if failure is not None:
        raise failure
    traces.provenance.update(scenario_path=scenario.path, scenario_hash=scenario.content_hash)
    return traces


def _execute(argv: list[str], cwd: Path, timeout_s: float) -> tuple[int | None, str, bool]:
    """Run ``argv``; stderr goes to a file (a pipe could fill up and hang a chatty candidate)."""
    err_path = cwd / "stderr.txt"
    token = secrets.token_hex(8)
    env = {**os.environ, CANDIDATE_MARKER: token}
    with open(err_path, "wb") as err, open(os.devnull, "rb") as devnull:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdin=devnull, stdout=err, stderr=err, env=env,
                                    start_new_session=True)
        except OSError as exc:
            return 127, f"cannot start {argv[0]}: {exc.strerror or exc}", False
        timed_out = False
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:  # also on KeyboardInterrupt: nothing of the candidate outlives the harness's run of it
            end_descendants(proc.pid, token)
            proc.wait()
    return proc.returncode, tail(err_path), timed_out


def end_descendants(pid: int, token: str) -> None:
    """SIGKILL ``pid``'s process group, its descendants and every process carrying the run's marker.

    Repeated until a scan finds none: a forking descendant may start another between a scan and the kill.
    """
    marker = f"{CANDIDATE_MARKER}={token}".encode()
    for _ in range(_KILL_ROUNDS):
        found = _descendants(pid) | _marked(marker)
        for kill in [lambda: os.killpg(pid, signal.SIGKILL)] + [lambda p=p: os.kill(p, signal.SIGKILL)
                                                                 for p in found]:
            try:
                kill()
            except OSError:
                pass
        if not found:
            return
        time.sleep(0.01)


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process /proc shows (empty where there is no /proc)."""
    table = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            table[int(entry.name)] = (int(fields[1]), fields[0])
        except (OSError, ValueError, IndexError):
            continue
    return table


def _descendants(pid: int) -> set[int]:
    table = _processes()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, (parent, state) in table.items() if parent in frontier and state != "Z"} - found
        found |= frontier
    return found


def _marked(marker: bytes) -> set[int]:
    found = set()
    for pid, (_, state) in _processes().items():
        if state == "Z" or pid == os.getpid():
            continue
        try:
            if marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.add(pid)
        except OSError:
            continue
    return found


def tail(path: Path, limit: int = STDERR_TAIL_CHARS) -> str:
    """The last ``limit`` bytes of ``path`` as text: a candidate's 1 GB of stderr is never read whole."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - limit))
            data = f.read(limit)
    except OSError as exc:
        return f"(its stderr could not be read: {exc.strerror or exc})"
    text = data.decode(errors="replace")
    return ("…" + text) if size > limit else text


# ------------------------------------------------------------------------------------------- watched files
def _watched_paths(scenario: Scenario, extra) -> list[Path]:
    from harness import catalogue
    from harness.traces.references import REFERENCE_DIR, reference_folder

    from .registry import REPO_ROOT

    paths = [Path(scenario.path), REFERENCE_DIR, REPO_ROOT / REFERENCE_DIR, reference_folder(scenario),
             catalogue.REFERENCES, *map(Path, extra)]
    return list({p.resolve(): p.resolve() for p in paths}.values())


def _fingerprints(paths) -> dict:
    """path -> (size, mtime_ns, SHA-256) of every file under ``paths`` (folders walked; absent paths skipped)."""
    prints = {}
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) \
            if root.is_dir() else []
        for path in files:
            try:
                info = path.stat()
                prints[str(path)] = (info.st_size, info.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
            except OSError:
                prints[str(path)] = None
    return prints


def _changes(before: dict, after: dict) -> list[str]:
    changed = [f"{p} (deleted)" for p in before if p not in after]
    changed += [f"{p} (created)" for p in after if p not in before]
    changed += [f"{p} (modified)" for p in before if p in after and before[p] != after[p]]
    return sorted(changed)


def _set_read_only(folder: Path, read_only: bool) -> None:
    """The inputs read-only for the candidate (a run as root is not stopped by it: the fingerprints are)."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    for path in files:
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH | (0 if read_only else stat.S_IWUSR))
    folder.chmod(stat.S_IRWXU & ~(stat.S_IWUSR if read_only else 0) | stat.S_IRGRP | stat.S_IXGRP
                 | stat.S_IROTH | stat.S_IXOTH)


def _signal_name(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f" (killed by {signal.Signals(-returncode).name})"
        except ValueError:
            return ""
    return ""
