"""The `inputs:` list of a scenario file: one parser per device, and the fixed Poisson expansion.

Every device is checked against NEST's rules for it, with times and delays on the grid: NEST would snap
an off-grid time silently, so the harness refuses it. A parsed device is a ``SpikeInput`` or a
``CurrentInput`` (``harness.scenario.types``); poisson_spikes is expanded here, once, into explicit spike
steps, so that every backend sees the same spikes.

Every field is checked even when the grid is unknown (the resolution or the duration is refused, and
reported): then what does not depend on the grid is still checked (types, signs, ranges, order, lengths,
stiffness), the grid checks are left out and nothing is built or expanded, so that one run lists every
problem of the file and none twice.
"""
from __future__ import annotations

import numpy as np

from harness import grid
from harness.model.parameters import DEFAULTS, RECEPTOR_TYPES
from harness.scenario import bounds
from harness.scenario.fields import (
    any_missing,
    check_keys,
    read_number,
    read_numbers,
    shown,
    suggest,
    type_name,
)
from harness.scenario.nest_devices import nest_name_advice
from harness.scenario.types import CurrentInput, SpikeInput

DEVICE_KEYS = {
    "spike_generator": ("device", "receptor", "weight", "delay", "spike_times", "spike_multiplicities"),
    "poisson_spikes": ("device", "receptor", "weight", "delay", "rate", "start", "stop", "seed"),
    "dc_generator": ("device", "amplitude", "start", "stop", "weight", "delay"),
    "step_current_generator": ("device", "amplitude_times", "amplitude_values", "start", "stop", "weight",
                               "delay"),
}


def parse_inputs(raw, tps, res, n_steps, problems, params=None):
    """The `inputs:` list, each device checked against its own fields; devices with problems are left out.

    ``tps`` or ``n_steps`` None: the resolution or the duration is refused; every device is checked all the
    same, as far as its checks do not need them, and none is built."""
    entries = raw.get("inputs")
    if entries is None:
        return []
    if not isinstance(entries, list):
        problems.add("inputs", f"expected a list of devices, got {type_name(entries)}")
        return []
    if len(entries) > bounds.MAX_INPUTS:
        problems.add("inputs", f"{len(entries)} devices; allowed: at most {bounds.MAX_INPUTS} (each NMDA one "
                               f"is a receptor port with its own ring buffer in NEST)")
        return []
    poisson = sum(1 for e in entries if isinstance(e, dict) and e.get("device") == "poisson_spikes")
    build = True  # False once a bound on what is built is passed: the rest is checked, not built
    if n_steps is not None and poisson * n_steps > bounds.MAX_POISSON_DRAWS:  # checked before anything is drawn
        problems.add("inputs", f"{poisson} poisson_spikes inputs over {n_steps} steps need {poisson * n_steps} "
                               f"random draws; allowed: at most {bounds.MAX_POISSON_DRAWS} (inputs x steps)")
        build = False
    inputs, spikes = [], 0
    for i, entry in enumerate(entries):
        where = f"inputs[{i}]"
        if not isinstance(entry, dict):
            problems.add(where, f"expected a mapping with a 'device' key, got {type_name(entry)}")
            continue
        device = read_device(entry, where, problems)
        if device is None:
            continue
        check_keys(entry, DEVICE_KEYS[device], where, problems, what=f"field of {device}")
        ctx = _InputContext(entry, where, tps, res, n_steps, problems, params or DEFAULTS, build=build)
        parsed = _DEVICE_PARSERS[device](ctx)
        if parsed is not None:
            inputs.append(parsed)
            spikes += len(getattr(parsed, "spike_steps", ()))
            if spikes > bounds.MAX_SPIKES:
                problems.add(where, f"the inputs up to here hold {spikes} spikes; allowed: at most "
                                    f"{bounds.MAX_SPIKES} in one scenario (Poisson expansions included)")
                build = False
    return inputs


