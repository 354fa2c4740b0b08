"""Reading one field of a scenario file: the problem list, and typed readers that explain what is wrong.

Each reader returns the value, or None (or the given default) and records a problem naming the key path,
what was found and what is allowed, so that one pass over a file reports every problem in it.
"""
from __future__ import annotations

import difflib
import math
import re

from harness.errors import ScenarioError

# YAML 1.1 reads 1e-3 (no dot) as a string; a scientist means the number, so accept exactly that form.
_EXPONENT_ONLY = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


class Problems:
    """Collects every problem in one file, so that the user can fix them all in one go."""

    def __init__(self, path: str):
        self.path = path
        self.items: list[tuple[str, str]] = []

    def add(self, key: str, message: str) -> None:
        self.items.append((key, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise ScenarioError(self.path, self.items)


def any_missing(*values) -> bool:
    return any(v is None for v in values)


def key_path(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def type_name(value) -> str:
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


def read_number(mapping, key, parent, problems, default=None):
    if not isinstance(mapping, dict) or mapping.get(key) is None:
        return default
    return _finite_number(mapping[key], key_path(parent, key), problems)


def read_number_list(mapping, key, parent, problems):
    values = mapping.get(key)
    if values is None:
        return None
    if not isinstance(values, list):
        problems.add(key_path(parent, key), f"expected a list of numbers, got {type_name(values)}")
        return None
    out = []
    for i, v in enumerate(values):
        number = _finite_number(v, f"{key_path(parent, key)}[{i}]", problems)
        if number is None:
            return None
        out.append(number)
    return out


def _finite_number(value, where: str, problems):
    number = _as_number(value)
    if number is None:
        problems.add(where, f"expected a number, got {type_name(value)} {value!r}")
        return None
    if not math.isfinite(number):
        problems.add(where, f"{value!r} is not finite; allowed: a finite number")
        return None
    return number


def read_string(mapping, key, parent, problems, default=None):
    value = mapping.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        problems.add(key_path(parent, key), f"expected a string, got {type_name(value)} {value!r}")
        return default
    return value


def read_mapping(mapping, key, parent, problems) -> dict:
    value = mapping.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(key_path(parent, key), f"expected a mapping, got {type_name(value)}")
        return {}
    return value


def check_keys(mapping, allowed, parent, problems, what="key"):
    for key in mapping:
        if key not in allowed:
            problems.add(key_path(parent, str(key)), f"unknown {what} {key!r}{suggest(str(key), allowed)}; "
                                                     f"allowed: {', '.join(allowed)}")


def suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
