"""Hypothesis strategies that generate small network scenarios, as plain dicts in the YAML schema.

Like ``strategies``, they produce what a user writes in a scenario file (``populations:``, ``connections:``,
``inputs:`` with targets, ``record:``), so every case goes through the real validator and a failing one is
written back as a file unchanged. Public::

    from hypothesis import given
    from harness.fuzz.network_strategies import network_dicts

    @given(network_dicts())
    def test_something(raw): ...

What is stressed, besides what a network has that one neuron has not:

* 2-12 neurons in 1-3 populations; each parameter absent, one value for the population, or one per neuron,
  so that neighbours in one population differ; gsl_error_tol from 1e-3 down to 1e-8 per neuron, and
  synaptic weights from 1e-6 to 1000 nS, so that stiff and non-stiff neurons step side by side;
* every rule (all_to_all with and without autapses, one_to_one, fixed_indegree, fixed_outdegree,
  pairwise_bernoulli, the random ones seeded), between populations and single neurons (``E[1]``), onto
  AMPA, GABA and NMDA in any order (NMDA port numbers follow the expanded list), with one weight or delay
  for the rule or one per connection;
* delays of one to several min_delay and between multiples of it: a scenario draws a delay unit (at most
  the recorders' 1 ms) and delays from one to five units, so that min_delay slices, delivery and ring-buffer
  slots of several slices meet;
* external drive so that neurons spike: poisson_spikes with per-target rates and weights, spike_generator
  trains onto one neuron or a population, dc_generator with per-target amplitudes; 20-150 ms, one Simulate
  call or 2-4 chunks;
* multapses of unequal weights (fixed_in/outdegree with multapses, per-connection weights, and now and then
  one rule repeated with another weight), whose sum into one slot depends on the order of addition.

Every example shrinks towards one population of 2 neurons, 20 ms, few connections and inputs.
"""
from __future__ import annotations

import math

from hypothesis import strategies as st

from harness import grid
from harness.fuzz.strategies import chunkings, grid_ms
from harness.model.parameters import DEFAULTS
from harness.scenario.populations import label_of
from harness.scenario.types import PopulationSpec

RESOLUTIONS_MS = (0.1, 0.25, 0.5, 1.0)  # 0.1 first: hypothesis shrinks towards it
POPULATION_NAMES = ("E", "I", "S")
MAX_NEURONS = 12
DURATION_MS = (20.0, 150.0)
TOLERANCES = (1e-3, 1e-4, 1e-5, 1e-6, 1e-8)  # NEST's default first; 1e-8 with big weights is stiff
RULES = ("all_to_all", "one_to_one", "fixed_indegree", "fixed_outdegree", "pairwise_bernoulli")
RECEPTORS = ("AMPA", "GABA", "NMDA")
MAX_RULES = 6
MAX_INPUTS = 5
MAX_DEGREE = 4
RECORDER_DELAY_MS = 1.0  # NEST's default delay of the recorders' connections: the largest min_delay


