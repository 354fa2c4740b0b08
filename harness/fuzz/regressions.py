"""Failing fuzz cases as scenario files in ``scenarios/regressions/``, so that a failure outlives the run.

The case is written as generated, a single-neuron or a network scenario (``populations:``) alike.

A file is named after what the scenario means (``fuzz_<hash>.yaml``, the hash of its content without name
and description), so the same failure found twice maps to the same file. Files are written atomically
(temporary file, then a hard link that fails if the name is taken) and never overwritten: an existing file
with the same content is reused, one with other content (edited by hand) keeps its name and the new case
gets a numbered suffix.
"""
from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import tempfile
from pathlib import Path

import yaml

from harness.scenario.discovery import DEFAULT_SCENARIOS
from harness.scenario.schema import canonical_json

REGRESSION_DIR = Path(DEFAULT_SCENARIOS) / "regressions"


def case_id(raw: dict) -> str:
    """Short hash of a scenario dict, ignoring its name and description."""
    content = {k: v for k, v in raw.items() if k not in ("name", "description")}
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()[:12]


def write_regression(raw: dict, failure: str, directory: str | Path = REGRESSION_DIR) -> tuple[Path, bool]:
    """Write the scenario as YAML; returns (path, created). created is False when the case was on file.

    A folder that cannot be written (a full or read-only disk, after the check before the run) is a one-line
    UsageError naming --regressions-dir, not a traceback.
    """
    from harness.traces.atomic import write_failure

    directory = Path(directory)
    try:
        return _write_new(raw, failure, directory)
    except OSError as exc:
        raise write_failure("--regressions-dir", directory, exc) from None


def _write_new(raw: dict, failure: str, directory: Path) -> tuple[Path, bool]:
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"fuzz_{case_id(raw)}"
    for attempt in range(1, 1000):
        name = stem if attempt == 1 else f"{stem}_{attempt}"
        path = directory / f"{name}.yaml"
        if path.exists():
            if _same_case(path, raw):
                return path, False
            continue
        if _link_new(path, regression_text(raw, name, failure, path)):
            return path, True
    raise RuntimeError(f"no free file name for {stem} in {directory}")


def regression_text(raw: dict, name: str, failure: str, path: Path) -> str:
    found = datetime.date.today().isoformat()
    description = (f"Found by `nest-parity fuzz` on {found}: {failure.strip()} "
                   f"Reproduce with: make compare SCENARIO={path.as_posix()}")
    body = {"name": name, "description": description, **{k: v for k, v in raw.items()
                                                         if k not in ("name", "description")}}
    return ("# Minimal failing case, shrunk by hypothesis. Edit freely; the fuzzer never overwrites it.\n"
            + yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=110))


def _same_case(path: Path, raw: dict) -> bool:
    try:
        existing = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(existing, dict) and case_id(existing) == case_id(raw)


def _link_new(path: Path, text: str) -> bool:
    """Create ``path`` with ``text`` atomically; False (and nothing written) if the name is taken."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)  # unlike rename, link refuses to replace an existing file
        return True
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(OSError):  # never hide the real failure behind the clean-up's
            os.unlink(tmp)
