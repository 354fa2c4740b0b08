"""docs/sweeps.md's table of the results dataset's columns is the one in harness.sweep.store, name for name."""
import re

from conftest import REPO

from harness.sweep.store import COLUMNS


def test_the_documented_columns_are_the_datasets():
    text = (REPO / "docs" / "sweeps.md").read_text()
    rows = re.findall(r"^\| `([a-z_]+)` \| ([a-z0-9]+) \| (.+) \|$", text, flags=re.M)
    assert [(name, kind, meaning) for name, kind, meaning in rows] == [
        (name, str(kind), meaning) for name, (kind, meaning) in COLUMNS.items()]
