"""Shared paths and fixtures, and the session's set-up that keeps the suite independent of the machine.

Markers (registered in pyproject.toml, docs/testing.md): ``nest`` (runs live NEST, here or in a child
process), ``jax`` (starts JAX), ``browser`` (needs Chromium), ``slow`` (a long run). A test that calls NEST
in this process without the ``nest`` marker fails, so ``-m "not nest"`` stays true on a machine without NEST.
"""
import os
import textwrap
from functools import lru_cache
from pathlib import Path

import pytest

from harness.traces import references

REPO = Path(__file__).resolve().parent.parent
SCENARIO_DIR = REPO / "scenarios"
REFERENCE_DIR = REPO / references.REFERENCE_DIR
CATALOGUE = sorted(SCENARIO_DIR.glob("*.yaml"))
SINGLE_NEURON_CATALOGUE = [p for p in CATALOGUE if not p.stem.startswith("net_")]
NETWORK_CATALOGUE = [p for p in CATALOGUE if p.stem.startswith("net_")]
# `make check` judges two networks against NEST (the example and the summation-order probe, which
# alone catches a wrong order of additions) and compiles the JAX engine for none (every network has
# programs of its own shapes); `make test` judges them all.
CHECK_NETWORKS = {"net_nmda_pool_asymmetric", "net_summation_order"}


def only_in_make_test(stem: str) -> bool:
    """Catalogue scenarios whose runs `make check` leaves to `make test` (marked slow)."""
    return stem.startswith("net_") and stem not in CHECK_NETWORKS


def catalogue_params(paths, slow=lambda stem: False):
    """``paths`` as pytest parameters named by their stems, ``slow`` ones marked so."""
    return [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if slow(p.stem) else []) for p in paths]

# The JAX engine asks XLA for two host devices per core; with the core count fixed for the tests, every
# machine compiles and runs the same sharded programs (a 16-core machine would otherwise use 32 devices).
# Set before any test module imports harness.jax_engine; a value the caller exported wins.
TEST_JAX_SHARDS = "4"
os.environ.setdefault("NEST_PARITY_JAX_SHARDS", TEST_JAX_SHARDS)


@pytest.fixture
def write_scenario(tmp_path):
    """Write YAML text (dedented) to a file and return its path."""

    def write(text: str, name: str = "case.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


# ------------------------------------------------------------------ catalogue runs shared by the session
# Several modules judge the same catalogue scenario against live NEST or the exact engine. Each run is
# made once per session (per worker under pytest-xdist) and handed out read-only: a test must not change
# the traces it gets.
@pytest.fixture(scope="session")
def live_nest():
    """``live_nest(path)``: the catalogue scenario at ``path`` run in live NEST, once per session."""
    from harness.backends.nest import run_nest
    from harness.scenario.schema import load_scenario

    return lru_cache(maxsize=None)(lambda path: run_nest(load_scenario(path)))


@pytest.fixture(scope="session")
def exact_engine():
    """``exact_engine(path)``: the catalogue scenario at ``path`` run by ``harness.model``, once per session."""
    from harness.backends.python import run_python
    from harness.scenario.schema import load_scenario

    return lru_cache(maxsize=None)(lambda path: run_python(load_scenario(path)))


# ------------------------------------------------------------------ markers stay true
@pytest.fixture(autouse=True)
def _nest_only_where_marked(request, monkeypatch):
    """A test without the ``nest`` marker that reaches NEST in this process fails with a clear message."""
    if request.node.get_closest_marker("nest") is not None:
        return
    from harness.backends import nest as nest_backend

    def refuse():
        pytest.fail(f"{request.node.nodeid} runs NEST but is not marked `nest` (pytest.mark.nest)", pytrace=False)

    monkeypatch.setattr(nest_backend, "nest_module", refuse)
