"""The `populations:` block of a network scenario, and the names that point into it.

A population has ``n`` neurons and its own ``params`` and ``initial`` blocks, each value one number for the
whole population or a list of one number per neuron. Every neuron is checked by the same rules as a
single-neuron scenario's (``harness.scenario.params``); a problem names the neuron's list index. Neurons are
numbered in file order (population after population), which is NEST's creation order: node IDs 1..n.

A *target* (of a connection, an input, the recording) is a population's name, ``E``, or one neuron, ``E[2]``.
"""
from __future__ import annotations

import re

import numpy as np

from harness.model.parameters import DEFAULTS, INITIAL_STATE, MODEL
from harness.scenario.fields import (
    Problems,
    check_keys,
    read_mapping,
    shown,
    suggest,
    type_name,
)
from harness.scenario.params import parse_initial, parse_params
from harness.scenario.types import PopulationSpec

POPULATION_KEYS = ("n", "params", "initial")
MAX_NEURONS = 10_000  # every neuron is recorded at every step unless record.neurons says otherwise
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# NEST's device models (generators and recorders): a connection naming one is a mistake the message can name.
NEST_DEVICES = frozenset((
    "spike_generator", "poisson_generator", "poisson_spikes", "dc_generator", "step_current_generator",
    "ac_generator", "noise_generator", "inhomogeneous_poisson_generator", "sinusoidal_poisson_generator",
    "spike_recorder", "multimeter", "voltmeter", "weight_recorder", "spike_dilutor"))
_NEURON = re.compile(r"(?P<population>[A-Za-z_][A-Za-z0-9_]*)\[(?P<index>[0-9]+)\]")


def parse_populations(raw, problems: Problems):
    """(populations, params, initial): the specs in file order and per-parameter (n,) arrays; None if a name or
    size is broken. A population whose params or initial have problems keeps its neurons (so that the
    connections, inputs and recording are still checked, and every problem is reported at once) with NaN
    values, which no later check trips on."""
    value = raw.get("populations")
    if not isinstance(value, dict) or not value:
        got = "an empty mapping" if isinstance(value, dict) else type_name(value)
        problems.add("populations", f"expected a mapping of population names to {{n, params, initial}}, got {got}; "
                                    f"allowed: for example {{E: {{n: 3}}, I: {{n: 1}}}}")
        return None
    specs, params, initial, start, broken = [], [], [], 0, False
    for name, entry in value.items():
        where = f"populations.{name}"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.add(where, f"{shown(name)} cannot name a population; allowed: a letter or '_', then "
                                f"letters, digits, '_' (a neuron is then named like E[0])")
            broken = True
            continue
        if not isinstance(entry, dict):
            problems.add(where, f"expected a mapping with keys {', '.join(POPULATION_KEYS)}, got {type_name(entry)}")
            broken = True
            continue
        check_keys(entry, POPULATION_KEYS, where, problems)
        n = _size(entry, where, problems)
        if n is None:
            broken = True
            continue
        if start + n > MAX_NEURONS:
            problems.add(f"{where}.n", f"the populations up to here hold {start + n} neurons; allowed: at most "
                                       f"{MAX_NEURONS} in one scenario")
            return None
        p = _per_neuron(entry, "params", DEFAULTS, n, where, problems, parse_params)
        s = _per_neuron(entry, "initial", INITIAL_STATE, n, where, problems, parse_initial)
        specs.append(PopulationSpec(name, start, n))
        params.append(p)
        initial.append(s)
        start += n
    if broken:
        return None
    join = lambda blocks, names: {k: np.concatenate([b[k] for b in blocks]) for k in names}  # noqa: E731
    return tuple(specs), join(params, DEFAULTS), join(initial, INITIAL_STATE)


def _size(entry, where, problems) -> int | None:
    n = entry.get("n")
    if n is None:
        problems.add(f"{where}.n", "missing; allowed: the number of neurons, an integer from 1 to "
                                   f"{MAX_NEURONS}")
        return None
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_NEURONS:
        got = f"{shown(n)} neurons" if isinstance(n, int) and not isinstance(n, bool) else \
            f"expected the number of neurons, got {type_name(n)} {shown(n)}"
        problems.add(f"{where}.n", f"{got}; allowed: an integer from 1 to {MAX_NEURONS}")
        return None
    return n


