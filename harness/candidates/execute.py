"""Running one candidate on one scenario, out of process, and turning every way it can go wrong into an error.

The candidate runs as a child process in a fresh temporary folder, its own process group, with the
registry's timeout. A non-zero exit, a timeout, or output that ``protocol.read_traces`` refuses raises
``CandidateError`` (status "error", with the tail of the candidate's stderr): a broken candidate can never
produce a comparison, so it can never pass.
"""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from harness.scenario.types import Scenario
from harness.traces.traces import Traces

from . import protocol
from .registry import Candidate

STDERR_TAIL_CHARS = 4000


class CandidateError(Exception):
    """A candidate run that produced no usable traces. ``status`` is always "error"."""

    status = "error"

    def __init__(self, candidate: str, scenario: str, reason: str, stderr: str = "",
                 returncode: int | None = None):
        self.candidate, self.scenario, self.reason = candidate, scenario, reason
        self.stderr, self.returncode = stderr, returncode
        super().__init__(self.describe())

    def describe(self) -> str:
        text = f"candidate {self.candidate!r} on {self.scenario!r}: {self.reason}"
        if self.stderr.strip():
            text += "\n--- its stderr (last lines) ---\n" + self.stderr.rstrip()
        return text


class CandidateUnavailable(CandidateError):
    """The candidate's files are not there (e.g. its virtual environment was never built)."""


def run_candidate(candidate: Candidate, scenario: Scenario, *, keep_dir: Path | None = None) -> Traces:
    """The candidate's traces of ``scenario``, validated; CandidateError on anything else.

    ``keep_dir``: use this folder instead of a temporary one and leave it behind (for debugging a port).
    """
    missing = candidate.missing_requirements()
    if missing:
        setup = f"; run `{candidate.setup}` first" if candidate.setup else ""
        raise CandidateUnavailable(candidate.name, scenario.name,
                                   f"not available: {', '.join(missing)} does not exist{setup}")
    compiled = protocol.compile_inputs(scenario)
    if keep_dir is not None:
        return _run_in(candidate, scenario, compiled, Path(keep_dir))
    with tempfile.TemporaryDirectory(prefix=f"candidate-{candidate.name}-") as tmp:
        return _run_in(candidate, scenario, compiled, Path(tmp))


def _run_in(candidate: Candidate, scenario: Scenario, compiled, work: Path) -> Traces:
    inputs, outputs = work / "inputs", work / "outputs"
    protocol.write_inputs(compiled, inputs)
    outputs.mkdir(parents=True, exist_ok=True)
    argv = candidate.argv(inputs, outputs)
    started = time.perf_counter()
    returncode, stderr, timed_out = _execute(argv, work, candidate.timeout_s)
    seconds = time.perf_counter() - started
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
        "protocol_version": protocol.FORMAT_VERSION,
    })
    return traces


def _execute(argv: list[str], cwd: Path, timeout_s: float) -> tuple[int | None, str, bool]:
    """Run ``argv``; stderr goes to a file (a pipe could fill up and hang a chatty candidate)."""
    err_path = cwd / "stderr.txt"
    with open(err_path, "wb") as err, open(os.devnull, "rb") as devnull:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdin=devnull, stdout=err, stderr=err,
                                    start_new_session=True)
        except OSError as exc:
            return 127, f"cannot start {argv[0]}: {exc.strerror or exc}", False
        try:
            proc.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            # The whole process group: a candidate's own children (XLA, a shell wrapper) must die too.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            timed_out = True
    return proc.returncode, _tail(err_path), timed_out


def _tail(path: Path) -> str:
    data = path.read_bytes()
    text = data[-STDERR_TAIL_CHARS:].decode(errors="replace")
    return ("…" + text) if len(data) > STDERR_TAIL_CHARS else text


def _signal_name(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f" (killed by {signal.Signals(-returncode).name})"
        except ValueError:
            return ""
    return ""
