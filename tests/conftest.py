import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCENARIO_DIR = REPO / "scenarios"
REFERENCE_DIR = REPO / "reference_traces"
CATALOGUE = sorted(SCENARIO_DIR.glob("*.yaml"))


@pytest.fixture
def write_scenario(tmp_path):
    """Write YAML text (dedented) to a file and return its path."""

    def write(text: str, name: str = "case.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
