"""Hypothesis strategies that generate valid scenarios, as plain dicts in the YAML schema.

They produce what a user would write in a scenario file, not the normalised ``Scenario``, so that every
generated case goes through the real validator (``parse_scenario``) and a failing one can be written back
as a file unchanged. Public, for reuse in other test suites::

    from hypothesis import given
    from harness.fuzz.strategies import scenario_dicts

    @given(scenario_dicts())
    def test_something(raw): ...

All times are drawn as integer grid steps and converted with ``grid_ms``, whose decimal text parses back to
exactly that step (0.013 ms * 9 is written 0.117, not 0.11699999999999999). Durations are a few to a few
tens of ms, so that an example costs milliseconds to a second.

What is deliberately stressed: awkward resolutions (0.013, 0.025, 1.0 besides 0.1); 0-40 NMDA ports with
distinct (also negative) weights, interleaved with AMPA/GABA connections (port numbering follows connection
order); spike trains that collide in one step, within one generator and across generators, with
multiplicities 0..10 and mixed delays; DC and step currents that switch in the steps around those spikes;
tight integration tolerances; runs cut into several Simulate calls.
"""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from harness import grid
from harness.model.parameters import DEFAULTS

RESOLUTIONS_MS = (0.013, 0.025, 0.1, 1.0)
TOLERANCES = (1e-2, 1e-3, 1e-4, 1e-6, 1e-8)  # NEST's default 1e-3; 1e-8 at dt 1.0 is the stiff regime
MAX_STEPS = 600  # a cap per scenario so that fine grids stay cheap (0.013 ms: 7.8 ms)
MAX_DURATION_MS = 30.0
MAX_NMDA_PORTS = 40
MAX_DELAY_MS = 2.0


@dataclass(frozen=True)
class GridChoice:
    """The time grid shared by every scenario of one batch: tics per step, steps, Simulate chunks."""

    tics_per_step: int
    n_steps: int
    chunk_steps: tuple[int, ...] | None  # None: one Simulate call (no simulate_chunks key)


def grid_ms(steps: int, tics_per_step: int) -> float:
    """``steps`` grid steps in ms, written so that the float parses back onto exactly that step.

    The product is formed in integer tics and printed as a decimal with three places; ``float`` of that
    text is the double nearest the decimal value, which the validator maps back to the same tics.
    """
    tics = int(steps) * int(tics_per_step)
    if tics < 0:
        raise ValueError(f"negative time: {steps} steps")
    return float(f"{tics // grid.TICS_PER_MS}.{tics % grid.TICS_PER_MS:03d}")