def _per_neuron(entry, block, defaults, n, where, problems, parse):
    """One (n,) array per name of ``block``: each neuron's values parsed and checked on their own, the
    problems renamed to the neuron's list index and reported once each. All NaN if anything is wrong."""
    broken = {k: np.full(n, np.nan) for k in defaults}
    given = read_mapping(entry, block, where, problems)
    if not isinstance(entry.get(block, {}), dict):
        return broken
    check_keys(given, tuple(defaults), f"{where}.{block}", problems,
               what="parameter of " + MODEL if block == "params" else "initial state variable")
    lists = {k: v for k, v in given.items() if isinstance(v, list)}
    wrong = [k for k, v in lists.items() if len(v) != n]
    for key in wrong:
        problems.add(f"{where}.{block}.{key}", f"has {_count(len(lists[key]), 'value')} for {_count(n, 'neuron')}; "
                                               f"allowed: one number for the population, or a list of exactly {n}")
    if wrong:
        return broken
    values = {k: np.empty(n) for k in defaults}
    seen, ok = set(), True
    for i in range(n):
        scratch = Problems(problems.path)
        one = {block: {k: (v[i] if k in lists else v) for k, v in given.items() if k in defaults}}
        parsed = parse(one, scratch)
        for key, message in scratch.items:
            name = key.split(".", 1)[1] if "." in key else key
            full = f"{where}.{block}.{name}" + (f"[{i}]" if name in lists else "")
            if (full, message) not in seen:
                seen.add((full, message))
                problems.add(full, message)
        ok &= not scratch.items
        for k in defaults:
            values[k][i] = parsed[k]
    return values if ok else broken


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def resolve_target(value, populations, where, problems, *, what="target", connection=False) -> np.ndarray | None:
    """The neuron indices a target names: a population (all its neurons) or one neuron ``name[i]``.
    ``connection``: the name is a connection's source or target, where a device's name is a common mistake."""
    by_name = {p.name: p for p in populations}
    allowed = (f"a population ({', '.join(by_name)}) or one of its neurons, such as "
               f"{populations[0].name}[0]" if populations else "a population")
    if not isinstance(value, str):
        problems.add(where, f"expected a population or neuron name, got {type_name(value)} {shown(value)}; "
                            f"allowed: {allowed}")
        return None
    if value in by_name:
        p = by_name[value]
        return np.arange(p.start, p.start + p.n, dtype=np.int64)
    match = _NEURON.fullmatch(value)
    if match and match["population"] in by_name:
        p, i = by_name[match["population"]], int(match["index"])
        if i < p.n:
            return np.array([p.start + i], dtype=np.int64)
        span = f"{p.name}[0]" if p.n == 1 else f"{p.name}[0] to {p.name}[{p.n - 1}]"
        problems.add(where, f"{shown(value)}: neuron index {i} is out of range: population {p.name} has "
                            f"{_count(p.n, 'neuron')}, {span}")
        return None
    base = match["population"] if match else value
    if connection and base.lower() in NEST_DEVICES:
        problems.add(where, f"{shown(value)} is a device, not a population; a connection joins neurons: give a "
                            f"generator under inputs (with a target) and the recording under record; allowed "
                            f"here: {allowed}")
        return None
    same_letters = [name for name in by_name if name.lower() == base.lower()]  # names are case-sensitive
    hint = f" (did you mean {same_letters[0]!r}?)" if same_letters else suggest(base, by_name)
    problems.add(where, f"unknown {what} {shown(value)}{hint}; allowed: {allowed}")
    return None


def label_of(index: int, populations) -> str:
    """The name ``<population>[i]`` of neuron ``index``."""
    for p in populations:
        if p.start <= index < p.start + p.n:
            return f"{p.name}[{index - p.start}]"
    raise IndexError(index)
