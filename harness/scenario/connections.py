"""The `connections:` list of a network scenario, each rule expanded once into the explicit connection list.

Rules and parameters are NEST's (``nest.Connect``'s ``conn_spec``): ``all_to_all``, ``one_to_one``,
``fixed_indegree`` (``indegree``), ``fixed_outdegree`` (``outdegree``), ``pairwise_bernoulli`` (``p``), with
``allow_autapses`` and ``allow_multapses`` (both true by default, as in NEST). NEST's random rules draw from
NEST's own generators, so the harness never lets NEST draw: it expands every rule here, with NumPy's
``default_rng(seed)``, into (source, target) pairs in the order below, and every backend builds exactly that
list (docs/model.md, "Networks"):

* all_to_all: target by target (ascending), and for each target source by source: NEST's own loop order;
* one_to_one: the i-th source to the i-th target (without the pairs i -> i if allow_autapses is false);
* fixed_indegree: target by target; for each, ``indegree`` sources drawn from the allowed ones
  (``integers`` with multapses, ``choice(replace=False)`` without), in draw order;
* fixed_outdegree: source by source; for each, ``outdegree`` targets drawn the same way;
* pairwise_bernoulli: ``random((targets, sources)) < p``, target by target, source by source.

``weight`` and ``delay`` are one number, or a list of one value per connection in that order (for the rules
whose count is known before the draw).
"""
from __future__ import annotations

import numpy as np

from harness import grid
from harness.model.parameters import RECEPTOR_TYPES
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
from harness.scenario.populations import label_of, resolve_target
from harness.scenario.types import Connections

RULES = {  # rule -> its own parameters (beyond source, target, receptor, weight, delay)
    "all_to_all": ("allow_autapses",),
    "one_to_one": ("allow_autapses",),
    "fixed_indegree": ("indegree", "allow_autapses", "allow_multapses", "seed"),
    "fixed_outdegree": ("outdegree", "allow_autapses", "allow_multapses", "seed"),
    "pairwise_bernoulli": ("p", "allow_autapses", "seed"),
}
ORDER = {  # the expansion order of each rule, as a message states it
    "all_to_all": "target by target, and for each target source by source",
    "one_to_one": "pair by pair",
    "fixed_indegree": "target by target, each target's sources in draw order",
    "fixed_outdegree": "source by source, each source's targets in draw order",
}
COMMON_KEYS = ("source", "target", "rule", "receptor", "weight", "delay")
ALL_KEYS = COMMON_KEYS + tuple(dict.fromkeys(k for keys in RULES.values() for k in keys))
MAX_CONNECTIONS = 1_000_000


def parse_connections(raw, network, params, tps, res, problems) -> Connections | None:
    """The connection list; None when a rule has problems. ``network``: (populations, refused names); ``tps``
    None: the resolution is refused, and every rule is checked except its delays' grid."""
    entries = raw.get("connections", [])
    if not isinstance(entries, list):
        problems.add("connections", f"expected a list of connection rules, got {type_name(entries)}")
        return None
    parts, total, broken, build = [], 0, False, True
    for i, entry in enumerate(entries):
        where = f"connections[{i}]"
        if not isinstance(entry, dict):
            problems.add(where, f"expected a mapping with keys source, target, rule, ...; got {type_name(entry)}")
            broken = True
            continue
        part = _one_rule(entry, where, network, params, tps, res, problems, build)
        if part is None:
            broken = True
            continue
        total += len(part[0])
        if total > MAX_CONNECTIONS:
            problems.add(where, f"the rules up to here make {total} connections; allowed: at most "
                                f"{MAX_CONNECTIONS} in one scenario")
            broken, build = True, False  # the rules after it are checked, not expanded
            continue
        parts.append(part)
    if broken:
        return None
    cat = lambda k, dtype: np.concatenate([p[k] for p in parts]).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
    return Connections(source=cat(0, np.int64), target=cat(1, np.int64), receptor=cat(2, np.int64),
                       weight=cat(3, np.float64), delay_steps=cat(4, np.int64))


