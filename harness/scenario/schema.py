"""Scenario files: the YAML schema, its validation, and normalisation into a ``Scenario``.

Everything is checked before anything runs. Each problem is reported with the file, the key path,
what is wrong and what is allowed. NEST silently snaps off-grid times (a spike at 12.7004 becomes 12.7,
a delay of 2.55 becomes 2.6); the harness rejects them instead, so that every backend sees exactly the
experiment that is written down.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import yaml

from harness import grid
from harness.errors import ScenarioError, UsageError
from harness.scenario.types import RECEPTOR_TYPES, RECORDABLES, CurrentInput, Scenario, SpikeInput
from harness.judge.tolerances import PROFILE_NAMES, unknown_profile_message

MODEL = "iaf_bw_2001_exact"

# NEST 3.10 defaults of iaf_bw_2001_exact (the documentation's C_m = 250 pF is wrong; the code says 500).
PARAM_DEFAULTS = {
    "E_L": -70.0, "E_ex": 0.0, "E_in": -70.0, "V_th": -55.0, "V_reset": -60.0,
    "C_m": 500.0, "g_L": 25.0, "t_ref": 2.0,
    "tau_AMPA": 2.0, "tau_GABA": 5.0, "tau_rise_NMDA": 2.0, "tau_decay_NMDA": 100.0,
    "alpha": 0.5, "conc_Mg2": 1.0, "gsl_error_tol": 1e-3,
}
PARAM_UNITS = {
    "E_L": "mV", "E_ex": "mV", "E_in": "mV", "V_th": "mV", "V_reset": "mV", "C_m": "pF", "g_L": "nS",
    "t_ref": "ms", "tau_AMPA": "ms", "tau_GABA": "ms", "tau_rise_NMDA": "ms", "tau_decay_NMDA": "ms",
    "alpha": "1/ms", "conc_Mg2": "mM", "gsl_error_tol": "",
}
# V_m starts at the node's default, not at E_L: NEST's Create(params=...) does not move V_m with E_L.
INITIAL_DEFAULTS = {"V_m": -70.0, "s_AMPA": 0.0, "s_GABA": 0.0}
DEFAULT_RESOLUTION = 0.1

TOP_KEYS = ("name", "description", "model", "resolution", "duration", "simulate_chunks", "params",
            "initial", "inputs", "record", "tolerances", "expect", "expect_reason")
# `expect: fail` declares a known finding of a port (harness.candidates.parity): the candidate whose
# registry entry names this scenario's folder is expected to fail it, for the reason given.
EXPECT_VALUES = ("pass", "fail")
DEVICE_KEYS = {
    "spike_generator": ("device", "receptor", "weight", "delay", "spike_times", "spike_multiplicities"),
    "poisson_spikes": ("device", "receptor", "weight", "delay", "rate", "start", "stop", "seed"),
    "dc_generator": ("device", "amplitude", "start", "stop", "weight", "delay"),
    "step_current_generator": ("device", "amplitude_times", "amplitude_values", "start", "stop", "weight",
                               "delay"),
}
TOLERANCE_KEYS = ("profile",) + RECORDABLES + ("spikes",)

_INT64_MAX = 2 ** 63 - 1
MAX_STEPS = 10 ** 7  # 1000 s at 0.1 ms; the multimeter alone then holds 7 x 80 MB
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
# YAML 1.1 reads 1e-3 (no dot) as a string; a scientist means the number, so accept exactly that form.
_EXPONENT_ONLY = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


class _Problems:
    """Collects every problem in one file, so that the user can fix them all in one go."""

    def __init__(self, path: str):
        self.path = path
        self.items: list[tuple[str, str]] = []

    def add(self, key: str, message: str) -> None:
        self.items.append((key, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise ScenarioError(self.path, self.items)


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and normalise one scenario file. Raises ScenarioError on any problem."""
    path = Path(path)
    problems = _Problems(str(path))
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(str(path), [("", f"cannot read the file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:  # a binary file, or another encoding
        raise ScenarioError(str(path), [("", f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                                             f"{exc.start}); allowed: a YAML file in UTF-8")]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(str(path), [("", f"malformed YAML{at}: {reason}")]) from None
    scenario = parse_scenario(raw, problems, default_name=path.stem)
    problems.raise_if_any()
    return scenario


def load_scenarios(paths) -> list[Scenario]:
    """Validate every file before anything runs; report the problems of all of them together.

    Names must be unique, because they name the reference files.
    """
    scenarios, messages = [], []
    for path in paths:
        try:
            scenarios.append(load_scenario(path))
        except ScenarioError as exc:
            messages.append(exc.format())
    if messages:
        raise UsageError("\n".join(messages))
    names = {}
    for s in scenarios:
        if s.name in names:
            raise UsageError(f"{s.path}: name: {s.name!r} is also the name of {names[s.name]}; "
                             f"scenario names must be unique (they name the reference files)")
        names[s.name] = s.path
    return scenarios


def parse_scenario(raw, problems: _Problems, default_name: str = "scenario") -> Scenario | None:
    if not isinstance(raw, dict):
        problems.add("", f"the file must hold a mapping of scenario fields, not {_type_name(raw)}; "
                         f"allowed keys: {', '.join(TOP_KEYS)}")
        problems.raise_if_any()
    _check_keys(raw, TOP_KEYS, "", problems)

    name = _string(raw, "name", "", problems, default=default_name)
    if not _SAFE_NAME.match(name):
        problems.add("name", f"{name!r} cannot name reference files; allowed: letters, digits, '_', '-', '.'")
    description = _string(raw, "description", "", problems, default="")
    model = _string(raw, "model", "", problems, default=MODEL)
    if model != MODEL:
        problems.add("model", f"unknown model {model!r}; allowed: {MODEL}")

    resolution, tps = _resolution(raw, problems)
    n_steps = _duration(raw, tps, resolution, problems)
    chunks = _chunks(raw, tps, n_steps, problems)
    params = _params(raw, problems)
    initial = _initial(raw, problems)
    record = _record(raw, problems)
    tolerances = _tolerances(raw, problems)
    expect, expect_reason = _expectation(raw, problems)
    inputs = []
    if tps is not None and n_steps is not None:
        inputs = _inputs(raw, tps, resolution, n_steps, problems)
    problems.raise_if_any()
    return Scenario(
        name=name, description=description, path=problems.path, model=model, resolution=resolution,
        tics_per_step=tps, n_steps=n_steps, chunk_steps=tuple(chunks), params=params, initial=initial,
        inputs=tuple(inputs), record=tuple(record), content_hash=content_hash(raw), tolerances=tolerances,
        expect=expect, expect_reason=expect_reason,
    )


def content_hash(raw) -> str:
    """Hash of what the file means, not how it is spelled: comments and key order do not count.

    A port's expectation (expect, expect_reason) is not part of the experiment: flipping it when a port is
    fixed must not make the stored NEST reference stale.
    """
    if isinstance(raw, dict):
        raw = {k: v for k, v in raw.items() if k not in ("expect", "expect_reason")}
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------
# Top-level fields

def _resolution(raw, problems):
    res = _number(raw, "resolution", "", problems, default=DEFAULT_RESOLUTION)
    if res is None:
        return DEFAULT_RESOLUTION, None
    if res <= 0:
        problems.add("resolution", f"{res} ms is not positive; allowed: a positive multiple of 0.001 ms")
        return res, None
    if not grid.is_whole_tics(res) or grid.ms_to_tics(res) == 0:
        problems.add("resolution", f"{res} ms is not a whole number of NEST tics (0.001 ms); "
                                   f"allowed: a positive multiple of 0.001 ms")
        return res, None
    return res, grid.ms_to_tics(res)


def _duration(raw, tps, res, problems):
    if "duration" not in raw:
        problems.add("duration", "missing; allowed: a positive multiple of the resolution, in ms")
        return None
    duration = _number(raw, "duration", "", problems)
    if duration is None or tps is None:
        return None
    if duration <= 0:
        problems.add("duration", f"{duration} ms is not positive; allowed: a positive multiple of the "
                                 f"resolution {res} ms")
        return None
    if not grid.on_grid(duration, tps):
        problems.add("duration", f"{duration} ms is not a multiple of the resolution {res} ms")
        return None
    n_steps = grid.ms_to_steps(duration, tps)
    if n_steps > MAX_STEPS:  # every step is recorded (and Poisson inputs drawn) in memory
        problems.add("duration", f"{duration} ms is {n_steps} steps of {res} ms; allowed: at most {MAX_STEPS} "
                                 f"steps, since every step is recorded")
        return None
    return n_steps


def _chunks(raw, tps, n_steps, problems):
    if raw.get("simulate_chunks") is None:
        return [n_steps] if n_steps is not None else []
    values = _number_list(raw, "simulate_chunks", "", problems)
    if values is None or tps is None or n_steps is None:
        return []
    steps = []
    for i, v in enumerate(values):
        key = f"simulate_chunks[{i}]"
        if v <= 0:
            problems.add(key, f"{v} ms is not positive; allowed: positive multiples of the resolution")
        elif not grid.on_grid(v, tps):
            problems.add(key, f"{v} ms is not a multiple of the resolution {grid.step_length_ms(tps)} ms")
        else:
            steps.append(grid.ms_to_steps(v, tps))
    if len(steps) == len(values) and sum(steps) != n_steps:
        problems.add("simulate_chunks", f"the chunks sum to {sum(values)} ms but duration is "
                                        f"{grid.steps_to_ms(n_steps, tps)} ms; they must sum to duration")
    if not values:
        problems.add("simulate_chunks", "empty list; allowed: one or more chunk lengths summing to duration")
    return steps


def _params(raw, problems):
    given = _mapping(raw, "params", "", problems)
    _check_keys(given, tuple(PARAM_DEFAULTS), "params", problems, what="parameter of " + MODEL)
    params = dict(PARAM_DEFAULTS)
    for key in PARAM_DEFAULTS:
        value = _number(given, key, "params", problems)
        if value is not None:
            params[key] = value
    _check_param_rules(params, problems)
    return params


def _check_param_rules(p, problems):
    """NEST's own set_status rules for iaf_bw_2001_exact, plus finiteness (NEST accepts NaN silently)."""
    for key in PARAM_DEFAULTS:
        if not math.isfinite(p[key]):
            return  # already reported by _number
    if not p["V_reset"] < p["V_th"]:
        problems.add("params.V_reset", f"V_reset = {p['V_reset']} mV must be below V_th = {p['V_th']} mV")
    if not p["C_m"] > 0:
        problems.add("params.C_m", f"{p['C_m']} pF; allowed: C_m > 0")
    if not p["t_ref"] >= 0:
        problems.add("params.t_ref", f"{p['t_ref']} ms; allowed: t_ref >= 0")
    elif not grid.is_whole_tics(p["t_ref"]):
        problems.add("params.t_ref", f"{p['t_ref']} ms is not a whole number of tics (0.001 ms), which "
                                     f"NEST would round silently; allowed: a multiple of 0.001 ms")
    for tau in ("tau_AMPA", "tau_GABA", "tau_rise_NMDA", "tau_decay_NMDA"):
        if not p[tau] > 0:
            problems.add(f"params.{tau}", f"{p[tau]} ms; allowed: every time constant > 0")
    for key, unit in (("alpha", " 1/ms"), ("conc_Mg2", " mM"), ("gsl_error_tol", "")):
        if not p[key] > 0:
            problems.add(f"params.{key}", f"{p[key]}{unit}; allowed: {key} > 0")


def _initial(raw, problems):
    given = _mapping(raw, "initial", "", problems)
    _check_keys(given, tuple(INITIAL_DEFAULTS), "initial", problems, what="initial state variable")
    initial = dict(INITIAL_DEFAULTS)
    for key in INITIAL_DEFAULTS:
        value = _number(given, key, "initial", problems)
        if value is not None:
            initial[key] = value
    return initial


def _record(raw, problems):
    if raw.get("record") is None:
        return list(RECORDABLES)
    values = raw["record"]
    if not isinstance(values, list) or not values:
        problems.add("record", f"expected a non-empty list of recordables, got {_type_name(values)}; "
                               f"allowed: {', '.join(RECORDABLES)}")
        return list(RECORDABLES)
    for i, v in enumerate(values):
        if v not in RECORDABLES:
            problems.add(f"record[{i}]", f"unknown recordable {v!r}{_suggest(v, RECORDABLES)}; "
                                         f"allowed: {', '.join(RECORDABLES)}")
    if len(set(map(str, values))) != len(values):
        problems.add("record", "a recordable is listed twice")
    # NEST's order, whatever the file's order, so that traces line up across scenarios.
    return [r for r in RECORDABLES if r in values]


def _expectation(raw, problems):
    expect = raw.get("expect", "pass")
    if expect not in EXPECT_VALUES:
        problems.add("expect", f"{expect!r}; allowed: {', '.join(EXPECT_VALUES)}")
        expect = "pass"
    reason = _string(raw, "expect_reason", "", problems, default="")
    if expect == "fail" and not reason.strip():
        problems.add("expect_reason", "missing; `expect: fail` needs the reason (which finding the scenario "
                                      "reproduces), so that the expected failure stays explained")
    return expect, reason


def _tolerances(raw, problems):
    """The `tolerances:` block, validated and normalised (floats, an int window) for the comparator."""
    block = _mapping(raw, "tolerances", "", problems)
    _check_keys(block, TOLERANCE_KEYS, "tolerances", problems)
    normalised = {}
    for key, value in block.items():
        if key == "profile":
            if not isinstance(value, str):
                problems.add("tolerances.profile", f"expected a profile name, got {_type_name(value)}; "
                                                   f"allowed: {', '.join(PROFILE_NAMES)}")
            elif value not in PROFILE_NAMES:
                problems.add("tolerances.profile", unknown_profile_message(value))
            else:
                normalised["profile"] = value
            continue
        if key not in TOLERANCE_KEYS:
            continue
        sub = _mapping(block, key, "tolerances", problems)
        if key == "spikes":
            _check_keys(sub, ("window_steps",), "tolerances.spikes", problems)
            window = sub.get("window_steps")
            if window is None:
                continue
            if not isinstance(window, int) or isinstance(window, bool) or window < 0:
                problems.add("tolerances.spikes.window_steps", f"{window!r} is not a whole number of steps "
                                                               f">= 0; allowed: 0, 1, 2, ...")
            else:
                normalised["spikes"] = {"window_steps": window}
            continue
        _check_keys(sub, ("abs", "rel"), f"tolerances.{key}", problems)
        for k in ("abs", "rel"):
            v = _number(sub, k, f"tolerances.{key}", problems)
            if v is not None and v < 0:
                problems.add(f"tolerances.{key}.{k}", f"{v} is negative; allowed: a number >= 0")
            elif v is not None:
                normalised.setdefault(key, {})[k] = v
    return normalised


# ---------------------------------------------------------------------------------------------------
# Inputs

def _inputs(raw, tps, res, n_steps, problems):
    entries = raw.get("inputs")
    if entries is None:
        return []
    if not isinstance(entries, list):
        problems.add("inputs", f"expected a list of devices, got {_type_name(entries)}")
        return []
    inputs = []
    for i, entry in enumerate(entries):
        where = f"inputs[{i}]"
        if not isinstance(entry, dict):
            problems.add(where, f"expected a mapping with a 'device' key, got {_type_name(entry)}")
            continue
        device = entry.get("device")
        if not isinstance(device, str) or device not in DEVICE_KEYS:  # a list or mapping cannot be looked up
            shown = "missing" if device is None else f"unknown device {device!r}{_suggest(device, DEVICE_KEYS)}"
            problems.add(f"{where}.device", f"{shown}; allowed: {', '.join(DEVICE_KEYS)}")
            continue
        _check_keys(entry, DEVICE_KEYS[device], where, problems, what=f"field of {device}")
        ctx = _InputContext(entry, where, tps, res, n_steps, problems)
        parsed = _DEVICE_PARSERS[device](ctx)
        if parsed is not None:
            inputs.append(parsed)
    return inputs


class _InputContext:
    """Bundles what every device parser needs, so each parser reads as a list of its fields."""

    def __init__(self, entry, where, tps, res, n_steps, problems):
        self.entry, self.where, self.tps, self.res = entry, where, tps, res
        self.n_steps, self.problems = n_steps, problems

    def number(self, key, default=None):
        return _number(self.entry, key, self.where, self.problems, default=default)

    def weight(self):
        return self.number("weight", default=1.0)

    def delay_steps(self):
        """NEST's default delay is the resolution; anything shorter or off the grid is refused."""
        delay = self.number("delay", default=self.res)
        if delay is None:
            return None
        key = f"{self.where}.delay"
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
        return grid.ms_to_steps(delay, self.tps)

    def receptor(self):
        value = self.entry.get("receptor")
        key = f"{self.where}.receptor"
        allowed = "AMPA, GABA, NMDA (or 1, 2, 3)"
        if value is None:
            self.problems.add(key, f"missing; allowed: {allowed}")
            return None
        by_number = {v: k for k, v in RECEPTOR_TYPES.items()}
        if isinstance(value, int) and not isinstance(value, bool) and value in by_number:
            return by_number[value]
        if isinstance(value, str) and value in RECEPTOR_TYPES:
            return value
        self.problems.add(key, f"unknown receptor {value!r}{_suggest(str(value), RECEPTOR_TYPES)}; "
                               f"allowed: {allowed}")
        return None

    def grid_time_steps(self, key, value, *, positive):
        """Steps of one time that must lie on the grid; None (and a problem) otherwise."""
        full = f"{self.where}.{key}"
        if positive and not value > 0:
            self.problems.add(full, f"{value} ms; allowed: times > 0 ms, on the {self.res} ms grid")
            return None
        if not positive and not value >= 0:
            self.problems.add(full, f"{value} ms is negative; allowed: times >= 0 ms, on the {self.res} ms grid")
            return None
        if not grid.on_grid(value, self.tps):
            self.problems.add(full, f"{value} ms is off the {self.res} ms grid (NEST would snap it "
                                    f"silently); allowed: multiples of the resolution")
            return None
        return grid.ms_to_steps(value, self.tps)

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
        values = _number_list(self.entry, key, self.where, self.problems)
        if values is None:
            return None
        steps = []
        for i, v in enumerate(values):
            s = self.grid_time_steps(f"{key}[{i}]", v, positive=True)
            if s is None:
                return None
            if steps and (s < steps[-1] or (strictly_increasing and s == steps[-1])):
                order = "strictly increasing" if strictly_increasing else "non-decreasing"
                self.problems.add(f"{self.where}.{key}[{i}]", f"{v} ms comes after {values[i - 1]} ms; "
                                                              f"allowed: {order} times")
                return None
            steps.append(s)
        return np.asarray(steps, dtype=np.int64)


def _spike_generator(ctx: _InputContext):
    receptor, weight, delay = ctx.receptor(), ctx.weight(), ctx.delay_steps()
    if "spike_times" not in ctx.entry:
        ctx.problems.add(f"{ctx.where}.spike_times", "missing; allowed: a list of times in ms (> 0, on the grid)")
        return None
    steps = ctx.time_list("spike_times", strictly_increasing=False)
    mult = _multiplicities(ctx, None if steps is None else len(steps))
    if _any_missing(receptor, weight, delay, steps, mult):
        return None
    return SpikeInput("spike_generator", receptor, weight, delay, steps, mult)


def _multiplicities(ctx, n):
    key = f"{ctx.where}.spike_multiplicities"
    values = ctx.entry.get("spike_multiplicities")
    if values is None:
        return None if n is None else np.ones(n, dtype=np.int64)
    if not isinstance(values, list):
        ctx.problems.add(key, f"expected a list of integers, got {_type_name(values)}")
        return None
    for i, v in enumerate(values):
        if not isinstance(v, int) or isinstance(v, bool):
            ctx.problems.add(f"{key}[{i}]", f"expected an integer, got {_type_name(v)} {v!r}")
            return None
        if v < 0:
            # NEST takes the count as unsigned and loops practically forever on a negative one.
            ctx.problems.add(f"{key}[{i}]", f"{v} is negative; allowed: integers >= 0")
            return None
        if v > _INT64_MAX:  # NEST stores a long; beyond that the value cannot even be handed over
            ctx.problems.add(f"{key}[{i}]", f"{v} is too large; allowed: integers from 0 to {_INT64_MAX}")
            return None
    if n is not None and len(values) != n:
        ctx.problems.add(key, f"has {len(values)} entries but spike_times has {n}; allowed: one "
                              f"multiplicity per spike time")
        return None
    return np.asarray(values, dtype=np.int64)


def _poisson_spikes(ctx: _InputContext):
    receptor, weight, delay = ctx.receptor(), ctx.weight(), ctx.delay_steps()
    rate = ctx.number("rate")
    if "rate" not in ctx.entry:
        ctx.problems.add(f"{ctx.where}.rate", "missing; allowed: a rate in Hz >= 0")
    elif rate is not None and rate < 0:
        ctx.problems.add(f"{ctx.where}.rate", f"{rate} Hz is negative; allowed: rate >= 0")
        rate = None
    seed = ctx.entry.get("seed")
    if seed is None:
        ctx.problems.add(f"{ctx.where}.seed", "missing; allowed: an integer >= 0 (it fixes the spike times)")
    elif not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        ctx.problems.add(f"{ctx.where}.seed", f"{seed!r} is not an integer >= 0")
        seed = None
    start_steps, stop_steps = ctx.window()
    if _any_missing(receptor, weight, delay, rate, seed, start_steps):
        return None
    steps = poisson_spike_steps(seed, rate, ctx.res, ctx.tps, ctx.n_steps, start_steps, stop_steps)
    return SpikeInput("poisson_spikes", receptor, weight, delay, steps, np.ones(len(steps), dtype=np.int64))


def poisson_spike_steps(seed, rate, resolution, tps, n_steps, start_steps, stop_steps):
    """The fixed expansion rule: one uniform draw per step S = 1..n_steps, spike when u < rate·dt/1000.

    The window start < S·dt <= stop is compared in integer tics (steps here, since both are on the grid).
    """
    u = np.random.default_rng(seed).random(n_steps)
    s = np.arange(1, n_steps + 1, dtype=np.int64)
    hit = u < rate * resolution / 1000.0
    hit &= s > start_steps
    if stop_steps is not None:
        hit &= s <= stop_steps
    return s[hit]


def _dc_generator(ctx: _InputContext):
    amplitude, weight, delay = ctx.number("amplitude", default=0.0), ctx.weight(), ctx.delay_steps()
    start_steps, stop_steps = ctx.window()
    if _any_missing(amplitude, weight, delay, start_steps) or ("stop" in ctx.entry and stop_steps is None):
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
    values = _number_list(ctx.entry, "amplitude_values", ctx.where, ctx.problems)
    if times is not None and values is not None and len(times) != len(values):
        ctx.problems.add(f"{ctx.where}.amplitude_values", f"has {len(values)} entries but amplitude_times "
                                                          f"has {len(times)}; allowed: one value per time")
        return None
    if _any_missing(weight, delay, start_steps, times, values) or ("stop" in ctx.entry and stop_steps is None):
        return None
    return CurrentInput("step_current_generator", weight, delay, start_steps, stop_steps,
                        amplitude_steps=times, amplitude_values=np.asarray(values, dtype=np.float64))


_DEVICE_PARSERS = {
    "spike_generator": _spike_generator,
    "poisson_spikes": _poisson_spikes,
    "dc_generator": _dc_generator,
    "step_current_generator": _step_current_generator,
}


# ---------------------------------------------------------------------------------------------------
# Typed field readers. Each returns None (and records a problem) when the value is unusable.

def _any_missing(*values) -> bool:
    return any(v is None for v in values)


def _full(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _type_name(value) -> str:
    if value is None:
        return "nothing (null)"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def _as_number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an integer beyond any double: reported as not finite
            return math.inf
    if isinstance(value, float):
        return value
    if isinstance(value, str) and _EXPONENT_ONLY.match(value.strip()):
        return float(value)
    return None


def _number(mapping, key, parent, problems, default=None):
    if not isinstance(mapping, dict) or mapping.get(key) is None:
        return default
    value = mapping[key]
    number = _as_number(value)
    if number is None:
        problems.add(_full(parent, key), f"expected a number, got {_type_name(value)} {value!r}")
        return None
    if not math.isfinite(number):
        problems.add(_full(parent, key), f"{value!r} is not finite; allowed: a finite number")
        return None
    return number


def _number_list(mapping, key, parent, problems):
    values = mapping.get(key)
    if values is None:
        return None
    if not isinstance(values, list):
        problems.add(_full(parent, key), f"expected a list of numbers, got {_type_name(values)}")
        return None
    out = []
    for i, v in enumerate(values):
        number = _as_number(v)
        if number is None:
            problems.add(f"{_full(parent, key)}[{i}]", f"expected a number, got {_type_name(v)} {v!r}")
            return None
        if not math.isfinite(number):
            problems.add(f"{_full(parent, key)}[{i}]", f"{v!r} is not finite; allowed: a finite number")
            return None
        out.append(number)
    return out


def _string(mapping, key, parent, problems, default=None):
    value = mapping.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        problems.add(_full(parent, key), f"expected a string, got {_type_name(value)} {value!r}")
        return default
    return value


def _mapping(mapping, key, parent, problems) -> dict:
    value = mapping.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(_full(parent, key), f"expected a mapping, got {_type_name(value)}")
        return {}
    return value


def _check_keys(mapping, allowed, parent, problems, what="key"):
    for key in mapping:
        if key not in allowed:
            problems.add(_full(parent, str(key)), f"unknown {what} {key!r}{_suggest(str(key), allowed)}; "
                                                  f"allowed: {', '.join(allowed)}")


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
