"""The JAX engine against the exact engine: the catalogue, mixed stiff/non-stiff batches, padding, the API.

The exact engine (``harness.model``) is the reference; it equals NEST bit for bit on the catalogue
(``test_catalogue_parity``). The bar here is bit-identity too: identical spikes and 0.0 difference.
Shapes are kept to a few buckets so that compilation stays a small part of the test time.
"""
import jax
import numpy as np
import pytest
from conftest import SINGLE_NEURON_CATALOGUE as CATALOGUE  # the networks: tests/test_jax_network.py

from harness.backends.jax import run_python_jax, run_python_jax_many
from harness.jax_engine import JaxPopulation, sharding
from harness.jax_engine.buckets import bucket
from harness.model import Population, PortsFrozenError
from harness.scenario.schema import load_scenario

pytestmark = pytest.mark.jax


def max_relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(a == b, 0.0, np.abs(a - b) / scale)
    return float(rel.max(initial=0.0))


@pytest.fixture(scope="module")
def catalogue_runs():
    scenarios = [load_scenario(p) for p in CATALOGUE]
    return scenarios, run_python_jax_many(scenarios)


@pytest.mark.parametrize("index", range(len(CATALOGUE)), ids=[p.stem for p in CATALOGUE])
def test_catalogue_scenario_is_bit_identical_to_the_exact_engine(catalogue_runs, exact_engine, index):
    scenarios, runs = catalogue_runs
    scenario, candidate = scenarios[index], runs[index]
    reference = exact_engine(CATALOGUE[index])  # shared with test_catalogue_parity
    assert np.array_equal(candidate.spike_steps, reference.spike_steps)
    for name in scenario.record:
        assert max_relative_difference(candidate[name], reference[name]) == 0.0, name
    assert candidate.equals_exactly(reference)


def test_a_scenario_alone_equals_the_same_scenario_in_a_batch(catalogue_runs):
    scenarios, runs = catalogue_runs
    i = [s.name for s in scenarios].index("nmda_one_port")
    assert run_python_jax(scenarios[i]).equals_exactly(runs[i])


STEPS = 120


def mixed_population(cls, members):
    """Neurons at dt = 1 ms: tight-tolerance neurons with huge inputs (many rejected tries) and easy ones."""
    tol = np.array([1e-8 if stiff else 1e-3 for stiff in members])
    pop = cls(len(members), resolution=1.0, params={"gsl_error_tol": tol})
    for i, stiff in enumerate(members):
        pop.add_nmda_port(2e3 if stiff else 0.5, neurons=[i])
    return pop


def mixed_inputs(members):
    n = len(members)
    k = np.arange(STEPS)[:, None]
    stiff = np.array(members)[None, :]
    ampa = np.where((k % 17 == 3), np.where(stiff, 3e4, 2.0), 0.0)
    nmda = np.where((k % 29 == 5), 1.0, 0.0)[..., None] * np.ones((1, n, 1))
    current = np.where(stiff, 800.0, 300.0) * np.ones((STEPS, n))
    return dict(ampa=ampa, nmda=nmda, current=current)


@pytest.mark.slow
def test_stiff_and_easy_neurons_in_one_batch_equal_each_neuron_alone():
    members = [True, False, False, True, False]
    batch = mixed_population(JaxPopulation, members).run(STEPS, **mixed_inputs(members))
    exact = mixed_population(Population, members).run(STEPS, **mixed_inputs(members))
    for name in exact.traces:
        assert np.array_equal(batch.traces[name], exact.traces[name]), name
    assert np.array_equal(batch.spike_stamps, exact.spike_stamps)
    assert np.array_equal(batch.spike_neurons, exact.spike_neurons)
    for i in (0, 1):  # one stiff, one easy neuron, simulated without the others
        alone = mixed_population(JaxPopulation, [members[i]])
        inputs = {k: v[:, i:i + 1] for k, v in mixed_inputs(members).items()}
        rec = alone.run(STEPS, **inputs)
        for name in rec.traces:
            assert np.array_equal(rec.traces[name][:, 0], batch.traces[name][:, i]), (i, name)
    # The stiff neurons really are stiff (retried tries every step on average), the easy ones never retry.
    exact_pop = mixed_population(Population, members)
    exact_pop.run(STEPS, **mixed_inputs(members))
    tries, rejections = exact_pop.integrator_counts
    assert rejections[0] > STEPS and rejections[3] > STEPS and rejections[1] == rejections[2] == 0


