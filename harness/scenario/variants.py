"""Variants of a scenario: the same file with some fields replaced, validated like any scenario file.

``variant(scenario, {"params.gsl_error_tol": 1e-6, "resolution": 0.05})`` re-reads the scenario's YAML (the
``Scenario`` keeps no raw form; the file's content hash proves it is still the one that was loaded), replaces
each key path, and parses the result through the schema: every rule applies, so a resolution that leaves a
spike time off the grid is refused as it would be in a file. Key paths are the schema's own spelling
(``params.X``, ``resolution``, ``inputs[2].weight``, ``populations.E.params.gsl_error_tol``); a missing
mapping on the way is created (``params`` in a file that gives none), a missing list entry is not.

A variant's name says what changed (``stiff_dt1@gsl_error_tol=1e-06,resolution=0.05``). That name is no file
name (the schema would refuse '@', '=' and ','): a variant is run, never stored as a reference. Its path is
still its file's; a variant of a variant is one call with both changes (the file no longer says the first).
"""
from __future__ import annotations

import copy
import dataclasses
import re

from harness.errors import ScenarioError, UsageError
from harness.scenario.fields import Problems, shown
from harness.scenario.loader import load_yaml
from harness.scenario.schema import content_hash, parse_scenario
from harness.scenario.types import Scenario

_SEGMENT = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)?(?P<indexes>(\[[0-9]+\])*)")
_INDEX = re.compile(r"\[([0-9]+)\]")
# A sweep's wildcards (harness.sweep): "[*]" every entry of a list, "*" every key of a mapping. Neither can be
# a key of a scenario file (keys are names), so the two strings stand for themselves in a parsed path.
EVERY_ENTRY, EVERY_KEY = "[*]", "*"
_WILD_SEGMENT = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*|\*)?(?P<indexes>(\[([0-9]+|\*)\])*)")
_WILD_INDEX = re.compile(r"\[([0-9]+|\*)\]")


def parse_key_path(path: str, wildcards: bool = False) -> list:
    """``"inputs[2].weight"`` -> ``["inputs", 2, "weight"]``; UsageError for anything else.

    ``wildcards``: also ``[*]`` (-> EVERY_ENTRY) and a segment ``*`` (-> EVERY_KEY), for a sweep's axes;
    ``variant`` itself takes concrete paths only."""
    steps: list = []
    if not isinstance(path, str) or not path:
        raise UsageError(f"variant key {shown(path)}: expected a key path such as params.gsl_error_tol, "
                         f"resolution or inputs[2].weight")
    segment_re, index_re = (_WILD_SEGMENT, _WILD_INDEX) if wildcards else (_SEGMENT, _INDEX)
    for segment in path.split("."):
        match = segment_re.fullmatch(segment)
        if not segment or match is None or (match["key"] is None and (steps == [] or not match["indexes"])) or (
                match["key"] == EVERY_KEY and steps == []):
            extra = ", [*] for every entry of a list, * for every key of a mapping" if wildcards else ""
            raise UsageError(f"variant key {shown(path)}: {shown(segment)} is not a key; allowed: names joined "
                             f"by '.', each optionally followed by list indexes such as [2]{extra}")
        if match["key"] is not None:
            steps.append(match["key"])
        steps.extend(EVERY_ENTRY if i == "*" else int(i) for i in index_re.findall(match["indexes"]))
    return steps


def label(changes: dict) -> str:
    """``gsl_error_tol=1e-06,resolution=0.05``: the changes in the order given (``params.`` left out)."""
    return ",".join(f"{key.removeprefix('params.')}={value!r}" for key, value in changes.items())


def raw_of(scenario: Scenario):
    """The scenario's YAML as loaded, re-read from its file; UsageError if the file no longer says the same."""
    try:
        raw = load_yaml(scenario.path)
    except ScenarioError as exc:
        raise UsageError(f"{scenario.path}: cannot re-read the scenario to make a variant of it: "
                         f"{exc.format()}") from None
    if content_hash(raw) != scenario.content_hash:
        raise UsageError(f"{scenario.path}: the file changed since the scenario {scenario.name!r} was loaded "
                         f"(its content hash differs); load it again")
    return raw


def variant(scenario: Scenario, changes: dict, raw=None, name: str | None = None) -> Scenario:
    """The scenario with each key path of ``changes`` set to its value, validated by the schema.

    ``raw``: the scenario's YAML document, when it has no file to re-read (default: its file). ``name``: what
    the variant is called after the '@' instead of ``label(changes)`` (a network's tolerance is one key per
    population). Raises UsageError naming the key path and the problem (a ScenarioError, whose path says
    which variant).
    """
    if not changes:
        return scenario
    document = copy.deepcopy(raw_of(scenario) if raw is None else raw)
    for key, value in changes.items():
        _set(document, key, parse_key_path(key), _plain(value))
    changed = label(changes) if name is None else name
    problems = Problems(f"{scenario.path} with {changed}")
    parsed = parse_scenario(document, problems, default_name=scenario.name)
    problems.raise_if_any()
    # The file it came from stays its path (for provenance and a candidate's watched files); only the
    # messages above name the variant.
    return dataclasses.replace(parsed, name=f"{parsed.name}@{changed}", path=scenario.path)


def _plain(value):
    """A value as YAML would have given it: numpy scalars and tuples become float/int and lists."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        return value.item()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _set(document, key: str, steps: list, value) -> None:
    node = document
    for depth, step in enumerate(steps):
        last = depth == len(steps) - 1
        where = _shown_path(steps[:depth]) or "the document"
        if isinstance(step, int):
            if not isinstance(node, list):
                raise UsageError(f"variant key {key}: {where} is not a list, so it has no entry [{step}]")
            if step >= len(node):
                raise UsageError(f"variant key {key}: {where} has {len(node)} entries, so it has no "
                                 f"entry [{step}]; allowed: [0] to [{len(node) - 1}]" if node else
                                 f"variant key {key}: {where} is an empty list")
        elif not isinstance(node, dict):
            raise UsageError(f"variant key {key}: {where} is not a mapping, so it has no key {step!r}")
        elif not last and step not in node:
            node[step] = {}  # e.g. params: in a file that leaves every parameter at NEST's default
        if last:
            node[step] = value
        else:
            node = node[step]


def _shown_path(steps: list) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text
