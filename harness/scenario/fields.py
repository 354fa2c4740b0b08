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


MAX_SHOWN = 60  # characters of a value quoted in a message: a bomb's repr must not fill the terminal
MAX_PROBLEMS = 30  # problems reported per file; the rest are counted


def shown(value, limit: int = MAX_SHOWN, quote: bool = True) -> str:
    """``repr(value)`` (or ``str`` without ``quote``), cut to ``limit`` characters with the length said."""
    text = repr(value) if quote else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


class Problems:
    """Collects every problem in one file, so that the user can fix them all in one go.

    A key marked null (``null``) gets that one message: the readers' own words on it ("missing", ...)
    would only repeat it.
    """

    def __init__(self, path: str):
        self.path = path
        self.items: list[tuple[str, str]] = []
        self.null_keys: set[str] = set()

    def add(self, key: str, message: str) -> None:
        if key in self.null_keys:
            return
        self.items.append((shown(key, 120, quote=False), shown(message, 600, quote=False)))

    def null(self, key: str) -> None:
        self.add(key, "is null; allowed: a value (an explicit null never means the default: to use a field's "
                      "default, leave the key out)")
        self.null_keys.add(key)

    def raise_if_any(self) -> None:
        if self.items:
            items = self.items[:MAX_PROBLEMS]
            if len(self.items) > MAX_PROBLEMS:
                items.append(("", f"... and {len(self.items) - MAX_PROBLEMS} more problems"))
            raise ScenarioError(self.path, items)


def refuse_nulls(node, parent: str, problems: Problems) -> None:
    """Every mapping value that is null, with its key path (a null in a list is a wrong type there)."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = key_path(parent, str(key))
            if value is None:
                problems.null(where)
            else:
                refuse_nulls(value, where, problems)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            refuse_nulls(value, f"{parent}[{i}]", problems)


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
    """The list's numbers; None (and a problem for every entry that is no finite number) otherwise."""
    out = read_numbers(mapping, key, parent, problems)
    return None if out is None or None in out else out


def read_numbers(mapping, key, parent, problems):
    """The list with None for each entry that is no finite number (reported), so that the good entries can
    still be checked; None when the key is left out or holds no list (reported)."""
    values = mapping.get(key)
    if values is None:
        return None
    if not isinstance(values, list):
        problems.add(key_path(parent, key), f"expected a list of numbers, got {type_name(values)}")
        return None
    return [_finite_number(v, f"{key_path(parent, key)}[{i}]", problems) for i, v in enumerate(values)]


def _finite_number(value, where: str, problems):
    number = _as_number(value)
    if number is None:
        problems.add(where, f"expected a number, got {type_name(value)} {shown(value)}")
        return None
    if not math.isfinite(number):
        problems.add(where, f"{shown(value)} is not finite; allowed: a finite number")
        return None
    return number


def read_string(mapping, key, parent, problems, default=None):
    value = mapping.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        problems.add(key_path(parent, key), f"expected a string, got {type_name(value)} {shown(value)}")
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
            problems.add(key_path(parent, str(key)), f"unknown {what} {shown(key)}{suggest(str(key), allowed)}; "
                                                     f"allowed: {', '.join(allowed)}")


def suggest(word: str, choices) -> str:
    if len(str(word)) > 100:  # difflib is quadratic; no typo is that long
        return ""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