@pytest.mark.slow
@pytest.mark.parametrize("tile_values", [sharding.CACHE_VALUES_PER_TILE, 100], ids=["shards", "shards-and-tiles"])
def test_sharded_population_equals_the_exact_engine(monkeypatch, tile_values):
    """130 neurons (bucket 144) run as several shards, each with its own sub-step loop, and (with a tile size
    lowered to force it) each shard as tiles run one after the other: stiff neurons in some shards and tiles,
    none in others, recorded in an order that crosses their boundaries, then stepped one by one."""
    monkeypatch.setattr(sharding, "CACHE_VALUES_PER_TILE", tile_values)
    members = [i % 37 == 0 for i in range(130)]
    jax_pop, exact_pop = mixed_population(JaxPopulation, members), mixed_population(Population, members)
    chosen = [129, 3, 64, 0, 37, 100, 3]
    got = jax_pop.run(STEPS, **mixed_inputs(members), record_neurons=chosen)
    expected = exact_pop.run(STEPS, **mixed_inputs(members))
    assert jax_pop.shards >= 2 and (jax_pop.tiles > 1) == (tile_values < 400)
    for name in expected.traces:
        assert np.array_equal(got.traces[name], expected.traces[name][:, chosen]), name
    assert np.array_equal(got.spike_stamps, expected.spike_stamps)
    assert np.array_equal(got.spike_neurons, expected.spike_neurons)
    for k in range(5):
        kwargs = dict(ampa=np.where(np.array(members), 3e4, 2.0) if k == 2 else 0.0, current=500.0)
        assert np.array_equal(jax_pop.step(**kwargs), exact_pop.step(**kwargs))
        for a, b in zip(jax_pop.recordables().values(), exact_pop.recordables().values()):
            assert np.array_equal(a, b)
    assert np.array_equal(jax_pop.V_m, exact_pop.V_m)
    assert np.array_equal(jax_pop.integration_step, exact_pop.integration_step)