def _one_rule(entry, where, network, params, tps, res, problems, build=True):
    """One rule's (source, target, receptor, weight, delay steps) arrays, or None. Every field is checked on
    its own first (a bad source does not hide a bad delay); what needs the expansion (a list's length, the
    stiffness on the targets' C_m, the degrees against the neurons there are) only once the rest is good."""
    populations, refused = network
    rule = entry.get("rule", "all_to_all")
    if not isinstance(rule, str) or rule not in RULES:
        problems.add(f"{where}.rule", f"unknown rule {shown(rule)}{suggest(str(rule), RULES)}; allowed: "
                                      f"{', '.join(RULES)}")
        check_keys(entry, ALL_KEYS, where, problems)
        rule = None
    else:
        _check_rule_keys(entry, rule, where, problems)
    missing = [k for k in ("source", "target", "receptor") if k not in entry]
    for key in missing:
        problems.add(f"{where}.{key}", "missing; allowed: " + (
            "AMPA, GABA, NMDA" if key == "receptor" else "a population or one neuron such as E[0]"))
    sources = resolve_target(entry.get("source"), populations, f"{where}.source", problems,
                             what="source", connection=True, refused=refused) if "source" in entry else None
    targets = resolve_target(entry.get("target"), populations, f"{where}.target", problems,
                             connection=True, refused=refused) if "target" in entry else None
    receptor = _receptor(entry, where, problems) if "receptor" in entry else None
    flags = {k: _flag(entry, k, where, problems) for k in ("allow_autapses", "allow_multapses")}
    knobs = _rule_parameters(rule, entry, where, problems) if rule else None
    weight = _given(entry, "weight", rule, where, problems, tps, res)
    delay = _given(entry, "delay", rule, where, problems, tps, res)
    if any_missing(sources, targets, receptor, knobs, weight, delay, *flags.values()) or not build or tps is None:
        return None
    if not _countable(rule, entry, sources, targets, where, problems):
        return None
    pairs = _expand(rule, knobs, sources, targets, flags, where, problems, populations)
    if pairs is None:
        return None
    src, tgt = pairs
    weight = _per_connection(weight, "weight", len(src), rule, where, problems)
    delay_steps = _per_connection(delay, "delay", len(src), rule, where, problems)
    if weight is None or delay_steps is None:
        return None
    weight = _checked_weights(weight, params["C_m"][tgt], where, problems, isinstance(entry.get("weight"), list))
    if weight is None:
        return None
    return src, tgt, np.full(len(src), RECEPTOR_TYPES[receptor]), weight, delay_steps.astype(np.int64)


def _given(entry, key, rule, where, problems, tps, res):
    """(values, listed): ``key`` as the file gives it (one number, or a list), each value checked on its own
    (a weight's size, a delay's grid, in steps); the default where it is left out; None (and problems)."""
    value = entry.get(key)
    listed, refused = isinstance(value, list), False
    if value is None:
        values = np.array([1.0 if key == "weight" else res])
    elif listed and rule == "pairwise_bernoulli":
        problems.add(f"{where}.{key}", "a list needs a known number of connections; pairwise_bernoulli "
                                       "draws it: give one number")
        return None
    elif listed:
        numbers = read_numbers(entry, key, where, problems)
        refused = None in numbers  # reported; the good ones are checked as well, NaN in the others' places
        values = np.asarray([np.nan if v is None else v for v in numbers], dtype=np.float64)
    else:
        number = read_number(entry, key, where, problems)
        values = None if number is None else np.array([number])
    if values is None:
        return None
    if key == "weight":  # the stiffness waits for the targets' C_m: NaN here
        values = _checked_weights(values, np.full(len(values), np.nan), where, problems, listed)
    elif value is not None or tps is not None:  # the default (the resolution) only on a known grid
        values = _delay_steps(values, tps, res, where, problems, listed)
    return None if values is None or refused else (values, listed)


