"""The schema is fuzzed too: no malformed scenario file ever produces a traceback; bad ones exit 2 with a message.

Three kinds of input: valid generated scenarios with one part replaced by garbage (a wrong type, a missing
key, an unknown key, an absurd number), arbitrary YAML documents, and arbitrary text.
"""
import contextlib
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.fuzz.strategies import scenario_dicts

SCHEMA_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                           suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Values a careless or hostile file may hold where something else is expected.
garbage_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10 ** 300, max_value=10 ** 400),
    st.floats(), st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 1e-3, 0.0001, 1e9]),
    st.text(max_size=12), st.sampled_from(["1e-3", "NaN", ".inf", "AMPA", "NMDA", "spike_generator", "", "0x10"]),
    st.dates(),
)
garbage = st.recursive(garbage_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4)),
    max_leaves=12)


def _paths(node, prefix=()):
    """Every key path into a nested dict/list structure."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


@st.composite
def broken_scenarios(draw):
    """A valid generated scenario with 1-3 mutations: replace a value, delete a key, or add a stray key."""
    raw = draw(scenario_dicts())
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(raw) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = raw
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(garbage)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "delete":
            parent.pop(path[-1])
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(garbage)
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def validate_text(text: str) -> tuple[int, str]:
    """``nest-parity validate`` on a file with this text; returns (exit code, stderr). Raises on a traceback."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "case.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(["validate", str(path)])
    return code, err.getvalue()


def assert_clean_outcome(code: int, err: str) -> None:
    assert code in (0, 2), f"exit {code}: {err}"
    if code == 2:
        assert err.strip(), "exit 2 without a message"
        assert "Traceback" not in err


@SCHEMA_SETTINGS
@given(broken_scenarios())
def test_broken_scenarios_exit_0_or_2_with_a_message(text):
    assert_clean_outcome(*validate_text(text))


@SCHEMA_SETTINGS
@given(garbage)
def test_arbitrary_yaml_documents_exit_2(document):
    code, err = validate_text(yaml.safe_dump(document, allow_unicode=True))
    assert code == 2 and err.strip(), "an arbitrary document without a duration can never be valid"
    assert "Traceback" not in err


@SCHEMA_SETTINGS
@given(st.text(max_size=200))
def test_arbitrary_text_exits_0_or_2(text):
    assert_clean_outcome(*validate_text(text))


@pytest.mark.parametrize("text", [
    "duration: [1.0\n",  # malformed YAML
    "\tduration: 1.0\n",  # a tab indent, which YAML forbids
    "duration: 1.0\ninputs: {device: spike_generator}\n",  # a mapping where a list belongs
    "duration: 1e999\n",  # overflows to inf
    "duration: 1.0\nparams: {C_m: 100000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000}\n",
    "? [a, b]\n: 1\n",  # a key YAML cannot hash
    "duration: 1.0\ninputs: [{device: [], amplitude: 0.0}]\n",  # an unhashable device name (was a TypeError)
    "duration: 1.0\ninputs: [{device: spike_generator, receptor: AMPA, spike_times: [1.0],\n"
    "  spike_multiplicities: [100000000000000000000]}]\n",  # beyond int64 (was an OverflowError)
    "duration: 1.0\nparams: {C_m: " + "9" * 400 + "}\n",  # an integer beyond any double (was OverflowError)
    # tics overflow:
    "duration: 1.0\ninputs: [{device: spike_generator, receptor: AMPA, spike_times: [1.0e306]}]\n",
    "duration: 1.0\ninputs: [{device: spike_generator, receptor: AMPA, delay: 1.0e306, spike_times: [1.0]}]\n",
    "duration: 1.0e9\ninputs: [{device: poisson_spikes, receptor: AMPA, rate: 1.0, seed: 1}]\n",  # 74 GB draw
    "- just\n- a list\n",
])
def test_malformed_files_exit_2_in_a_real_process(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "harness", "validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert str(path) in proc.stderr and "Traceback" not in proc.stderr


def test_binary_file_exits_2_in_a_real_process(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage\x80\x81")
    proc = subprocess.run([sys.executable, "-m", "harness", "validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip() and "Traceback" not in proc.stderr
