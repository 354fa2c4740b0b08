"""Where the catalogue is: its scenarios, their NEST and truth references and the default candidates.yaml.

In a checkout they are the repository's own ``scenarios/``, ``reference_traces/`` and ``candidates.yaml``.
An installed wheel carries the same files as package data in ``nest_parity/catalogue/`` (pyproject.toml),
in the same layout, so that the rule that finds a scenario's references from the scenario's own place (the
first folder above it that holds ``reference_traces/``: ``harness.traces.references.reference_folder``)
finds the packaged ones too, and another repository can gate on the catalogue without a checkout.

Nothing here imports the rest of the harness: every module may ask where the catalogue is.
"""
from __future__ import annotations

from pathlib import Path

REFERENCE_FOLDER = "reference_traces"
SCENARIO_FOLDER = "scenarios"
REGISTRY_FILE = "candidates.yaml"

_PACKAGES = Path(__file__).resolve().parents[1]  # the checkout, or site-packages
PACKAGED = _PACKAGES / "nest_parity" / "catalogue"  # where a wheel puts it (absent in a checkout)
# A wheel's copy wins: a checkout has no nest_parity/catalogue/, and an installed harness has no scenarios/
# beside it.
ROOT = PACKAGED if (PACKAGED / SCENARIO_FOLDER).is_dir() else _PACKAGES
INSTALLED = ROOT == PACKAGED

SCENARIOS = ROOT / SCENARIO_FOLDER
REFERENCES = ROOT / REFERENCE_FOLDER
CANDIDATES = ROOT / REGISTRY_FILE


def is_packaged(path: Path) -> bool:
    """``path`` lies in an installed package's copy of the catalogue, which this release was checked against
    and which nothing writes to (a checkout's catalogue is the repository's to change)."""
    path = Path(path).resolve()
    return INSTALLED and (path == ROOT or ROOT in path.parents)