def _check_rule_keys(entry, rule, where, problems):
    """Unknown keys; a parameter of another rule (indegree on all_to_all) names the rule it belongs to."""
    allowed = COMMON_KEYS + RULES[rule]
    for key in entry:
        if key in allowed:
            continue
        owners = [r for r, keys in RULES.items() if key in keys]
        if owners:
            problems.add(f"{where}.{key}", f"{key} is a parameter of rule {' and '.join(owners)}, not of {rule}; "
                                           f"allowed for {rule}: {', '.join(allowed)}")
        else:
            check_keys({key: None}, allowed, where, problems, what=f"field of rule {rule}")


def _countable(rule, entry, sources, targets, where, problems) -> bool:
    """False (and a problem) when the rule would make (or draw) more than MAX_CONNECTIONS pairs: refused
    before anything is allocated."""
    per = {"fixed_indegree": (len(targets), "indegree"), "fixed_outdegree": (len(sources), "outdegree")}
    if rule in per:
        fixed, key = per[rule]
        degree = entry.get(key)
        count = fixed * degree if isinstance(degree, int) and not isinstance(degree, bool) else 0
    elif rule == "one_to_one":
        count = len(sources)
    elif rule == "all_to_all" and entry.get("allow_autapses") is False:
        count = len(sources) * len(targets) - len(np.intersect1d(sources, targets))
    else:  # pairwise_bernoulli draws one number per pair
        count = len(sources) * len(targets)
    if count > MAX_CONNECTIONS:
        what = "draws" if rule == "pairwise_bernoulli" else "makes"
        problems.add(where, f"rule {rule} from {_plural(len(sources), 'neuron')} to "
                            f"{_plural(len(targets), 'neuron')} {what} {count} pairs; allowed: at most "
                            f"{MAX_CONNECTIONS} in one scenario")
        return False
    return True


def _receptor(entry, where, problems):
    value = entry["receptor"]
    by_number = {v: k for k, v in RECEPTOR_TYPES.items()}
    if isinstance(value, int) and not isinstance(value, bool) and value in by_number:
        return by_number[value]
    if isinstance(value, str) and value in RECEPTOR_TYPES:
        return value
    problems.add(f"{where}.receptor", f"unknown receptor {shown(value)}{suggest(str(value), RECEPTOR_TYPES)}; "
                                      f"allowed: {', '.join(RECEPTOR_TYPES)} (or 1, 2, 3)")
    return None


def _flag(entry, key, where, problems):
    value = entry.get(key, True)
    if not isinstance(value, bool):
        problems.add(f"{where}.{key}", f"expected true or false, got {type_name(value)} {shown(value)}")
        return None
    return value


def _count(entry, key, where, problems):
    value = entry.get(key)
    if value is None:
        problems.add(f"{where}.{key}", "missing; allowed: an integer >= 0")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > MAX_CONNECTIONS:
        problems.add(f"{where}.{key}", f"{shown(value)}; allowed: an integer from 0 to {MAX_CONNECTIONS}")
        return None
    return value


def _seed(entry, rule, where, problems):
    seed = entry.get("seed")
    if seed is None:
        problems.add(f"{where}.seed", f"missing; rule {rule} draws its connections (NumPy's default_rng(seed)), so "
                                      f"it needs a seed; allowed: an integer from 0 to {bounds.MAX_SEED}")
        return None
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= bounds.MAX_SEED:
        problems.add(f"{where}.seed", f"{shown(seed)}; allowed: an integer from 0 to {bounds.MAX_SEED}")
        return None
    return seed


