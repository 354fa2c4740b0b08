"""Where scenario files are: files, folders (searched recursively) and glob patterns."""
from __future__ import annotations

import glob
from pathlib import Path

from harness.errors import UsageError

DEFAULT_SCENARIOS = "scenarios"


def find_scenarios(patterns) -> list[Path]:
    """Scenario files from files, folders (every ``**/*.yaml`` below) and glob patterns, sorted, no repeats."""
    found: list[Path] = []
    for pattern in patterns or [DEFAULT_SCENARIOS]:
        path = Path(pattern)
        if path.is_dir():
            matches = sorted(path.glob("**/*.yaml"))
        elif path.is_file():
            matches = [path]
        elif glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        else:
            raise UsageError(f"{pattern}: no such file or folder; allowed: scenario files, folders of them "
                             f"(searched recursively for *.yaml) or glob patterns")
        if not matches:
            raise UsageError(f"{pattern}: no scenario files (*.yaml) found there")
        found.extend(m for m in matches if m not in found)
    return found
