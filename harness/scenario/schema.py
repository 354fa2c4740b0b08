"""Scenario files: reading, validating and normalising them into a ``Scenario``.

Everything is checked before anything runs. Each problem is reported with the file, the key path,
what is wrong and what is allowed. NEST silently snaps off-grid times (a spike at 12.7004 becomes 12.7,
a delay of 2.55 becomes 2.6); the harness rejects them instead, so that every backend sees exactly the
experiment that is written down.

One run lists every problem, and each once: a check that needs another value (the grid needs the
resolution, a step count the duration) runs whenever that value is good, and is left out, silently, only
when that value is already reported as wrong.

This module holds the top-level keys; ``params`` reads the neuron's parameters and initial state,
``inputs`` the devices, ``fields`` the single values. The model's names and defaults come from
``harness.model.parameters``.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from harness import grid
from harness.errors import ScenarioError, UsageError
from harness.judge.tolerances import PROFILE_NAMES, unknown_profile_message
from harness.model.parameters import MODEL, RECORDABLES
from harness.scenario import bounds
from harness.scenario.connections import parse_connections
from harness.scenario.fields import (
    Problems,
    check_keys,
    read_mapping,
    read_number,
    read_numbers,
    read_string,
    refuse_nulls,
    shown,
    suggest,
    type_name,
)
from harness.scenario.inputs import parse_inputs
from harness.scenario.loader import load_yaml
from harness.scenario.params import parse_initial, parse_params, refused_as_nan
from harness.scenario.populations import parse_populations
from harness.scenario.targets import parse_network_inputs, parse_network_record
from harness.scenario.types import NetworkSpec, Scenario

DEFAULT_RESOLUTION = 0.1

TOP_KEYS = ("name", "description", "model", "resolution", "duration", "simulate_chunks", "params",
            "initial", "inputs", "record", "tolerances", "expect", "expect_reason", "populations", "connections",
            "nest_threads")
NETWORK_ONLY = ("connections", "nest_threads")
MAX_THREADS = 64
# `expect: fail` declares a known finding of a port (harness.candidates.parity): the candidate whose
# registry entry names this scenario's folder is expected to fail it, for the reason given.
EXPECT_VALUES = ("pass", "fail")
TOLERANCE_KEYS = ("profile",) + RECORDABLES + ("spikes",)

MAX_STEPS = 10 ** 7  # 1000 s at 0.1 ms; the multimeter alone then holds 7 x 80 MB
# A name names reference files: no path separator, no newline (``$`` would let "abc\n" through), and short
# enough for any file system once suffixes are added.
MAX_NAME = 100
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and normalise one scenario file. Raises ScenarioError on any problem."""
    path = Path(path)
    problems = Problems(str(path))
    raw = load_yaml(path)  # strict and size-limited (harness.scenario.loader)
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


def parse_scenario(raw, problems: Problems, default_name: str = "scenario") -> Scenario | None:
    if not isinstance(raw, dict):
        problems.add("", f"the file must hold a mapping of scenario fields, not {type_name(raw)}; "
                         f"allowed keys: {', '.join(TOP_KEYS)}")
        problems.raise_if_any()
    check_keys(raw, TOP_KEYS, "", problems)
    refuse_nulls(raw, "", problems)

    name = read_string(raw, "name", "", problems, default=default_name)
    if not _SAFE_NAME.fullmatch(name) or len(name) > MAX_NAME:
        problems.add("name", f"{shown(name)} cannot name reference files; allowed: 1 to {MAX_NAME} letters, "
                             f"digits, '_', '-', '.', not starting with '-' or '.' (no path separator, no newline)")
    description = read_string(raw, "description", "", problems, default="")
    model = read_string(raw, "model", "", problems, default=MODEL)
    if model != MODEL:
        problems.add("model", f"unknown model {shown(model)}; allowed: {MODEL}")

    resolution, tps = _resolution(raw, problems)
    n_steps = _duration(raw, tps, resolution, problems)
    chunks = _chunks(raw, tps, n_steps, problems)
    tolerances = _tolerances(raw, problems)
    expect, expect_reason = _expectation(raw, problems)
    common = dict(name=name, description=description, path=problems.path, model=model, resolution=resolution,
                  tics_per_step=tps, n_steps=n_steps, chunk_steps=tuple(chunks), tolerances=tolerances,
                  expect=expect, expect_reason=expect_reason)
    if "populations" in raw:
        return _network_scenario(raw, problems, common)
    for key in NETWORK_ONLY:
        if key in raw:
            problems.add(key, "belongs to a network scenario; allowed only with populations: (see the README, "
                              "\"Network scenarios\")")
    mark = len(problems.items)
    params = parse_params(raw, problems)
    initial = parse_initial(raw, problems)
    record = _record(raw, problems)
    # A refused C_m or alpha is NaN for the inputs' checks, which then leave the stiffness unjudged.
    inputs = parse_inputs(raw, tps, resolution, n_steps, problems, refused_as_nan(params, problems, mark, "params"))
    problems.raise_if_any()  # before the hash: a file with problems may hold keys JSON cannot sort
    return Scenario(**common, params=params, initial=initial, inputs=tuple(inputs), record=tuple(record),
                    content_hash=content_hash(raw))