def _rule_parameters(rule, entry, where, problems) -> dict | None:
    """The rule's own parameters (seed, p, indegree or outdegree), each checked; None if one is refused."""
    if rule in ("all_to_all", "one_to_one"):
        return {}
    knobs = {"seed": _seed(entry, rule, where, problems)}
    if rule == "pairwise_bernoulli":
        p = read_number(entry, "p", where, problems)
        if "p" not in entry:
            problems.add(f"{where}.p", "missing; allowed: a probability from 0 to 1")
        elif p is not None and not 0 <= p <= 1:
            problems.add(f"{where}.p", f"{p} is not a probability (NEST refuses it); allowed: 0 <= p <= 1")
            p = None
        knobs["p"] = p
    else:
        knobs["degree"] = _count(entry, "indegree" if rule == "fixed_indegree" else "outdegree", where, problems)
    return None if None in knobs.values() else knobs


def _expand(rule, knobs, sources, targets, flags, where, problems, populations):
    """(source, target) index arrays of the rule, in the documented order; None (and problems) if NEST would
    refuse the rule for these neurons."""
    autapses, multapses = flags["allow_autapses"], flags["allow_multapses"]
    if rule == "all_to_all":
        src, tgt = np.tile(sources, len(targets)), np.repeat(targets, len(sources))
        keep = autapses | (src != tgt)
        return src[keep], tgt[keep]
    if rule == "one_to_one":
        if len(sources) != len(targets):
            problems.add(f"{where}.target", f"one_to_one needs as many targets as sources (NEST refuses it); "
                                            f"the source has {_plural(len(sources), 'neuron')}, the target "
                                            f"{_plural(len(targets), 'neuron')}")
            return None
        keep = autapses | (sources != targets)
        return sources[keep], targets[keep]
    seed = knobs["seed"]
    if rule == "pairwise_bernoulli":
        hit = np.random.default_rng(seed).random((len(targets), len(sources))) < knobs["p"]
        src, tgt = np.tile(sources, len(targets)), np.repeat(targets, len(sources))
        keep = hit.ravel() & (autapses | (src != tgt))
        return src[keep], tgt[keep]
    key, fixed, drawn = ("indegree", targets, sources) if rule == "fixed_indegree" else ("outdegree", sources, targets)
    degree = knobs["degree"]
    rng = np.random.default_rng(seed)
    out_fixed, out_drawn = [], []
    side = "source" if rule == "fixed_indegree" else "target"
    for node in fixed.tolist():
        allowed = drawn if autapses else drawn[drawn != node]
        name = label_of(node, populations)
        if degree and not len(allowed):
            problems.add(f"{where}.{key}", f"{degree}, but {name} has no allowed {side}: allow_autapses is false "
                                           f"and {name} is the only {side} (NEST's connect loop would never "
                                           f"end); allowed: {key}: 0, allow_autapses: true, or more {side}s")
            return None
        if not multapses and degree > len(allowed):
            why = ("NEST refuses it" if len(allowed) == len(drawn) else
                   f"allow_autapses: false leaves {len(allowed)} of {len(drawn)} for {name}; NEST's connect "
                   f"loop would never end")
            problems.add(f"{where}.{key}", f"{degree} is more than the {_plural(len(allowed), side)} {name} may "
                                           f"draw without multapses ({why}); allowed: at most {len(allowed)}, "
                                           f"or allow_multapses: true")
            return None
        pick = rng.integers(0, len(allowed), degree) if multapses else rng.choice(len(allowed), degree, replace=False)
        out_drawn.append(allowed[pick])
        out_fixed.append(np.full(degree, node, dtype=np.int64))
    fixed_side = np.concatenate(out_fixed) if out_fixed else np.zeros(0, np.int64)
    drawn_side = np.concatenate(out_drawn) if out_drawn else np.zeros(0, np.int64)
    return (drawn_side, fixed_side) if rule == "fixed_indegree" else (fixed_side, drawn_side)


