"""The `populations:` block of a network scenario, and the names that point into it.

A population has ``n`` neurons and its own ``params`` and ``initial`` blocks, each value one number for the
whole population or a list of one number per neuron. Every neuron is checked by the same rules as a
single-neuron scenario's (``harness.scenario.params``); a problem names the neuron's list index. Neurons are
numbered in file order (population after population), which is NEST's creation order: node IDs 1..n.

A *target* (of a connection, an input, the recording) is a population's name, ``E``, or one neuron, ``E[2]``.
A population that is refused (a bad name or size, reported) keeps its name in ``Refused``: a target naming
it is skipped silently, so that the connections, inputs and recording are checked all the same and the one
mistake is reported once.
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
from harness.scenario.nest_devices import NEST_DEVICES
from harness.scenario.params import parse_initial, parse_params, refused_as_nan
from harness.scenario.types import PopulationSpec

POPULATION_KEYS = ("n", "params", "initial")
MAX_NEURONS = 10_000  # every neuron is recorded at every step unless record.neurons says otherwise
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NEURON = re.compile(r"(?P<population>[A-Za-z_][A-Za-z0-9_]*)\[(?P<index>[0-9]+)\]")


class Refused:
    """The names of populations whose problems are reported (``every``: the populations block itself)."""

    def __init__(self, names=(), every: bool = False):
        self.names, self.every = set(names), every

    def __contains__(self, name) -> bool:
        return self.every or self.holds(name)

    def holds(self, name) -> bool:
        """``name`` is one of the refused names (``every`` aside)."""
        try:
            return name in self.names
        except TypeError:  # a list or mapping names no population
            return False


def parse_populations(raw, problems: Problems):
    """(populations, params, initial, refused): the specs in file order, per-parameter (n,) arrays, and the
    names of the populations left out because their name or size is refused (``Refused``). A population whose
    params or initial have problems keeps its neurons (so that the connections, inputs and recording are still
    checked, and every problem is reported at once), with NaN for each refused value, which no later check
    trips on."""
    value = raw.get("populations")
    specs, params, initial, start, refused, full = [], [], [], 0, Refused(), False
    if not isinstance(value, dict) or not value:
        got = "an empty mapping" if isinstance(value, dict) else type_name(value)
        problems.add("populations", f"expected a mapping of population names to {{n, params, initial}}, got {got}; "
                                    f"allowed: for example {{E: {{n: 3}}, I: {{n: 1}}}}")
        return _joined(specs, params, initial, Refused(every=True))
    for name, entry in value.items():
        where = f"populations.{name}"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.add(where, f"{shown(name)} cannot name a population; allowed: a letter or '_', then "
                                f"letters, digits, '_' (a neuron is then named like E[0])")
            refused.names.add(name)
            continue
        if not isinstance(entry, dict):
            problems.add(where, f"expected a mapping with keys {', '.join(POPULATION_KEYS)}, got {type_name(entry)}")
            refused.names.add(name)
            continue
        check_keys(entry, POPULATION_KEYS, where, problems)
        n = _size(entry, where, problems)
        if n is None or full:  # past the neuron limit only names and sizes are checked
            refused.names.add(name)
            continue
        if start + n > MAX_NEURONS:
            problems.add(f"{where}.n", f"the populations up to here hold {start + n} neurons; allowed: at most "
                                       f"{MAX_NEURONS} in one scenario")
            refused.names.add(name)
            full = True
            continue
        p = _per_neuron(entry, "params", DEFAULTS, n, where, problems, parse_params)
        s = _per_neuron(entry, "initial", INITIAL_STATE, n, where, problems, parse_initial)
        specs.append(PopulationSpec(name, start, n))
        params.append(p)
        initial.append(s)
        start += n
    return _joined(specs, params, initial, refused)


def _joined(specs, params, initial, refused):
    def join(blocks, names):
        return {k: np.concatenate([b[k] for b in blocks]) if blocks else np.zeros(0) for k in names}

    return tuple(specs), join(params, DEFAULTS), join(initial, INITIAL_STATE), refused


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
    problems renamed to the neuron's list index and reported once each. NaN for every refused value (a
    list of the wrong length, a null), all NaN when the block itself is refused."""
    broken = {k: np.full(n, np.nan) for k in defaults}
    given = read_mapping(entry, block, where, problems)
    if not isinstance(entry.get(block, {}), dict):
        return broken
    check_keys(given, tuple(defaults), f"{where}.{block}", problems,
               what="parameter of " + MODEL if block == "params" else "initial state variable")
    lists = {k: v for k, v in given.items() if isinstance(v, list)}
    wrong = {k for k, v in lists.items() if len(v) != n}
    for key in wrong:
        problems.add(f"{where}.{block}.{key}", f"has {_count(len(lists[key]), 'value')} for {_count(n, 'neuron')}; "
                                               f"allowed: one number for the population, or a list of exactly {n}")
    values = {k: np.empty(n) for k in defaults}
    seen = set()
    for i in range(n):
        scratch = Problems(problems.path)
        # A list of the wrong length is given as null: NaN, reported already, and judged by no rule.
        one = {block: {k: None if k in wrong else v[i] if k in lists else v for k, v in given.items() if k in defaults}}
        parsed = parse(one, scratch)
        for key, message in scratch.items:
            name = key.split(".", 1)[1] if "." in key else key
            full = f"{where}.{block}.{name}" + (f"[{i}]" if name in lists else "")
            if (full, message) not in seen:
                seen.add((full, message))
                problems.add(full, message)
        parsed = refused_as_nan(parsed, scratch, 0, block)
        for k in defaults:
            values[k][i] = parsed[k]
    return values


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def resolve_target(value, populations, where, problems, *, what="target", connection=False,
                   refused=None) -> np.ndarray | None:
    """The neuron indices a target names: a population (all its neurons) or one neuron ``name[i]``.
    ``connection``: the name is a connection's source or target, where a device's name is a common mistake.
    ``refused``: the names of populations already reported (``Refused``); a target naming one is None, silently."""
    refused = Refused() if refused is None else refused
    if not isinstance(value, str) and refused.holds(value):  # a population named 1 (refused), targeted as 1
        return None
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
    if base in refused or value.split("[", 1)[0] in refused:
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