def read_device(entry: dict, where: str, problems):
    """The entry's device name, or None (and a problem) when it is missing or not one of DEVICE_KEYS.

    NEST's own names (poisson_generator, a recorder, ...) are answered with what to write instead: a
    did-you-mean would offer the name that is closest in letters (dc_generator for poisson_generator)."""
    device = entry.get("device")
    if not isinstance(device, str) or device not in DEVICE_KEYS:  # a list or mapping cannot be looked up
        advice = nest_name_advice(device) if isinstance(device, str) else None
        what = ("missing" if device is None else advice if advice else
                f"unknown device {shown(device)}{suggest(device, DEVICE_KEYS)}")
        problems.add(f"{where}.device", f"{what}; allowed: {', '.join(DEVICE_KEYS)}")
        return None
    return device


class _InputContext:
    """Bundles what every device parser needs, so each parser reads as a list of its fields."""

    def __init__(self, entry, where, tps, res, n_steps, problems, params, uniforms=None, build=True):
        self.entry, self.where, self.tps, self.res = entry, where, tps, res
        self.n_steps, self.problems, self.params = n_steps, problems, params
        # False: check every field, build nothing (the grid is unknown, or a bound on what is built is passed).
        # Without a grid (tps None) times stay in ms, so that their order and count are still checked.
        self.build = build and tps is not None and n_steps is not None
        self.on_grid = f"on the {res} ms grid" if tps is not None else "on the grid of the resolution"
        # The uniform draws of a poisson_spikes input: its own seed's first n_steps (a network input gives
        # each target its row of one draw, harness.scenario.targets).
        self.uniforms = uniforms or (lambda seed: np.random.default_rng(seed).random(n_steps))

    def too_stiff(self, receptor, weight, multiplicity) -> bool:
        """True (and a problem) when one spike would make the equations faster than RKF45 can follow."""
        c_m, alpha = self.params["C_m"], self.params["alpha"]
        if not c_m > 0:
            return False  # reported with the parameters
        if receptor == "NMDA":  # x jumps by the multiplicity, the weight scales the conductance
            rate, how = max(abs(weight) / c_m, alpha * multiplicity), "max(|weight| / C_m, alpha x multiplicity)"
        else:
            rate, how = abs(weight) * multiplicity / c_m, "|weight| x multiplicity / C_m"
        if rate <= bounds.MAX_SPIKE_RATE_PER_MS:
            return False
        key = "spike_multiplicities" if multiplicity > 1 else "weight"
        self.problems.add(f"{self.where}.{key}", f"one spike gives {how} = {rate:g} /ms; allowed: at most "
                                                 f"{bounds.MAX_SPIKE_RATE_PER_MS:g} /ms (a faster rate needs "
                                                 f"millions of RKF45 sub-steps per step)")
        return True

    def number(self, key, default=None):
        return read_number(self.entry, key, self.where, self.problems, default=default)

    def bounded(self, key, limit, unit, reason, default=None):
        """A number with |value| <= limit (None, and a problem, beyond it)."""
        value = self.number(key, default=default)
        problem = None if value is None else bounds.out_of_range(value, -limit, limit, unit, reason)
        if problem:
            self.problems.add(f"{self.where}.{key}", problem)
            return None
        return value

    def weight(self):
        if self.entry.get("device") in ("spike_generator", "poisson_spikes"):
            return self.bounded("weight", bounds.MAX_WEIGHT, "nS", "a larger jump makes RKF45 crawl", default=1.0)
        return self.bounded("weight", bounds.MAX_CURRENT_WEIGHT, "", "it multiplies the amplitude", default=1.0)

    def delay_steps(self):
        """NEST's default delay is the resolution; anything shorter or off the grid is refused."""
        delay = self.number("delay", default=self.res)
        if delay is None:
            return None
        key = f"{self.where}.delay"
        if self.tps is None:  # the resolution is refused: a delay the file gives must still be positive
            if "delay" in self.entry and not 0 < delay <= bounds.MAX_TIME_MS:
                self.problems.add(key, f"{delay} ms; allowed: a positive multiple of the resolution, at most "
                                       f"{bounds.MAX_DELAY_STEPS} steps")
                return None
            return delay
        if delay > bounds.MAX_TIME_MS:
            self.problems.add(key, f"{delay} ms; allowed: a multiple of the resolution from {self.res} ms to "
                                   f"{bounds.MAX_DELAY_STEPS} steps")
            return None
        if not grid.is_whole_tics(delay) and delay > self.res:  # e.g. 1e306 ms: too large for tics
            self.problems.add(key, f"{delay} ms is not a multiple of the resolution {self.res} ms")
            return None
        if not grid.is_whole_tics(delay) or grid.ms_to_tics(delay) < self.tps:
            self.problems.add(key, f"{delay} ms is shorter than the resolution {self.res} ms; "
                                   f"allowed: a multiple of the resolution >= {self.res} ms")
            return None
        if not grid.on_grid(delay, self.tps):
            self.problems.add(key, f"{delay} ms is not a multiple of the resolution {self.res} ms "
                                   f"(NEST would round it silently)")
            return None
        steps = grid.ms_to_steps(delay, self.tps)
        if steps > bounds.MAX_DELAY_STEPS:  # NEST: one ring buffer slot per delay step and receptor port
            self.problems.add(key, f"{delay} ms is {steps} steps of {self.res} ms; allowed: at most "
                                   f"{bounds.MAX_DELAY_STEPS} steps (NEST keeps a ring buffer slot per step)")
            return None
        return steps

    def receptor(self):
        value = self.entry.get("receptor")
        key = f"{self.where}.receptor"
        allowed = f"{', '.join(RECEPTOR_TYPES)} (or {', '.join(map(str, RECEPTOR_TYPES.values()))})"
        if value is None:
            self.problems.add(key, f"missing; allowed: {allowed}")
            return None
        by_number = {v: k for k, v in RECEPTOR_TYPES.items()}
        if isinstance(value, int) and not isinstance(value, bool) and value in by_number:
            return by_number[value]
        if isinstance(value, str) and value in RECEPTOR_TYPES:
            return value
        self.problems.add(key, f"unknown receptor {shown(value)}{suggest(str(value), RECEPTOR_TYPES)}; "
                               f"allowed: {allowed}")
        return None

    def grid_time_steps(self, key, value, *, positive):
        """Steps of one time that must lie on the grid; None (and a problem) otherwise. Without a grid: the
        time in ms, checked as far as it can be."""
        full = f"{self.where}.{key}"
        if value > bounds.MAX_TIME_MS:  # NEST's 64-bit tics overflow near 9.2e15 ms
            self.problems.add(full, f"{value} ms; allowed: times up to {bounds.MAX_TIME_MS:g} ms, {self.on_grid}")
            return None
        if positive and not value > 0:
            self.problems.add(full, f"{value} ms; allowed: times > 0 ms, {self.on_grid}")
            return None
        if not positive and not value >= 0:
            self.problems.add(full, f"{value} ms is negative; allowed: times >= 0 ms, {self.on_grid}")
            return None
        if self.tps is None:
            return value
        if not grid.on_grid(value, self.tps):
            self.problems.add(full, f"{value} ms is off the {self.res} ms grid (NEST would snap it "
                                    f"silently); allowed: multiples of the resolution")
            return None
        steps = grid.ms_to_steps(value, self.tps)
        if positive and steps == 0:  # 1e-300 ms is within rounding of the grid, but it is step 0
            self.problems.add(full, f"{value} ms is step 0; allowed: times > 0 ms, on the {self.res} ms grid")
            return None
        return steps

    def window(self):
        """NEST's start/stop activity window in steps; stop None means never."""
        start = self.number("start", default=0.0)
        stop = self.number("stop")
        start_steps = None if start is None else self.grid_time_steps("start", start, positive=False)
        stop_steps = None
        if stop is not None:
            stop_steps = self.grid_time_steps("stop", stop, positive=False)
            if stop_steps is not None and start_steps is not None and stop_steps < start_steps:
                self.problems.add(f"{self.where}.stop", f"{stop} ms is before start = {start} ms; "
                                                        f"allowed: stop >= start")
        return start_steps, stop_steps

    def time_list(self, key, *, strictly_increasing):
        """Steps of the times (ms without a grid); every time that is refused is reported, and the first one
        out of order (only the first: one misplaced time would otherwise be reported again by its neighbours)."""
        values = read_numbers(self.entry, key, self.where, self.problems)
        if values is None:
            return None
        steps = [None if v is None else self.grid_time_steps(f"{key}[{i}]", v, positive=True)
                 for i, v in enumerate(values)]
        for i in range(1, len(steps)):
            s, before = steps[i], steps[i - 1]
            if s is not None and before is not None and (s < before or (strictly_increasing and s == before)):
                order = "strictly increasing" if strictly_increasing else "non-decreasing"
                self.problems.add(f"{self.where}.{key}[{i}]", f"{values[i]} ms comes after {values[i - 1]} ms; "
                                                              f"allowed: {order} times")
                return None
        if None in steps:
            return None
        return np.asarray(steps, dtype=np.int64 if self.tps is not None else np.float64)


