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
_NEURON = re.compile(r"(?P<population>[A-Za-z_][A-Za-z0-9_]*)\[(?P<index>[0-9]+)\]")


def parse_populations(raw, problems: Problems):
    """(populations, params, initial): the specs in file order and per-parameter (n,) arrays; None if broken."""
    block = read_mapping(raw, "populations", "", problems)
    if not block:
        problems.add("populations", "empty; allowed: a mapping of population names to {n, params, initial}")
        return None
    specs, params, initial, start, broken = [], [], [], 0, False
    for name, entry in block.items():
        where = f"populations.{name}"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.add(where, f"{shown(name)} cannot name a population; allowed: a letter or '_', then "
                                f"letters, digits, '_' (a neuron is then named like {name}[0])")
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
        if p is None or s is None:
            broken = True
            continue
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
        problems.add(f"{where}.n", "missing; allowed: the number of neurons, an integer >= 1")
        return None
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_NEURONS:
        problems.add(f"{where}.n", f"{shown(n)}; allowed: an integer from 1 to {MAX_NEURONS}")
        return None
    return n


def _per_neuron(entry, block, defaults, n, where, problems, parse):
    """One (n,) array per name of ``block``: each neuron's values parsed and checked on their own, the
    problems renamed to the neuron's list index and reported once each."""
    given = read_mapping(entry, block, where, problems)
    if not isinstance(entry.get(block, {}), dict):
        return None
    check_keys(given, tuple(defaults), f"{where}.{block}", problems,
               what="parameter of " + MODEL if block == "params" else "initial state variable")
    lists = {k: v for k, v in given.items() if isinstance(v, list)}
    for key, values in lists.items():
        if len(values) != n:
            problems.add(f"{where}.{block}.{key}", f"has {len(values)} values for {n} neurons; allowed: one "
                                                   f"number for the population, or a list of exactly {n}")
            return None
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
    return values if ok else None


def resolve_target(value, populations, where, problems, *, what="target") -> np.ndarray | None:
    """The neuron indices a target names: a population (all its neurons) or one neuron ``name[i]``."""
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
        problems.add(where, f"{shown(value)}: population {p.name} has {p.n} neurons, {p.name}[0] to "
                            f"{p.name}[{p.n - 1}]")
        return None
    base = match["population"] if match else value
    problems.add(where, f"unknown {what} {shown(value)}{suggest(base, by_name)}; allowed: {allowed} (devices "
                        f"are not targets of connections: they are given under inputs)")
    return None


def label_of(index: int, populations) -> str:
    """The name ``<population>[i]`` of neuron ``index``."""
    for p in populations:
        if p.start <= index < p.start + p.n:
            return f"{p.name}[{index - p.start}]"
    raise IndexError(index)
