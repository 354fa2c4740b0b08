"""docs/sweeps.md's table of the results dataset's columns is the one in harness.sweep.store, name for name."""
import re

from conftest import REPO

from harness.sweep.store import COLUMNS


def test_the_documented_columns_are_the_datasets():
    text = (REPO / "docs" / "sweeps.md").read_text()
    rows = re.findall(r"^\| `([a-z_]+)` \| ([a-z0-9]+) \| (.+) \|$", text, flags=re.M)
    assert [(name, kind, meaning) for name, kind, meaning in rows] == [
        (name, str(kind), meaning) for name, (kind, meaning) in COLUMNS.items()]


def test_the_readmes_sweep_file_loads_and_expands(tmp_path):
    from harness.sweep.expand import expand
    from harness.sweep.spec import load_sweep

    text = (REPO / "README.md").read_text().split("## Sweeps", 1)[1]
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = REPO / "sweeps" / f".readme-{tmp_path.name}.yaml"  # in sweeps/, where its relative bases point from
    path.write_text(block)
    try:
        sweep = load_sweep(path)
        variants = expand(sweep)
    finally:
        path.unlink()
    assert sweep.candidates == ("python", "python-jax") and sweep.batch_size == 32
    assert len(variants) == 2 * 3 * 3 * 2 * 3 * 3 * 2 * 5
    assert all(v.valid for v in variants)
