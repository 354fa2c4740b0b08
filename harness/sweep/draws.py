"""A sweep's ``random:`` block: its ranges read and checked, and its draws, reproducible by seed.

Each axis draws from its own generator (numpy's default, seeded with ``[seed, the axis's position]``), so
that a sweep that grows (another axis at the end, a larger ``n``) keeps the draws it had.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.scenario import bounds
from harness.scenario.fields import Problems, check_keys, read_number, shown, type_name
from harness.sweep.transforms import _copied, plain

RANDOM_KEYS = ("n", "seed", "ranges")
RANGE_KEYS = ("low", "high", "log", "integer", "choice")
MAX_DRAWS = 100_000


@dataclass(frozen=True)
class Draws:
    """``random:``: ``n`` draws from ``ranges`` (axis -> its range, as checked), seeded."""

    n: int
    seed: int
    ranges: tuple  # (axis, {"low", "high", "log", "integer"} | {"choice": [...]}), in file order


def read_random(block, problems: Problems) -> Draws | None:
    """``random:`` checked (every problem reported), or None."""
    if block is None:
        return None
    if not isinstance(block, dict):
        problems.add("random", f"expected a mapping with keys {', '.join(RANDOM_KEYS)}, got {type_name(block)}")
        return None
    check_keys(block, RANDOM_KEYS, "random", problems)
    n = read_integer(block, "n", "random", 1, MAX_DRAWS, problems, "the number of draws")
    seed = read_integer(block, "seed", "random", 0, bounds.MAX_SEED, problems, "the seed of the draws")
    ranges = block.get("ranges")
    if not isinstance(ranges, dict) or not ranges:
        problems.add("random.ranges", "missing; allowed: a mapping of axes to {low, high} (log, integer "
                                      "optional) or {choice: [...]}" if ranges is None else
                     f"expected a non-empty mapping of axes to ranges, got {type_name(ranges)}")
        return None
    checked = []
    for axis, spec in ranges.items():
        rng = _range(spec, f"random.ranges.{axis}", problems)
        if rng is not None:
            checked.append((str(axis), rng))
    if n is None or seed is None or len(checked) != len(ranges):
        return None
    return Draws(n=n, seed=seed, ranges=tuple(checked))


def _range(spec, where: str, problems: Problems):
    allowed = "{low, high} with log: true|false and integer: true|false optional, or {choice: [values]}"
    if not isinstance(spec, dict):
        problems.add(where, f"expected a mapping, got {type_name(spec)}; allowed: {allowed}")
        return None
    check_keys(spec, RANGE_KEYS, where, problems)
    if "choice" in spec:
        others = [k for k in spec if k != "choice" and k in RANGE_KEYS]
        choice = spec["choice"]
        if others:
            problems.add(where, f"choice with {', '.join(others)}; allowed: {allowed}")
        elif not isinstance(choice, list) or not choice:
            problems.add(f"{where}.choice", f"expected a non-empty list of values, got {type_name(choice)}")
        else:
            return {"choice": plain(choice)}
        return None
    low, high = (read_number(spec, k, where, problems) for k in ("low", "high"))
    flags = {}
    for k in ("log", "integer"):
        flags[k] = spec.get(k, False)
        if not isinstance(flags[k], bool):
            problems.add(f"{where}.{k}", f"expected true or false, got {type_name(flags[k])} {shown(flags[k])}")
    for k, v in (("low", low), ("high", high)):
        if k not in spec:
            problems.add(f"{where}.{k}", f"missing; allowed: {allowed}")
        elif v is not None and flags["integer"] is True and v != int(v):
            problems.add(f"{where}.{k}", f"{v} is not a whole number, as integer: true needs")
    if low is None or high is None:
        return None
    if not low < high:
        problems.add(where, f"low {low} is not below high {high}; allowed: low < high (a single value is a grid "
                            f"axis of one value)")
    elif flags["log"] is True and flags["integer"] is True:
        problems.add(where, "log and integer together; allowed: one of them")
    elif flags["log"] is True and low <= 0:
        problems.add(f"{where}.low", f"{low} with log: true; allowed: low > 0 (drawn uniformly in log(value))")
    else:
        return {"low": low, "high": high, "log": flags["log"] is True, "integer": flags["integer"] is True}
    return None


def draw(sweep) -> list[dict]:
    """The random draws: per axis, ``n`` uniform numbers from numpy's default generator seeded with
    ``[seed, the axis's position in random.ranges]``, mapped onto its range. So an axis added at the end leaves
    the others' draws as they were, and a larger ``n`` extends the draws of a smaller one."""
    spec = sweep.random
    columns = [np.random.default_rng([spec.seed, j]).random(spec.n) for j in range(len(spec.ranges))]
    return [{axis: _mapped(rng, float(column[i])) for (axis, rng), column in zip(spec.ranges, columns)}
            for i in range(spec.n)]


def _mapped(rng: dict, u: float):
    if "choice" in rng:
        return _copied(rng["choice"][min(int(u * len(rng["choice"])), len(rng["choice"]) - 1)])
    low, high = rng["low"], rng["high"]
    if rng["integer"]:
        return min(int(low) + int(u * (int(high) - int(low) + 1)), int(high))
    if rng["log"]:
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    return low + u * (high - low)


def read_integer(block, key, parent, low, high, problems: Problems, what: str):
    where = f"{parent}.{key}" if parent else key
    if key not in block:
        if key in ("n", "seed"):
            problems.add(where, f"missing; allowed: an integer from {low} to {high} ({what})")
        return None
    value = block[key]
    if value is None:
        return None  # a null is reported by refuse_nulls
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(where, f"{shown(value)}; allowed: an integer from {low} to {high} ({what})")
        return None
    return value