def _between(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


# ------------------------------------------------------------------------------------------ populations
@st.composite
def population_sizes(draw) -> list[int]:
    """1-3 population sizes, each >= 1, 2-MAX_NEURONS neurons in all."""
    k = draw(st.integers(1, len(POPULATION_NAMES)))
    sizes = [draw(st.integers(1, MAX_NEURONS - (k - 1))) for _ in range(k)]
    while sum(sizes) > MAX_NEURONS:  # trim the largest until it fits (keeps every size >= 1)
        sizes[sizes.index(max(sizes))] -= 1
    if sum(sizes) < 2:
        sizes[0] += 1
    return sizes


def _shared_or_each(draw, n: int, values):
    """One value for the population or a list of one per neuron (neighbours that differ)."""
    if n > 1 and draw(st.booleans()):
        return draw(st.lists(values, min_size=n, max_size=n))
    return draw(values)


@st.composite
def population_params(draw, n: int) -> dict:
    """A population's ``params``: each entry absent, shared or per neuron, within NEST's rules."""
    ranges = {
        "gsl_error_tol": st.sampled_from(TOLERANCES),
        "C_m": _between(100.0, 1000.0), "g_L": _between(5.0, 50.0),
        "t_ref": st.integers(0, 4000).map(lambda tics: grid_ms(tics, 1)),  # whole µs: off the grid too
        "tau_AMPA": _between(0.5, 10.0), "tau_GABA": _between(1.0, 20.0),
        "tau_rise_NMDA": _between(0.5, 10.0), "tau_decay_NMDA": _between(20.0, 200.0),
        "alpha": _between(0.1, 2.0), "E_L": _between(-80.0, -60.0),
    }
    params = {k: _shared_or_each(draw, n, v) for k, v in ranges.items() if draw(st.booleans())}
    if draw(st.booleans()):
        params["V_th"] = _shared_or_each(draw, n, _between(-60.0, -45.0))
    v_th = params.get("V_th", DEFAULTS["V_th"])
    lowest = min(v_th) if isinstance(v_th, list) else v_th
    # NEST's default V_reset (-60 mV) is not below a low V_th: then V_reset must be given, below every V_th.
    if lowest - 0.5 <= DEFAULTS["V_reset"] or draw(st.booleans()):
        params["V_reset"] = _shared_or_each(draw, n, _between(-80.0, lowest - 0.5))
    return params


@st.composite
def population_initial(draw, n: int) -> dict:
    ranges = {"V_m": _between(-75.0, -50.0), "s_AMPA": _between(0.0, 2.0), "s_GABA": _between(0.0, 2.0)}
    return {k: _shared_or_each(draw, n, v) for k, v in ranges.items() if draw(st.booleans())}


# ------------------------------------------------------------------------------------------ targets
def _groups(specs: list[PopulationSpec]) -> list[tuple[str, tuple[int, ...]]]:
    """Every name a connection or input may use, with the neuron indices it stands for."""
    out = [(p.name, tuple(range(p.start, p.start + p.n))) for p in specs]
    out += [(label_of(i, specs), (i,)) for p in specs for i in range(p.start, p.start + p.n)]
    return out


def _weights(receptor: str):
    """Typical, small, tiny, negative and, one time in ten, big weights (nS); NMDA's multiply s_j in the
    right-hand side, so they are smaller.

    The largest, 1000 nS onto 100 pF, is 10 /ms, far inside the schema's bound (1e5 /ms) yet stiff: a neuron
    at gsl_error_tol 1e-8 then takes up to ~100 RKF45 tries a step next to one that takes one. Big weights
    are rare because such a neuron costs the exact engine about 0.1 ms a try (NEST: a few µs).
    """
    if receptor == "NMDA":
        usual = st.one_of(_between(0.01, 3.0), _between(0.0, 0.5), _between(-1.0, 0.0))
        big = _between(5.0, 50.0)
    else:
        usual = st.one_of(_between(0.5, 60.0), _between(0.0, 5.0), _between(1e-6, 1e-3), _between(-10.0, 0.0))
        big = _between(100.0, 1000.0)
    return st.integers(0, 9).flatmap(lambda roll: big if roll == 9 else usual)


def _delays(unit: int):
    """Delays in steps: the unit itself, whole multiples of it, or between multiples (1-5 units)."""
    between = st.integers(unit + 1, 5 * unit + unit - 1) if unit > 1 else st.integers(2, 5)
    return st.one_of(st.just(unit), st.integers(2, 5).map(lambda k: k * unit), between)


def _expanded_count(rule: str, sources, targets, entry: dict) -> int | None:
    """How many connections the rule makes (None: drawn, as for pairwise_bernoulli)."""
    autapses = entry.get("allow_autapses", True)
    if rule == "all_to_all":
        return sum(len(sources) - (0 if autapses or t not in sources else 1) for t in targets)
    if rule == "one_to_one":
        return len(sources)
    if rule == "fixed_indegree":
        return len(targets) * entry["indegree"]
    if rule == "fixed_outdegree":
        return len(sources) * entry["outdegree"]
    return None


def _allowed_partners(fixed, drawn, autapses: bool) -> int:
    """The fewest partners any neuron on the fixed side may draw (NEST's rule for fixed_in/outdegree)."""
    return min(len(drawn) - (0 if autapses or node not in drawn else 1) for node in fixed)


@st.composite
def connection_dicts(draw, specs: list[PopulationSpec], tps: int, unit: int) -> dict:
    """One rule of ``connections:``, valid for these populations (NEST would accept it)."""
    groups = _groups(specs)
    rule = draw(st.sampled_from(RULES))
    (src_name, sources), (tgt_name, targets) = draw(st.sampled_from(groups)), draw(st.sampled_from(groups))
    if rule == "one_to_one" and len(sources) != len(targets):
        tgt_name, targets = src_name, sources  # an equal-sized pair: the group onto itself (autapses!)
    entry = {"source": src_name, "target": tgt_name, "rule": rule, "receptor": draw(st.sampled_from(RECEPTORS))}
    if rule != "one_to_one" and draw(st.booleans()):
        entry["allow_autapses"] = draw(st.booleans())
    autapses = entry.get("allow_autapses", True)
    if rule in ("fixed_indegree", "fixed_outdegree"):
        key, fixed, drawn = ("indegree", targets, sources) if rule == "fixed_indegree" else ("outdegree", sources,
                                                                                           targets)
        if draw(st.booleans()):
            entry["allow_multapses"] = draw(st.booleans())
        allowed = _allowed_partners(fixed, drawn, autapses)
        most = MAX_DEGREE if entry.get("allow_multapses", True) else min(MAX_DEGREE, allowed)
        entry[key] = draw(st.integers(0, most)) if allowed else 0
        entry["seed"] = draw(st.integers(0, 2 ** 16))
    elif rule == "pairwise_bernoulli":
        entry["p"] = draw(st.sampled_from([0.0, 0.25, 0.5, 0.8, 1.0]) | _between(0.0, 1.0))
        entry["seed"] = draw(st.integers(0, 2 ** 16))
    count = _expanded_count(rule, sources, targets, entry)
    weights, delays = _weights(entry["receptor"]), _delays(unit)
    if count and count > 1 and draw(st.booleans()):  # one value per connection, in the expansion order
        entry["weight"] = draw(st.lists(weights, min_size=count, max_size=count))
    elif draw(st.integers(0, 4)):  # absent now and then: NEST's default weight 1
        entry["weight"] = draw(weights)
    if count and count > 1 and draw(st.booleans()):
        entry["delay"] = [grid_ms(d, tps) for d in draw(st.lists(delays, min_size=count, max_size=count))]
    else:
        entry["delay"] = grid_ms(draw(delays), tps)
    return entry


# ------------------------------------------------------------------------------------------ inputs
def _input_delay(draw, entry: dict, tps: int, unit: int) -> None:
    """One to several units; with a unit of one step, now and then absent (NEST's default: one step)."""
    if unit > 1 or draw(st.integers(0, 3)):
        entry["delay"] = grid_ms(draw(_delays(unit)), tps)


@st.composite
def network_input_dicts(draw, specs: list[PopulationSpec], tps: int, n_steps: int, unit: int) -> dict:
    """One device with a target: poisson_spikes, spike_generator or dc_generator, strong enough to fire."""
    name, neurons = draw(st.sampled_from(_groups(specs)))
    k = len(neurons)
    device = draw(st.sampled_from(("poisson_spikes", "spike_generator", "dc_generator")))
    entry = {"device": device, "target": name}
    per_target = lambda values: draw(st.lists(values, min_size=k, max_size=k)) if k > 1 and draw(  # noqa: E731
        st.booleans()) else draw(values)
    if device == "poisson_spikes":
        entry["receptor"] = draw(st.sampled_from(RECEPTORS))
        entry["weight"] = per_target(_between(5.0, 40.0) if entry["receptor"] != "NMDA" else _between(0.1, 3.0))
        entry["rate"] = per_target(_between(500.0, 8000.0) | st.just(0.0))
        entry["seed"] = draw(st.integers(0, 2 ** 16))
    elif device == "spike_generator":
        entry["receptor"] = draw(st.sampled_from(RECEPTORS))
        entry["weight"] = per_target(_weights(entry["receptor"]))
        stamps = sorted(draw(st.lists(st.integers(1, n_steps), min_size=1, max_size=8)))
        entry["spike_times"] = [grid_ms(s, tps) for s in stamps]
        if draw(st.booleans()):
            entry["spike_multiplicities"] = draw(st.lists(st.integers(1, 5), min_size=len(stamps),
                                                          max_size=len(stamps)))
    else:
        entry["amplitude"] = per_target(_between(200.0, 1500.0) | _between(-300.0, 200.0))
        if draw(st.booleans()):
            start = draw(st.integers(0, n_steps))
            entry["start"] = grid_ms(start, tps)
            if draw(st.booleans()):
                entry["stop"] = grid_ms(draw(st.integers(start, n_steps)), tps)
    _input_delay(draw, entry, tps, unit)
    return entry


@st.composite
def drive_dicts(draw, specs: list[PopulationSpec], tps: int, unit: int) -> dict:
    """A population's external drive, strong enough that its neurons fire within the first 20 ms: AMPA
    Poisson input (5 nS at 1 kHz already gives about 600 pA at rest) or a suprathreshold DC current."""
    spec = draw(st.sampled_from(specs))
    k = spec.n
    per_target = lambda values: draw(st.lists(values, min_size=k, max_size=k)) if k > 1 and draw(  # noqa: E731
        st.booleans()) else draw(values)
    if draw(st.integers(0, 2)):
        entry = {"device": "poisson_spikes", "target": spec.name, "receptor": "AMPA",
                 "weight": per_target(_between(5.0, 30.0)), "rate": per_target(_between(1000.0, 6000.0)),
                 "seed": draw(st.integers(0, 2 ** 16))}
    else:
        entry = {"device": "dc_generator", "target": spec.name, "amplitude": per_target(_between(500.0, 1500.0))}
    _input_delay(draw, entry, tps, unit)
    return entry


# ------------------------------------------------------------------------------------------ record
@st.composite
def record_dicts(draw, specs: list[PopulationSpec]):
    """None (every neuron, every variable) or a selection of neurons and variables."""
    if not draw(st.integers(0, 3)):
        names = draw(st.lists(st.sampled_from([g for g, _ in _groups(specs)]), min_size=1, max_size=3, unique=True))
        variables = draw(st.lists(st.sampled_from(("V_m", "s_AMPA", "s_GABA", "s_NMDA", "I_AMPA", "I_GABA",
                                                   "I_NMDA")), min_size=1, max_size=7, unique=True))
        return {"neurons": names, "variables": variables}
    return None


# ------------------------------------------------------------------------------------------ scenarios
@st.composite
def network_dicts(draw, name: str = "fuzz_network", duration_ms: tuple[float, float] = DURATION_MS) -> dict:
    """One valid network scenario in the YAML schema."""
    res = draw(st.sampled_from(RESOLUTIONS_MS))
    tps = grid.ms_to_tics(res)
    first = max(1, math.ceil(duration_ms[0] * grid.TICS_PER_MS / tps))
    last = max(first, int(duration_ms[1] * grid.TICS_PER_MS) // tps)
    # Half the examples within three times the shortest: the exact engine's cost grows with the steps.
    n_steps = draw(st.one_of(st.integers(first, min(last, 3 * first)), st.integers(first, last)))
    recorder = int(RECORDER_DELAY_MS * grid.TICS_PER_MS) // tps
    # The delay unit, min_delay if some delay equals it: mostly several steps, so that update calls span
    # several steps and delays fall between multiples of min_delay.
    unit = draw(st.one_of(st.integers(max(1, recorder // 2), max(1, recorder)), st.integers(1, max(1, recorder))))
    raw = {"name": name, "description": "generated by harness.fuzz.network_strategies",
           "resolution": grid_ms(1, tps), "duration": grid_ms(n_steps, tps)}
    chunks = draw(chunkings(n_steps))
    if chunks is not None:
        raw["simulate_chunks"] = [grid_ms(c, tps) for c in chunks]
    sizes = draw(population_sizes())
    specs, start, populations = [], 0, {}
    for pop_name, n in zip(POPULATION_NAMES, sizes):
        specs.append(PopulationSpec(pop_name, start, n))
        start += n
        block = {"n": n}
        params, initial = draw(population_params(n)), draw(population_initial(n))
        if params:
            block["params"] = params
        if initial:
            block["initial"] = initial
        populations[pop_name] = block
    raw["populations"] = populations
    # The list lengths drawn first, about uniformly: hypothesis's own lists are mostly one or two long.
    k = draw(st.integers(1, MAX_RULES))
    connections = draw(st.lists(connection_dicts(specs, tps, unit), min_size=k, max_size=k))
    if draw(st.integers(0, 3)) == 0:  # one rule again with another weight: multapses of unequal weights
        again = dict(draw(st.sampled_from(connections)))
        again["weight"] = draw(_weights(again["receptor"]))
        connections.insert(draw(st.integers(0, len(connections))), again)
    raw["connections"] = connections
    k = draw(st.integers(0, MAX_INPUTS - 1))
    inputs = [draw(drive_dicts(specs, tps, unit))]
    inputs += draw(st.lists(network_input_dicts(specs, tps, n_steps, unit), min_size=k, max_size=k))
    # Interleaved: generators are created (and sum into a slot) in list order, NMDA ports numbered in it.
    raw["inputs"] = draw(st.permutations(inputs))
    record = draw(record_dicts(specs))
    if record is not None:
        raw["record"] = record
    return raw
