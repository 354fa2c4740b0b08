"""Where scenario files are: files, folders (searched recursively) and glob patterns."""
from __future__ import annotations

import glob
from pathlib import Path

from harness.errors import UsageError

DEFAULT_SCENARIOS = "scenarios"


def find_scenarios(patterns, *, named_as_given: bool = False) -> list[Path]:
    """Scenario files from files, folders (every ``**/*.yaml`` below) and glob patterns, sorted, no repeats.

    ``named_as_given``: a name that is neither a folder nor a pattern is kept as it is, whatever it is (a
    missing file, a FIFO), so that reading it says what is wrong with it (``validate`` lists it with the
    other files' problems)."""
    found: list[Path] = []
    for pattern in patterns or [DEFAULT_SCENARIOS]:
        found.extend(m for m in expand_pattern(pattern, named_as_given=named_as_given) if m not in found)
    return found


def expand_pattern(pattern: str, *, named_as_given: bool = False) -> list[Path]:
    """The scenario files one file name, folder or glob pattern names; UsageError when it names none."""
    path = Path(pattern)
    if path.is_dir():
        matches = sorted(path.glob("**/*.yaml"))
    elif path.is_file() or (named_as_given and not glob.has_magic(pattern)):
        matches = [path]
    elif glob.has_magic(pattern):
        matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    else:
        raise UsageError(f"{pattern}: no such file or folder; allowed: scenario files, folders of them "
                         f"(searched recursively for *.yaml) or glob patterns")
    if not matches:
        raise UsageError(f"{pattern}: no scenario files (*.yaml) found there")
    return matches