def _plural(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def _per_connection(given, key, count, rule, where, problems):
    """``key`` as a (count,) array: the one value for all, or the list of one value per connection."""
    values, listed = given
    if not listed:
        return np.full(count, values[0])
    if len(values) != count:
        problems.add(f"{where}.{key}", f"has {_plural(len(values), 'value')} but the rule makes "
                                       f"{_plural(count, 'connection')}; allowed: one number, or one value "
                                       f"per connection in the expansion order ({ORDER[rule]})")
        return None
    return values


def _checked_weights(weight, c_m, where, problems, listed=False):
    """The weights, or None and a problem naming the first one (with its list index) that makes RKF45 crawl."""
    rate = np.abs(weight) / c_m  # NaN where the target's C_m was refused: no second problem for it
    big = np.abs(weight) > bounds.MAX_WEIGHT
    stiff = rate > bounds.MAX_SPIKE_RATE_PER_MS
    if big.any():
        i = int(np.flatnonzero(big)[0])
        problems.add(_at(where, "weight", i, listed),
                     f"{weight[i]} nS; allowed: |weight| <= {bounds.MAX_WEIGHT:g} nS (a larger jump makes RKF45 crawl)")
        return None
    if stiff.any():
        i = int(np.flatnonzero(stiff)[0])
        problems.add(_at(where, "weight", i, listed),
                     f"one spike gives |weight| / C_m = {rate[i]:g} /ms; allowed: at most "
                     f"{bounds.MAX_SPIKE_RATE_PER_MS:g} /ms (a faster rate needs millions of RKF45 sub-steps per step)")
        return None
    return weight


def _at(where, key, i, listed) -> str:
    """The key path of value i of a per-connection field: with its index when the file gave a list."""
    return f"{where}.{key}[{i}]" if listed else f"{where}.{key}"


def _delay_steps(delay, tps, res, where, problems, listed=False):
    """Delays in steps: on the grid, at least one step, at most MAX_DELAY_STEPS (NEST would round silently).
    ``tps`` None (the resolution is refused): the delays in ms, checked for their sign and size only."""
    values, first, index = np.unique(delay, return_index=True, return_inverse=True)
    for d, i in sorted(zip(values.tolist(), first.tolist()), key=lambda pair: pair[1]):
        key = _at(where, "delay", i, listed)
        if np.isnan(d):  # an entry that is no number: reported
            continue
        if tps is None:
            if not 0 < d <= bounds.MAX_TIME_MS:
                problems.add(key, f"{d} ms; allowed: a positive multiple of the resolution, at most "
                                  f"{bounds.MAX_DELAY_STEPS} steps")
                return None
            continue
        if d > bounds.MAX_TIME_MS:
            problems.add(key, f"{d} ms; allowed: a multiple of the resolution {res} ms, at most "
                              f"{bounds.MAX_DELAY_STEPS} steps")
            return None
        if not grid.is_whole_tics(d) or grid.ms_to_tics(d) < tps:
            problems.add(key, f"{d} ms is shorter than the resolution {res} ms; allowed: a multiple of the "
                              f"resolution >= {res} ms")
            return None
        if not grid.on_grid(d, tps):
            problems.add(key, f"{d} ms is not a multiple of the resolution {res} ms (NEST would round it "
                              f"silently); allowed: a multiple of the resolution >= {res} ms")
            return None
        if grid.ms_to_steps(d, tps) > bounds.MAX_DELAY_STEPS:
            problems.add(key, f"{d} ms is {grid.ms_to_steps(d, tps)} steps; allowed: at most "
                              f"{bounds.MAX_DELAY_STEPS} steps (NEST keeps a ring buffer slot per step)")
            return None
    if tps is None or np.isnan(values).any():
        return np.asarray(delay, dtype=np.float64)  # checked as far as it goes; built from nothing
    return np.array([grid.ms_to_steps(d, tps) for d in values.tolist()], dtype=np.int64)[index].reshape(-1)
