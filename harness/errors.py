"""Errors the CLI turns into a clear message and exit code 2 (bad input), never a traceback; the exit codes."""
from __future__ import annotations

# Every command: 0 success, 1 a parity failure (or a refused overwrite), 2 bad input or usage; 130 interrupted
# (the shell's 128 + SIGINT).
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad input that is not tied to a key of a scenario file (a missing file, a bad flag value)."""


class OverwriteRefused(UsageError):
    """An existing output that is replaced only on request (``--force``): exit 1, like a refused ``record``."""


class ScenarioError(UsageError):
    """One or more problems in one scenario file, each as (key path, what is wrong and what is allowed)."""

    def __init__(self, path: str, problems: list[tuple[str, str]]):
        self.path = path
        self.problems = list(problems)
        super().__init__(self.format())

    def format(self) -> str:
        lines = []
        for key, message in self.problems:
            lines.append(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")
        return "\n".join(lines)
