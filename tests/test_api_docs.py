"""docs/api.md's examples run as written: every ```python block, in order, in one namespace, from the
repository's root (live NEST: the page's first example is NEST against the exact engine)."""
import re

import pytest
from conftest import REPO

PAGE = REPO / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def blocks() -> list[str]:
    return BLOCK.findall(PAGE.read_text())


def test_the_page_has_the_three_line_example_first():
    first = blocks()[0].strip().splitlines()
    code = [line for line in first if line.strip() and not line.startswith("#")]
    assert len(code) == 3 and "compare(" in code[1] and "traces_dataframe(\"V_m\")" in code[2]


@pytest.mark.nest
def test_every_python_block_of_the_page_runs(monkeypatch):
    monkeypatch.chdir(REPO)
    namespace = {"__name__": "api_docs"}
    found = blocks()
    assert len(found) >= 8
    for i, code in enumerate(found):
        try:
            exec(compile(code, f"{PAGE}:block {i + 1}", "exec"), namespace)
        except Exception as exc:  # name the block: a traceback into exec'd text is hard to place
            raise AssertionError(f"docs/api.md, python block {i + 1} failed: {type(exc).__name__}: {exc}\n{code}") \
                from exc