def _network_scenario(raw, problems: Problems, common: dict) -> Scenario:
    """A scenario with ``populations:``: the network's parts, each checked, then expanded once."""
    for key in ("params", "initial"):
        block = raw.get(key)
        for name in (block if isinstance(block, dict) and block else [None] if key in raw else []):
            where = key if name is None else f"{key}.{name}"
            problems.add(where, f"a network scenario gives {key} per population (populations.<name>.{key}"
                                f"{'' if name is None else '.' + str(name)}); allowed at the top only without "
                                f"populations")
    threads = raw.get("nest_threads", 1)
    if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= MAX_THREADS:
        problems.add("nest_threads", f"{shown(threads)}; allowed: an integer from 1 to {MAX_THREADS} (NEST's "
                                     f"local_num_threads for the reference run)")
        threads = 1
    # A refused population keeps its name (a target naming it is skipped) and refused values are NaN; a
    # refused resolution or duration leaves out the delays' grid and the step counts, not the rest.
    populations, params, initial, refused = parse_populations(raw, problems)
    tps, res, n_steps = common["tics_per_step"], common["resolution"], common["n_steps"]
    n = sum(p.n for p in populations)
    connections = parse_connections(raw, (populations, refused), params, tps, res, problems)
    inputs = parse_network_inputs(raw, (populations, params, refused), tps, res, n_steps, problems)
    neurons, variables = parse_network_record(raw, (populations, refused), n, n_steps, problems)
    problems.raise_if_any()
    network = NetworkSpec(populations=populations, params=params, initial=initial, connections=connections,
                      inputs=tuple(inputs), record_neurons=neurons, threads=threads)
    return Scenario(**common, params={}, initial={}, inputs=(), record=tuple(variables), network=network,
                    content_hash=content_hash(raw))


def content_hash(raw) -> str:
    """Hash of what the file means, not how it is spelled: comments and key order do not count.

    A port's expectation (expect, expect_reason) is not part of the experiment: flipping it when a port is
    fixed must not make the stored NEST reference stale.
    """
    if isinstance(raw, dict):
        raw = {k: v for k, v in raw.items() if k not in ("expect", "expect_reason")}
    return "sha256:" + hashlib.sha256(canonical_json(raw).encode()).hexdigest()


def canonical_json(raw) -> str:
    """One text per meaning: keys sorted, no spaces, a value JSON cannot hold (a YAML date) as its str."""
    return json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)


# ---------------------------------------------------------------------------------------------------
# Top-level fields

def _resolution(raw, problems):
    res = read_number(raw, "resolution", "", problems, default=DEFAULT_RESOLUTION)
    if res is None:
        return DEFAULT_RESOLUTION, None
    if res <= 0:
        problems.add("resolution", f"{res} ms is not positive; allowed: a positive multiple of 0.001 ms")
        return res, None
    if not grid.is_whole_tics(res) or grid.ms_to_tics(res) == 0:
        problems.add("resolution", f"{res} ms is not a whole number of NEST tics (0.001 ms); "
                                   f"allowed: a positive multiple of 0.001 ms")
        return res, None
    if res > bounds.MAX_RESOLUTION_MS:
        problems.add("resolution", f"{res} ms; allowed: a positive multiple of 0.001 ms up to "
                                   f"{bounds.MAX_RESOLUTION_MS:g} ms")
        return res, None
    return res, grid.ms_to_tics(res)


def _duration(raw, tps, res, problems):
    if "duration" not in raw:
        problems.add("duration", "missing; allowed: a positive multiple of the resolution, in ms")
        return None
    duration = read_number(raw, "duration", "", problems)
    if duration is None:
        return None
    of_res = f"the resolution {res} ms" if tps is not None else "the resolution"  # a refused one is not named
    if duration <= 0:
        problems.add("duration", f"{duration} ms is not positive; allowed: a positive multiple of {of_res}")
        return None
    if duration > bounds.MAX_TIME_MS:
        problems.add("duration", f"{duration} ms; allowed: a positive multiple of {of_res}, "
                                 f"at most {bounds.MAX_TIME_MS:g} ms")
        return None
    if tps is None:  # the resolution is refused (reported): the grid checks cannot run
        return None
    if not grid.on_grid(duration, tps):
        problems.add("duration", f"{duration} ms is not a multiple of the resolution {res} ms")
        return None
    n_steps = grid.ms_to_steps(duration, tps)
    if n_steps == 0:  # 1e-300 ms lies within rounding of the grid
        problems.add("duration", f"{duration} ms is 0 steps; allowed: a positive multiple of the resolution {res} ms")
        return None
    if n_steps > MAX_STEPS:  # every step is recorded (and Poisson inputs drawn) in memory
        problems.add("duration", f"{duration} ms is {n_steps} steps of {res} ms; allowed: at most {MAX_STEPS} "
                                 f"steps, since every step is recorded")
        return None
    return n_steps


