"""How a candidate run fails: ``CandidateError`` (status "error", never a comparison), with the tail of what
the candidate said (a command's stderr, a function's traceback)."""
from __future__ import annotations

STDERR_TAIL_CHARS = 4000


class CandidateError(Exception):
    """A candidate run that produced no usable traces. ``status`` is always "error"."""

    status = "error"

    def __init__(self, candidate: str, scenario: str, reason: str, stderr: str = "",
                 returncode: int | None = None):
        self.candidate, self.scenario, self.reason = candidate, scenario, reason
        self.stderr, self.returncode = stderr, returncode
        super().__init__(self.describe())

    def __reduce__(self):  # back from a worker process whole, with its fields (not only its message)
        return type(self), (self.candidate, self.scenario, self.reason, self.stderr, self.returncode)

    def describe(self) -> str:
        text = f"candidate {self.candidate!r} on {self.scenario!r}: {self.reason}"
        if self.stderr.strip():
            text += "\n--- its stderr (last lines) ---\n" + self.stderr.rstrip()
        return text


class CandidateUnavailable(CandidateError):
    """The candidate's files are not there (e.g. its virtual environment was never built)."""
