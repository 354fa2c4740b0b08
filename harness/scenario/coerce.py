"""A scenario from whatever a program holds: a ``Scenario``, a file path, YAML text or a mapping.

All of them go through the same schema (``schema.parse_scenario``) as a file does, so a mapping or a string
gets every problem at once as a ScenarioError naming the key path, exactly like a file. The rule for a
``str``: text with a newline, or starting with ``{`` (a one-line flow mapping), is YAML; anything else is a
path. The backends call ``as_scenario`` so that ``run_python("scenarios/x.yaml")`` works instead of failing
deep inside with an AttributeError.
"""
from __future__ import annotations

import os
from pathlib import Path

from harness.scenario.types import Scenario

STRING_NAME = "<yaml string>"  # the "path" that messages and provenance show for YAML text
MAPPING_NAME = "<mapping>"


def looks_like_yaml(text: str) -> bool:
    return "\n" in text or text.lstrip().startswith("{")


def load_any(value, *, name: str | None = None) -> Scenario:
    """``value`` as a validated Scenario (ScenarioError with every problem; TypeError for another type).

    ``name``: the scenario's name when the text or mapping has no ``name:`` (default: ``scenario``, or the
    file's stem).
    """
    from harness.scenario.fields import Problems
    from harness.scenario.loader import parse_yaml
    from harness.scenario.schema import load_scenario, parse_scenario

    if isinstance(value, Scenario):
        return value
    if isinstance(value, os.PathLike) or (isinstance(value, str) and not looks_like_yaml(value)):
        scenario = load_scenario(Path(value))
        return scenario
    if isinstance(value, str):
        label, raw = STRING_NAME, parse_yaml(value, STRING_NAME)
    elif isinstance(value, dict):
        label, raw = MAPPING_NAME, plain(value)
    else:
        raise TypeError(f"a scenario is a Scenario, a path to a YAML file, YAML text or a mapping, not "
                        f"{type(value).__name__}; load one with nest_parity.load_scenario(...)")
    problems = Problems(label)
    scenario = parse_scenario(raw, problems, default_name=name or "scenario")
    problems.raise_if_any()
    return scenario


def as_scenario(value) -> Scenario:
    """What a backend accepts: a Scenario, or a path (str or PathLike) or YAML text that ``load_any`` reads."""
    return value if isinstance(value, Scenario) else load_any(value)


def plain(value):
    """A mapping built in Python as the YAML loader would give it: NumPy scalars and arrays as Python
    numbers and lists, tuples as lists, keys as they are (the schema reports a key that is not a string)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays (bool_, int64, float64, ndarray)
    if callable(tolist) and type(value).__module__ == "numpy":
        return plain(tolist())
    return value
