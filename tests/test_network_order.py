"""NEST's order of additions in a network, against live NEST: the connector sort and the thread count.

Each case is decisive: irregular weights into slots that already hold a generator's value, so that another
order gives other last bits, and the test checks that the other order really differs (a negative control).
"""
import numpy as np
import pytest

from harness.backends.nest import nest_module, run_nest
from harness.model import Population
from harness.network import Network, delivery
from harness.network.connector_sort import sorted_order
from harness.scenario.fields import Problems
from harness.scenario.schema import parse_scenario
from harness.traces.provenance import base_provenance

pytestmark = pytest.mark.nest


def network(k: int, n_sources: int = 2, n_targets: int = 2, chunks=None):
    """Sources driven to spike, each target receiving k AMPA connections (multapses) of irregular weights,
    and a Poisson AMPA train of its own that fills many of the same slots earlier."""
    rng = np.random.default_rng(k)
    weights = [float(w) for w in rng.uniform(0.1, 3.0, n_targets * k).round(9)]
    raw = {"name": "order", "resolution": 0.1, "duration": 60.0,
           "populations": {"S": {"n": n_sources}, "T": {"n": n_targets}},
           "connections": [{"source": "S", "target": "T", "rule": "fixed_indegree", "indegree": k, "seed": 1,
                            "receptor": "AMPA", "weight": weights, "delay": 1.0},
                           {"source": "T", "target": "S", "rule": "all_to_all", "receptor": "GABA",
                            "weight": 0.37, "delay": 1.3}],
           "inputs": [{"device": "poisson_spikes", "target": "S", "receptor": "AMPA", "weight": 40.0,
                       "rate": 900.0, "seed": 3, "delay": 1.0},
                      {"device": "poisson_spikes", "target": "T", "receptor": "AMPA", "weight": 0.731,
                       "rate": 3000.0, "seed": 4, "delay": 3.0}],
           "record": {"variables": ["s_AMPA", "V_m"]}}
    if chunks:
        raw["simulate_chunks"] = chunks
    return parse_scenario(raw, Problems("order"))


def engine(scenario, threads=None):
    return Network(scenario, Population, threads=threads).run(base_provenance())


def test_multapses_follow_nests_unstable_connector_sort_not_creation_order(monkeypatch):
    scenario = network(40)  # 80 connections in one connector: pdqsort partitions, equal keys move
    reference = run_nest(scenario)
    assert len(reference.spike_steps) > 20
    assert engine(scenario).equals_exactly(reference)
    creation_order = lambda net, threads=1: np.lexsort((np.arange(len(net.connections)), net.connections.source))  # noqa: E731
    monkeypatch.setattr(delivery, "connector_order", creation_order)
    assert not engine(scenario).equals_exactly(reference)  # the sort matters here


@pytest.mark.parametrize("threads", [2, 3])
def test_the_engine_reproduces_nest_with_t_threads(threads):
    scenario = network(15, n_sources=7, n_targets=3, chunks=[33.3, 26.7])
    reference = run_nest(scenario, threads)
    assert engine(scenario, threads).equals_exactly(reference)
    assert not engine(scenario, 1).equals_exactly(reference)  # the thread count matters here


@pytest.mark.parametrize("size", [20, 60, 1500])
def test_the_connector_sort_gives_nests_port_order(size):
    nest = nest_module()
    nest.ResetKernel()
    neurons = nest.Create("iaf_bw_2001_exact", 6)
    sources = np.random.default_rng(size).integers(1, 7, size)
    nest.Connect(sources, np.full(size, 1), conn_spec="one_to_one",
                 syn_spec={"weight": np.arange(1.0, size + 1.0), "receptor_type": np.ones(size, int)})
    nest.Simulate(0.1)  # the sort happens at the first Simulate
    c = nest.GetConnections(target=neurons[0])
    by_port = np.argsort(np.asarray(c.get("port")))
    creation_index = np.asarray(c.get("weight"))[by_port].astype(int) - 1  # weight i + 1 marks connection i
    assert creation_index.tolist() == sorted_order(sources.tolist())