def _chunks(raw, tps, n_steps, problems):
    if raw.get("simulate_chunks") is None:
        return [n_steps] if n_steps is not None else []
    values = read_numbers(raw, "simulate_chunks", "", problems)
    if values is None:
        return []
    if len(values) > bounds.MAX_CHUNKS:
        problems.add("simulate_chunks", f"{len(values)} chunks; allowed: at most {bounds.MAX_CHUNKS} Simulate calls")
        return []
    steps = []
    for i, v in enumerate(values):
        key = f"simulate_chunks[{i}]"
        if v is None:  # no number (reported)
            continue
        # Without a grid (the resolution is refused) a chunk is checked for its sign and size only.
        on_grid = tps is not None and grid.on_grid(v, tps)
        if v > bounds.MAX_TIME_MS:
            problems.add(key, f"{v} ms is longer than any duration; allowed: at most {bounds.MAX_TIME_MS:g} ms")
        elif v <= 0 or (on_grid and grid.ms_to_steps(v, tps) == 0):  # 0 steps: e.g. 1e-300 ms
            problems.add(key, f"{v} ms is not positive; allowed: positive multiples of the resolution")
        elif tps is not None and not on_grid:
            problems.add(key, f"{v} ms is not a multiple of the resolution {grid.step_length_ms(tps)} ms")
        elif tps is not None:
            steps.append(grid.ms_to_steps(v, tps))
    if n_steps is not None and len(steps) == len(values) and sum(steps) != n_steps:
        problems.add("simulate_chunks", f"the chunks sum to {sum(values)} ms but duration is "
                                        f"{grid.steps_to_ms(n_steps, tps)} ms; they must sum to duration")
    if not values:
        problems.add("simulate_chunks", "empty list; allowed: one or more chunk lengths summing to duration")
    return steps


def _record(raw, problems):
    if raw.get("record") is None:
        return list(RECORDABLES)
    values = raw["record"]
    if not isinstance(values, list) or not values:
        problems.add("record", f"expected a non-empty list of recordables, got {type_name(values)}; "
                               f"allowed: {', '.join(RECORDABLES)}")
        return list(RECORDABLES)
    for i, v in enumerate(values):
        if v not in RECORDABLES:
            problems.add(f"record[{i}]", f"unknown recordable {shown(v)}{suggest(v, RECORDABLES)}; "
                                         f"allowed: {', '.join(RECORDABLES)}")
    if len(set(map(str, values))) != len(values):
        problems.add("record", "a recordable is listed twice")
    # The model's order (RECORDABLES), whatever the file's order, so that traces line up across scenarios.
    return [r for r in RECORDABLES if r in values]


def _expectation(raw, problems):
    expect = raw.get("expect", "pass")
    if expect not in EXPECT_VALUES:
        problems.add("expect", f"{shown(expect)}; allowed: {', '.join(EXPECT_VALUES)}")
        expect = "pass"
    reason = read_string(raw, "expect_reason", "", problems, default="")
    if expect == "fail" and not reason.strip():
        problems.add("expect_reason", "missing; `expect: fail` needs the reason (which finding the scenario "
                                      "reproduces), so that the expected failure stays explained")
    return expect, reason


def _tolerances(raw, problems):
    """The `tolerances:` block, validated and normalised (floats, an int window) for the comparator."""
    block = read_mapping(raw, "tolerances", "", problems)
    check_keys(block, TOLERANCE_KEYS, "tolerances", problems)
    normalised = {}
    for key, value in block.items():
        if key == "profile":
            if not isinstance(value, str):
                problems.add("tolerances.profile", f"expected a profile name, got {type_name(value)}; "
                                                   f"allowed: {', '.join(PROFILE_NAMES)}")
            elif value not in PROFILE_NAMES:
                problems.add("tolerances.profile", unknown_profile_message(value))
            else:
                normalised["profile"] = value
            continue
        if key not in TOLERANCE_KEYS:
            continue
        sub = read_mapping(block, key, "tolerances", problems)
        if key == "spikes":
            check_keys(sub, ("window_steps",), "tolerances.spikes", problems)
            window = sub.get("window_steps")
            if window is None:
                continue
            if not isinstance(window, int) or isinstance(window, bool) or window < 0 or window > MAX_STEPS:
                problems.add("tolerances.spikes.window_steps", f"{shown(window)} is not a whole number of steps "
                                                               f">= 0; allowed: 0, 1, 2, ... up to {MAX_STEPS}")
            else:
                normalised["spikes"] = {"window_steps": window}
            continue
        check_keys(sub, ("abs", "rel"), f"tolerances.{key}", problems)
        for k in ("abs", "rel"):
            v = read_number(sub, k, f"tolerances.{key}", problems)
            if v is not None and v < 0:
                problems.add(f"tolerances.{key}.{k}", f"{v} is negative; allowed: a number >= 0")
            elif v is not None:
                normalised.setdefault(key, {})[k] = v
    return normalised