def _spike_generator(ctx: _InputContext):
    receptor, weight, delay = ctx.receptor(), ctx.weight(), ctx.delay_steps()
    steps = None
    if "spike_times" not in ctx.entry:
        ctx.problems.add(f"{ctx.where}.spike_times", "missing; allowed: a list of times in ms (> 0, on the grid)")
    else:
        steps = ctx.time_list("spike_times", strictly_increasing=False)
    times = ctx.entry.get("spike_times")
    mult = _multiplicities(ctx, len(times) if isinstance(times, list) else None)  # the count, good times or not
    if _stiff(ctx, receptor, weight, mult) or any_missing(receptor, weight, delay, steps, mult) or not ctx.build:
        return None
    return SpikeInput("spike_generator", receptor, weight, delay, steps, mult)


def _stiff(ctx, receptor, weight, mult) -> bool:
    """``too_stiff`` once receptor, weight and multiplicities are known, whatever else is wrong."""
    if any_missing(receptor, weight, mult):
        return False
    return ctx.too_stiff(receptor, weight, int(mult.max()) if len(mult) else 0)


def _multiplicities(ctx, n):
    """The multiplicities (ones when not given), every entry checked; None (and problems) if one is refused.
    ``n``: the number of spike times given, None when spike_times is no list."""
    key = f"{ctx.where}.spike_multiplicities"
    values = ctx.entry.get("spike_multiplicities")
    if values is None:
        return None if n is None else np.ones(n, dtype=np.int64)
    if not isinstance(values, list):
        ctx.problems.add(key, f"expected a list of integers, got {type_name(values)}")
        return None
    ok = True
    for i, v in enumerate(values):
        if not isinstance(v, int) or isinstance(v, bool):
            ctx.problems.add(f"{key}[{i}]", f"expected an integer, got {type_name(v)} {shown(v)}")
            ok = False
        elif v < 0:
            # NEST takes the count as unsigned and loops practically forever on a negative one.
            ctx.problems.add(f"{key}[{i}]", f"{v} is negative; allowed: integers >= 0")
            ok = False
        elif v > bounds.MAX_MULTIPLICITY:  # s jumps by weight * multiplicity; NEST's loop over 2^63 never ends
            ctx.problems.add(f"{key}[{i}]", f"{shown(v)} is too large; allowed: integers from 0 to "
                                            f"{bounds.MAX_MULTIPLICITY}")
            ok = False
    if n is not None and len(values) != n:
        ctx.problems.add(key, f"has {len(values)} entries but spike_times has {n}; allowed: one "
                              f"multiplicity per spike time")
        return None
    return np.asarray(values, dtype=np.int64) if ok else None