# ------------------------------------------------------------------------------------------ grid
@st.composite
def grids(draw, resolutions=RESOLUTIONS_MS, max_steps: int = MAX_STEPS,
          max_duration_ms: float = MAX_DURATION_MS) -> GridChoice:
    tps = draw(st.sampled_from([grid.ms_to_tics(r) for r in resolutions]))
    longest = max(1, min(max_steps, int(max_duration_ms * grid.TICS_PER_MS) // tps))
    n_steps = draw(st.integers(1, longest))
    return GridChoice(tps, n_steps, draw(chunkings(n_steps)))


def chunkings(n_steps: int):
    """None (one Simulate) or 2-4 positive chunk lengths that sum to n_steps."""
    if n_steps < 2:
        return st.none()
    cuts = st.lists(st.integers(1, n_steps - 1), min_size=1, max_size=3, unique=True).map(sorted)
    as_chunks = cuts.map(lambda c: tuple(b - a for a, b in zip([0] + c, c + [n_steps])))
    return st.one_of(st.none(), as_chunks)


# ------------------------------------------------------------------------------------------ parameters
def _between(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _optional_entries(draw, entries: dict) -> dict:
    """Each entry present or absent (absent = NEST's default), so defaults are exercised too."""
    return {k: draw(v) for k, v in entries.items() if draw(st.booleans())}


@st.composite
def param_dicts(draw) -> dict:
    """Parameters within NEST's rules (V_reset < V_th, positive taus, ...) and physiological ranges."""
    params = _optional_entries(draw, {
        "E_L": _between(-80.0, -60.0), "E_ex": _between(-10.0, 10.0), "E_in": _between(-90.0, -60.0),
        "C_m": _between(100.0, 1000.0), "g_L": _between(5.0, 50.0),
        # t_ref is drawn in tics: off-grid values test NEST's round-up to whole steps.
        "t_ref": st.integers(0, 5000).map(lambda tics: grid_ms(tics, 1)),
        "tau_AMPA": _between(0.5, 10.0), "tau_GABA": _between(1.0, 20.0),
        "tau_rise_NMDA": _between(0.5, 10.0), "tau_decay_NMDA": _between(20.0, 200.0),
        "alpha": _between(0.1, 2.0), "conc_Mg2": _between(0.5, 2.0),
        "gsl_error_tol": st.sampled_from(TOLERANCES),
    })
    v_th = draw(st.one_of(st.none(), _between(-60.0, -45.0)))
    if v_th is not None:
        params["V_th"] = v_th
    threshold = v_th if v_th is not None else DEFAULTS["V_th"]
    # NEST's default V_reset (-60 mV) is not below a low V_th: then V_reset must be given.
    if threshold - 0.5 <= DEFAULTS["V_reset"] or draw(st.booleans()):
        params["V_reset"] = draw(_between(-80.0, threshold - 0.5))
    return params


@st.composite
def initial_dicts(draw) -> dict:
    return _optional_entries(draw, {"V_m": _between(-80.0, -45.0), "s_AMPA": _between(0.0, 2.0),
                                    "s_GABA": _between(0.0, 2.0)})


# ------------------------------------------------------------------------------------------ inputs
def _step_near(hot: list[int], n_steps: int):
    """A step at or right next to one of the 'hot' steps (where spikes collide), or anywhere."""
    near = st.tuples(st.sampled_from(hot), st.integers(-2, 2)).map(lambda t: min(max(t[0] + t[1], 1), n_steps))
    return st.one_of(st.sampled_from(hot), near, st.integers(1, n_steps))


@st.composite
def spike_generator_dicts(draw, g: GridChoice, hot: list[int], receptor: str, weights=None) -> dict:
    stamps = sorted(draw(st.lists(_step_near(hot, g.n_steps), min_size=0, max_size=6)))
    entry = {"device": "spike_generator", "receptor": receptor,
             "weight": draw(weights if weights is not None else _synaptic_weights()),
             "spike_times": [grid_ms(s, g.tics_per_step) for s in stamps]}
    _add_delay(draw, g, entry)
    if draw(st.booleans()):
        entry["spike_multiplicities"] = draw(st.lists(st.integers(0, 10), min_size=len(stamps),
                                                      max_size=len(stamps)))
    return entry


def _synaptic_weights():
    """Mostly non-negative AMPA/GABA weights (nS); now and then a negative one (NEST accepts it)."""
    return st.one_of(_between(0.0, 60.0), _between(0.0, 60.0), _between(-20.0, 0.0))


def _add_delay(draw, g: GridChoice, entry: dict) -> None:
    """No delay (NEST's default: the resolution) or 1..MAX_DELAY_MS worth of steps."""
    longest = max(1, int(MAX_DELAY_MS * grid.TICS_PER_MS) // g.tics_per_step)
    delay = draw(st.one_of(st.none(), st.integers(1, min(longest, 4)), st.integers(1, longest)))
    if delay is not None:
        entry["delay"] = grid_ms(delay, g.tics_per_step)


def _window(draw, g: GridChoice, hot: list[int], entry: dict) -> None:
    """Optional start/stop (ms, on the grid, stop >= start) placed near the hot steps."""
    start = draw(st.one_of(st.none(), st.just(0), _step_near(hot, g.n_steps)))
    stop = draw(st.one_of(st.none(), _step_near(hot, g.n_steps)))
    if start is not None and stop is not None and stop < start:
        start, stop = stop, start
    if start is not None:
        entry["start"] = grid_ms(start, g.tics_per_step)
    if stop is not None:
        entry["stop"] = grid_ms(stop, g.tics_per_step)


@st.composite
def dc_generator_dicts(draw, g: GridChoice, hot: list[int]) -> dict:
    entry = {"device": "dc_generator", "amplitude": draw(_between(-500.0, 1500.0))}
    if draw(st.booleans()):
        entry["weight"] = draw(_between(-2.0, 2.0))
    _add_delay(draw, g, entry)
    _window(draw, g, hot, entry)
    return entry


@st.composite
def step_current_generator_dicts(draw, g: GridChoice, hot: list[int]) -> dict:
    times = sorted(set(draw(st.lists(_step_near(hot, g.n_steps), min_size=1, max_size=4))))
    entry = {"device": "step_current_generator",
             "amplitude_times": [grid_ms(s, g.tics_per_step) for s in times],
             "amplitude_values": draw(st.lists(_between(-500.0, 1500.0), min_size=len(times),
                                               max_size=len(times)))}
    _add_delay(draw, g, entry)
    if draw(st.booleans()):
        _window(draw, g, hot, entry)
    return entry


def nmda_inputs(g: GridChoice, hot: list[int]):
    """0-40 NMDA ports (mostly few, which is cheap; sometimes many), with distinct weights, negative too,
    so that a port mix-up (wrong numbering) changes the result."""
    port = spike_generator_dicts(g, hot, "NMDA", weights=_between(-2.0, 10.0))
    by_weight = {"unique_by": lambda entry: entry["weight"]}
    return st.one_of(st.lists(port, max_size=3, **by_weight),
                     st.lists(port, min_size=4, max_size=MAX_NMDA_PORTS, **by_weight))


@st.composite
def input_lists(draw, g: GridChoice) -> list[dict]:
    hot = draw(st.lists(st.integers(1, g.n_steps), min_size=1, max_size=4))
    entries = draw(nmda_inputs(g, hot))
    fast_synapses = st.one_of(spike_generator_dicts(g, hot, "AMPA"), spike_generator_dicts(g, hot, "GABA"))
    entries += draw(st.lists(fast_synapses, max_size=4))
    entries += draw(st.lists(dc_generator_dicts(g, hot), max_size=2))
    entries += draw(st.lists(step_current_generator_dicts(g, hot), max_size=2))
    # Interleave: NMDA ports are numbered in connection order among all connections.
    return draw(st.permutations(entries)) if entries else []


# ------------------------------------------------------------------------------------------ scenarios
@st.composite
def scenario_dicts(draw, g: GridChoice | None = None, name: str = "fuzz_case") -> dict:
    """One valid scenario in the YAML schema; ``g`` fixes the grid (default: drawn)."""
    g = g if g is not None else draw(grids())
    raw = {"name": name, "description": "generated by harness.fuzz.strategies",
           "resolution": grid_ms(1, g.tics_per_step), "duration": grid_ms(g.n_steps, g.tics_per_step)}
    if g.chunk_steps is not None:
        raw["simulate_chunks"] = [grid_ms(c, g.tics_per_step) for c in g.chunk_steps]
    params, initial, inputs = draw(param_dicts()), draw(initial_dicts()), draw(input_lists(g))
    if params:
        raw["params"] = params
    if initial:
        raw["initial"] = initial
    if inputs:
        raw["inputs"] = inputs
    return raw


@st.composite
def scenario_batches(draw, max_size: int = 8) -> list[dict]:
    """1..max_size scenarios on one shared grid, so that they can run in one kernel / one Population.

    When a batch fails, hypothesis shrinks it towards a single scenario.
    """
    g = draw(grids())
    batch = draw(st.lists(scenario_dicts(g), min_size=1, max_size=max_size))
    return [{**raw, "name": f"fuzz_case_{i}"} for i, raw in enumerate(batch)]