def test_recording_index_maps_chosen_neurons_to_their_shards():
    chosen = np.array([129, 3, 64, 0, 37, 100, 3])
    index, columns = sharding.local_record_index(chosen, n_padded=160, parts=4)  # 40 neurons per part
    per_shard = index.size // 4
    owner = columns // per_shard
    assert np.array_equal(owner, chosen // 40)
    assert np.array_equal(owner * 40 + index[columns], chosen)  # every column reads back its neuron
    assert per_shard == 4  # shard 0 records 3, 0, 37 and 3 again; the other shards pad to 4 slots


def test_partition_divides_the_population_and_keeps_tiles_in_the_cache():
    devices = jax.device_count()
    assert devices == sharding.host_device_count() >= 2  # platform.configure asked XLA for the host devices
    for n_padded, values in [(1, 5), (5, 23), (20, 5), (160, 5), (1024, 23), (112, 227), (102_400, 23)]:
        shards, tiles = sharding.partition(n_padded, values)
        assert 1 <= shards <= devices and n_padded % (shards * tiles) == 0
        assert shards == 1 or n_padded // shards * values >= sharding.MIN_VALUES_PER_SHARD
        assert tiles == 1 or n_padded // (shards * tiles) * values <= sharding.CACHE_VALUES_PER_TILE
    assert sharding.partition(1, 5) == (1, 1)
    assert sharding.partition(1024, 23)[0] == 2 ** int(np.log2(devices))  # as many shards as devices allow
    assert sharding.partition(102_400, 23)[1] > 1  # 2.4 million values: tiles


def test_padding_ports_and_neurons_changes_no_bit():
    """17 neurons (bucket 18) with 1 to 17 ports (bucket 18) against the exact engine, which pads nothing."""
    n = 17
    assert bucket(n) > n  # the test is about padding
    rng = np.random.default_rng(2)

    def build(cls):
        pop = cls(n, params={"g_L": rng_params}, V_m=-62.0)
        for i in range(n):
            for j in range(i + 1):
                pop.add_nmda_port(0.3 + 0.7 * j, neurons=[i])
        return pop

    rng_params = rng.uniform(15.0, 35.0, n)
    steps = 80
    nmda = (rng.random((steps, n, n)) < 0.05) * np.tril(np.ones((n, n)))[None]
    inputs = dict(ampa=(rng.random((steps, n)) < 0.05) * 4.0, nmda=nmda, current=np.full(steps, 450.0))
    got, expected = build(JaxPopulation).run(steps, **inputs), build(Population).run(steps, **inputs)
    for name in expected.traces:
        assert np.array_equal(got.traces[name], expected.traces[name]), name


def test_per_step_api_equals_the_exact_engine_and_exposes_the_state():
    pops = [cls(2, params={"t_ref": 0.5}) for cls in (JaxPopulation, Population)]
    for pop in pops:
        pop.add_nmda_port(1.5)
    for k in range(40):
        kwargs = dict(ampa=[6.0, 0.0] if k % 7 == 0 else 0.0, nmda=1.0 if k == 3 else 0.0, current=[700.0, 200.0])
        spiked = [pop.step(**kwargs) for pop in pops]
        assert np.array_equal(*spiked)
        assert all(np.array_equal(a, b) for a, b in zip(pops[0].recordables().values(), pops[1].recordables().values()))
    jax_pop, exact_pop = pops
    for name in ("V_m", "s_AMPA", "s_GABA", "integration_step", "refractory_left"):
        assert np.array_equal(getattr(jax_pop, name), getattr(exact_pop, name)), name
    assert all(np.array_equal(a, b) for a, b in zip(jax_pop.nmda_state, exact_pop.nmda_state))
    assert all(np.array_equal(a, b) for a, b in zip(jax_pop.spikes(), exact_pop.spikes()))


def test_the_engine_seam_hands_out_read_only_host_states_on_which_both_engines_agree():
    """The JAX engine keeps its device state private: what it hands out is a read-only host copy (an in-place
    write raises instead of silently changing nothing), and it equals the exact engine's after the same steps."""
    pops = [cls(2, params={"t_ref": 0.3, "gsl_error_tol": 1e-9}) for cls in (JaxPopulation, Population)]
    for pop in pops:
        pop.add_nmda_port(0.8)
    for k in range(30):
        for pop in pops:
            pop.step(ampa=5.0 if k % 9 == 0 else 0.0, nmda=[[1.0], [0.0]] if k == 2 else 0.0, current=[800.0, 300.0])
    jax_pop, exact_pop = pops
    assert not hasattr(jax_pop, "_state")  # the property whose setter padded and sharded is gone
    held = jax_pop.host_state()
    for field in ("y", "h", "refractory_left", "I_stim"):
        for state in (held, exact_pop.host_state()):
            with pytest.raises(ValueError, match="read-only"):
                getattr(state, field)[0] = 1
        assert np.array_equal(getattr(held, field), getattr(exact_pop.host_state(), field)), field
    assert held.tries is None and exact_pop.host_state().rejections.sum() > 0  # tight tolerance: retries
    V = jax_pop.V_m
    V[:] = 0.0  # an accessor's array belongs to the caller
    assert np.array_equal(jax_pop.V_m, held.y[:, 0]) and np.array_equal(jax_pop.V_m, exact_pop.V_m)
    for pop in pops:
        pop.step(current=[800.0, 300.0])
    assert not np.array_equal(held.y, jax_pop.host_state().y)  # a copy, not a view of the engine's state
    for name in ("V_m", "s_AMPA", "s_GABA", "integration_step", "refractory_left"):
        assert np.array_equal(getattr(jax_pop, name), getattr(exact_pop, name)), name
    assert all(np.array_equal(a, b) for a, b in zip(jax_pop.nmda_state, exact_pop.nmda_state))


def test_recording_can_be_limited_to_chosen_neurons_and_variables():
    pop = JaxPopulation(4)
    rec = pop.run(30, current=np.full(30, 900.0), record=("V_m",), record_neurons=[3, 1])
    full = Population(4).run(30, current=np.full(30, 900.0))
    assert list(rec.traces) == ["V_m"] and rec.traces["V_m"].shape == (30, 2)
    assert np.array_equal(rec.traces["V_m"], full.traces["V_m"][:, [3, 1]])


def test_per_step_api_errors_match_the_exact_engine():
    pop = JaxPopulation(2)
    pop.add_nmda_port(1.0, neurons=[0])
    with pytest.raises(ValueError, match="port that the neuron does not have"):
        pop.step(nmda=[[0.0], [1.0]])
    pop.step(nmda=[[1.0], [0.0]])
    with pytest.raises(PortsFrozenError):
        pop.add_nmda_port(2.0)
    with pytest.raises(PortsFrozenError):
        pop.set_nmda_weight(0, 0, 3.0)
    with pytest.raises(RuntimeError, match="only before the first step"):
        pop.set_state(V_m=-60.0)
    with pytest.raises(ValueError, match="unknown recordable"):
        pop.run(3, record=("V_th",))
    with pytest.raises(ValueError, match="shape"):
        pop.run(3, ampa=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="V_reset < V_th"):
        pop.set_params(V_reset=-50.0)
    with pytest.raises(IndexError):
        pop.run(3, record_neurons=[5])
    with pytest.raises(NotImplementedError):
        pop.integrator_counts
    with pytest.raises(ValueError, match="at least one neuron"):
        JaxPopulation(0)


def test_segment_program_is_written_to_the_persistent_cache(tmp_path):
    """Without host callbacks in it, a new process loads the engine's program instead of compiling it."""
    from jax._src import compilation_cache

    from harness.jax_engine import platform

    jax.clear_caches()
    compilation_cache.reset_cache()
    jax.config.update("jax_compilation_cache_dir", str(tmp_path))
    try:
        pop = JaxPopulation(3, resolution=0.1, params={"gsl_error_tol": 1e-9})  # tight: pow is called
        pop.add_nmda_port(1.0)
        pop.run(20, current=np.full((20, 1), 900.0), record=("V_m",))
    finally:
        compilation_cache.reset_cache()
        jax.config.update("jax_compilation_cache_dir", str(platform.CACHE_DIR))
    assert list(tmp_path.glob("jit_run_segment-*"))