def _poisson_spikes(ctx: _InputContext):
    receptor, weight, delay = ctx.receptor(), ctx.weight(), ctx.delay_steps()
    rate = ctx.number("rate")
    if "rate" not in ctx.entry:
        ctx.problems.add(f"{ctx.where}.rate", "missing; allowed: a rate in Hz >= 0")
    elif rate is not None and rate < 0:
        ctx.problems.add(f"{ctx.where}.rate", f"{rate} Hz is negative; allowed: rate >= 0")
        rate = None
    elif rate is not None and rate > bounds.MAX_RATE_HZ:
        ctx.problems.add(f"{ctx.where}.rate", f"{rate} Hz; allowed: 0 to {bounds.MAX_RATE_HZ:g} Hz (one spike "
                                              f"per tic; a higher rate changes nothing)")
        rate = None
    seed = ctx.entry.get("seed")
    if seed is None:
        ctx.problems.add(f"{ctx.where}.seed", "missing; allowed: an integer >= 0 (it fixes the spike times)")
    elif not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        ctx.problems.add(f"{ctx.where}.seed", f"{shown(seed)} is not an integer >= 0")
        seed = None
    elif seed > bounds.MAX_SEED:
        ctx.problems.add(f"{ctx.where}.seed", f"{shown(seed)} is too large; allowed: 0 to {bounds.MAX_SEED}")
        seed = None
    start_steps, stop_steps = ctx.window()
    stiff = _stiff(ctx, receptor, weight, np.ones(1, dtype=np.int64))
    if stiff or any_missing(receptor, weight, delay, rate, seed, start_steps) or not ctx.build:
        return None
    steps = poisson_spike_steps(ctx.uniforms(seed), rate, ctx.res, start_steps, stop_steps)
    return SpikeInput("poisson_spikes", receptor, weight, delay, steps, np.ones(len(steps), dtype=np.int64))


def poisson_spike_steps(u, rate, resolution, start_steps, stop_steps):
    """The fixed expansion rule: one uniform draw u[S - 1] per step S = 1..n_steps (``default_rng(seed)
    .random(n_steps)``), spike when u < rate·dt/1000.

    The window start < S·dt <= stop is compared in integer tics (steps here, since both are on the grid).
    """
    s = np.arange(1, len(u) + 1, dtype=np.int64)
    hit = u < rate * resolution / 1000.0
    hit &= s > start_steps
    if stop_steps is not None:
        hit &= s <= stop_steps
    return s[hit]


def _dc_generator(ctx: _InputContext):
    amplitude = ctx.bounded("amplitude", bounds.MAX_AMPLITUDE_PA, "pA", "with C_m >= 1 pF", default=0.0)
    weight, delay = ctx.weight(), ctx.delay_steps()
    start_steps, stop_steps = ctx.window()
    if any_missing(amplitude, weight, delay, start_steps) or ("stop" in ctx.entry and stop_steps is None):
        return None
    if not ctx.build:  # checked, and nothing to build without a grid
        return None
    return CurrentInput("dc_generator", weight, delay, start_steps, stop_steps, amplitude=amplitude)


def _step_current_generator(ctx: _InputContext):
    weight, delay = ctx.weight(), ctx.delay_steps()
    start_steps, stop_steps = ctx.window()
    for key in ("amplitude_times", "amplitude_values"):
        if key not in ctx.entry:
            ctx.problems.add(f"{ctx.where}.{key}", "missing; allowed: a list (times in ms > 0 on the grid, "
                                                   "values in pA), one value per time")
    times = ctx.time_list("amplitude_times", strictly_increasing=True)
    values = read_numbers(ctx.entry, "amplitude_values", ctx.where, ctx.problems)
    limit = bounds.MAX_AMPLITUDE_PA
    refused = {i: bounds.out_of_range(v, -limit, limit, "pA", "with C_m >= 1 pF")
               for i, v in enumerate(values or ()) if v is not None}
    for i, problem in refused.items():
        if problem:
            ctx.problems.add(f"{ctx.where}.amplitude_values[{i}]", problem)
    if values is not None and (None in values or any(refused.values())):
        values = None
    given = [ctx.entry.get(key) for key in ("amplitude_times", "amplitude_values")]
    if all(isinstance(g, list) for g in given) and len(given[0]) != len(given[1]):  # good entries or not
        ctx.problems.add(f"{ctx.where}.amplitude_values", f"has {len(given[1])} entries but amplitude_times "
                                                          f"has {len(given[0])}; allowed: one value per time")
        return None
    if any_missing(weight, delay, start_steps, times, values) or ("stop" in ctx.entry and stop_steps is None):
        return None
    if not ctx.build:
        return None
    return CurrentInput("step_current_generator", weight, delay, start_steps, stop_steps,
                        amplitude_steps=times, amplitude_values=np.asarray(values, dtype=np.float64))


_DEVICE_PARSERS = {
    "spike_generator": _spike_generator,
    "poisson_spikes": _poisson_spikes,
    "dc_generator": _dc_generator,
    "step_current_generator": _step_current_generator,
}
