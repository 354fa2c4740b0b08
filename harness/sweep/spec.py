"""Sweep files (``sweeps/*.yaml``): their keys, read and checked in one pass (docs/sweeps.md, "Sweep files").

A sweep is base scenarios and what varies in them: a cartesian ``grid``, ``zip`` groups whose lists vary
together, and seeded ``random`` draws; each axis is a key path of the scenario (``harness.scenario.variants``
syntax, with ``[*]`` and ``*`` wildcards) or a derived axis (``harness.sweep.transforms``). Every problem of
the file is reported at once with its key path, as a scenario file's are (``ScenarioError``, exit 2). A
variant the schema refuses is no problem of the file: it is an invalid variant (``harness.sweep.expand``).
"""
from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ScenarioError, UsageError
from harness.judge.tolerances import ACCURACY_PROFILE, PROFILE_NAMES, unknown_profile_message
from harness.model.parameters import INITIAL_STATE, PARAMETER_NAMES
from harness.scenario import bounds
from harness.scenario.connections import ALL_KEYS as CONNECTION_KEYS
from harness.scenario.fields import (
    Problems,
    check_keys,
    read_number,
    read_string,
    refuse_nulls,
    shown,
    suggest,
    type_name,
)
from harness.scenario.inputs import DEVICE_KEYS
from harness.scenario.loader import load_yaml
from harness.scenario.populations import POPULATION_KEYS
from harness.scenario.schema import _SAFE_NAME, MAX_NAME, TOP_KEYS, canonical_json, parse_scenario
from harness.scenario.variants import EVERY_ENTRY, EVERY_KEY, parse_key_path
from harness.sweep.draws import Draws, read_integer, read_random
from harness.sweep.transforms import TRANSFORMS, NotApplicable, plain, set_nmda_ports, set_path

SWEEP_KEYS = ("name", "description", "base", "grid", "zip", "random", "candidates", "registry", "profile", "truth",
              "batch_size", "timeout")
TRUTH_MODES = ("none", "live", "stored")
BUILTIN_CANDIDATES = ("python", "python-jax")
# The keys an axis may start with: a variant's name is made from its id, and the rest do not change the run.
AXIS_ROOTS = tuple(k for k in TOP_KEYS if k not in ("name", "description", "model", "expect", "expect_reason"))
FIELD_NAMES = {  # the names a key path may end in under these keys (checked once, for a typo's sake)
    "params": PARAMETER_NAMES, "initial": tuple(INITIAL_STATE),
    "inputs": tuple(dict.fromkeys(k for keys in DEVICE_KEYS.values() for k in keys)) + ("target",),
    "connections": CONNECTION_KEYS,
}
MAX_VARIANTS = 100_000  # a sweep beyond it is several sweeps (each a dataset of its own)
MAX_BATCH = 10_000
MAX_TIMEOUT_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Sweep:
    path: Path
    name: str
    description: str
    content_hash: str  # the file's meaning and every base's content hash: a changed base is another sweep
    axes: tuple[str, ...]  # every varied axis, in file order (grid, zip, random)
    candidates: tuple[str, ...] = ("python",)
    profile: str = "exact"
    truth: str = "none"
    batch_size: int = 16
    timeout: float | None = None
    registry: str | None = None  # a candidate registry file (default: candidates.yaml), resolved
    bases: tuple = ()  # (Scenario, raw document), in file order; the raw document normalised (``plain``)
    grid: tuple = ()  # (axis, values)
    zip: tuple = ()  # groups, each a tuple of (axis, values) of one length
    random: Draws | None = None
    paths: dict = field(default_factory=dict, compare=False)  # axis -> parsed key path (None: a derived axis)


def load_sweep(path) -> Sweep:
    """Read and check one sweep file and its bases; ScenarioError with every problem of the file at once."""
    path = Path(path)
    problems = Problems(str(path))
    raw = load_yaml(path)  # the scenario files' strict reader: no YAML 1.1 surprises, no bombs
    if not isinstance(raw, dict):
        raise ScenarioError(str(path), [("", f"the file must hold a mapping of sweep fields, not "
                                             f"{type_name(raw)}; allowed keys: {', '.join(SWEEP_KEYS)}")])
    check_keys(raw, SWEEP_KEYS, "", problems)
    refuse_nulls(raw, "", problems)
    name = read_string(raw, "name", "", problems, default=path.stem)
    if not _SAFE_NAME.fullmatch(name) or len(name) > MAX_NAME:
        problems.add("name", f"{shown(name)} cannot name a results folder; allowed: 1 to {MAX_NAME} letters, "
                             f"digits, '_', '-', '.', not starting with '-' or '.'")
    description = read_string(raw, "description", "", problems, default="")
    bases = _bases(raw, path, name, problems)
    grid = _value_axes(raw.get("grid"), "grid", problems)
    indexed_zips = _zip(raw.get("zip"), problems)
    zips = [group for _, group in indexed_zips]
    draws = read_random(raw.get("random"), problems)
    places = [(a, f"grid.{a}", v) for a, v in grid]
    places += [(a, f"zip[{g}].{a}", v) for g, group in indexed_zips for a, v in group]
    places += [(a, f"random.ranges.{a}", r) for a, r in (draws.ranges if draws else ())]
    axes = [a for a, _, _ in places]
    paths = _paths(places, problems)
    _check_count(bases, grid, zips, draws, problems)
    _check_against_bases(bases, places, paths, problems)
    registry = _registry(raw, path, problems)
    candidates = _candidates(raw, problems, registry)
    profile, truth = _profile_and_truth(raw, problems)
    batch_size = _batch_size(raw, problems)
    timeout = read_number(raw, "timeout", "", problems)
    if timeout is not None and not 0 < timeout <= MAX_TIMEOUT_S:
        problems.add("timeout", f"{timeout} s; allowed: seconds per task, above 0 and at most {MAX_TIMEOUT_S:g}")
    problems.raise_if_any()
    digest = hashlib.sha256(canonical_json({"sweep": raw, "bases": [s.content_hash for s, _ in bases]}).encode())
    return Sweep(path=path, name=name, description=description, content_hash="sha256:" + digest.hexdigest(),
                 axes=tuple(axes), candidates=candidates, profile=profile, truth=truth, batch_size=batch_size,
                 timeout=timeout, registry=registry, bases=tuple(bases), grid=tuple(grid), zip=tuple(zips),
                 random=draws, paths=paths)


# ---------------------------------------------------------------------------------------------------- bases

def _bases(raw, path: Path, name: str, problems: Problems) -> list:
    given = raw.get("base")
    if given is None:
        if "base" not in raw:
            problems.add("base", "missing; allowed: a scenario file's path, an inline scenario mapping, or a list "
                                 "of either")
        return []
    entries = given if isinstance(given, list) else [given]
    if not entries:
        problems.add("base", "empty list; allowed: one or more scenario paths or inline scenarios")
    bases, names = [], {}
    for i, entry in enumerate(entries):
        where = f"base[{i}]" if isinstance(given, list) else "base"
        default = name if not isinstance(given, list) else f"{name}-{i}"
        base = _base(entry, where, path, default, problems)
        if base is None:
            continue
        scenario = base[0]
        if scenario.name in names:
            problems.add(where, f"the base {scenario.name!r} is also {names[scenario.name]}; allowed: bases of "
                                f"distinct names (they partition the results)")
            continue
        names[scenario.name] = where
        bases.append(base)
    return bases


def _base(entry, where: str, path: Path, default: str, problems: Problems):
    if isinstance(entry, str):
        file = _base_file(entry, path)
        if file is None:
            problems.add(where, f"{shown(entry)}: no such file, relative to the sweep's folder ({path.parent}) nor "
                                f"to the current folder; allowed: a scenario file's path")
            return None
        try:
            document = load_yaml(file)
            scenario = parse_scenario(document, Problems(str(file)), default_name=file.stem)
        except ScenarioError as exc:
            for key, message in exc.problems:
                problems.add(where, f"{exc.path}: {key}: {message}" if key else f"{exc.path}: {message}")
            return None
        return scenario, plain(document)
    if isinstance(entry, dict):
        document = copy.deepcopy(entry)
        try:
            scenario = parse_scenario(document, Problems(str(path)), default_name=default)
        except ScenarioError as exc:
            for key, message in exc.problems:
                problems.add(f"{where}.{key}" if key else where, message)
            return None
        document.setdefault("name", scenario.name)
        return scenario, plain(document)
    problems.add(where, f"expected a scenario file's path or an inline scenario mapping, got {type_name(entry)}")
    return None


def _base_file(text: str, path: Path) -> Path | None:
    given = Path(text)
    for option in ([given] if given.is_absolute() else [path.parent / given, Path.cwd() / given]):
        if option.is_file():
            return option
    return None


# ---------------------------------------------------------------------------------------------------- axes

def _value_axes(block, where: str, problems: Problems) -> list:
    """(axis, values) of a mapping of axes to non-empty lists."""
    if block is None:
        return []
    if not isinstance(block, dict) or not block:
        problems.add(where, f"expected a mapping of axes to lists of values, got "
                            f"{'an empty mapping' if block == {} else type_name(block)}")
        return []
    axes = []
    for axis, values in block.items():
        key = f"{where}.{axis}"
        if not isinstance(values, list) or not values:
            problems.add(key, f"expected a non-empty list of values, got "
                              f"{'an empty list' if values == [] else type_name(values)}")
            continue
        axes.append((str(axis), tuple(plain(values))))
    return axes


def _zip(block, problems: Problems) -> list:
    if block is None:
        return []
    if not isinstance(block, list) or not block:
        problems.add("zip", f"expected a list of groups (each a mapping of axes to lists of one length), got "
                            f"{'an empty list' if block == [] else type_name(block)}")
        return []
    groups = []
    for g, group in enumerate(block):
        axes = _value_axes(group, f"zip[{g}]", problems)
        lengths = {a: len(v) for a, v in axes}
        if len(set(lengths.values())) > 1:
            problems.add(f"zip[{g}]", "lists of unequal length (" + ", ".join(f"{a}: {n}" for a, n in lengths.items())
                                      + "); allowed: lists of one length, whose entries vary together")
        elif axes:
            groups.append((g, tuple(axes)))  # with its index in the file, for the messages
    return groups


def _paths(places, problems: Problems) -> dict:
    """Every axis's parsed key path (None for a derived axis), each axis's name and values checked.
    ``places``: (axis, where in the file, values or a random range)."""
    paths, seen = {}, {}
    for axis, where, values in places:
        if axis in seen:
            problems.add(where, f"the axis {axis!r} is also varied in {seen[axis]}; allowed: each axis once")
            continue
        seen[axis] = where
        if axis in TRANSFORMS:
            _check_transform_values(axis, where, values, problems)
            paths[axis] = None
            continue
        try:
            steps = parse_key_path(axis, wildcards=True)
        except UsageError as exc:
            problems.add(where, str(exc).split(": ", 1)[1] + f"; or a derived axis: {', '.join(TRANSFORMS)}")
            continue
        if steps[0] not in AXIS_ROOTS:
            problems.add(where, f"unknown axis {shown(axis)}{suggest(str(steps[0]), AXIS_ROOTS + TRANSFORMS)}; "
                                f"allowed: a key path starting with {', '.join(AXIS_ROOTS)}, or a derived axis: "
                                f"{', '.join(TRANSFORMS)}")
            continue
        problem = _field_name_problem(steps)
        if problem:
            problems.add(where, problem)
            continue
        paths[axis] = steps
    return paths


def _field_name_problem(steps) -> str | None:
    """A typo in a field's name, which the schema would refuse in every variant (params.C_mm, inputs[*].rat)."""
    last = steps[-1]
    if not isinstance(last, str) or last in (EVERY_ENTRY, EVERY_KEY):
        return None
    if len(steps) == 2 and steps[0] in ("params", "initial"):
        block = steps[0]
    elif len(steps) == 3 and steps[0] in ("inputs", "connections") and not isinstance(steps[1], str) or (
            len(steps) == 3 and steps[1] == EVERY_ENTRY and steps[0] in ("inputs", "connections")):
        block = steps[0]
    elif len(steps) == 3 and steps[0] == "populations":
        block, allowed = "populations.<name>", POPULATION_KEYS
        return None if last in allowed else (f"unknown field {last!r} of a population{suggest(last, allowed)}; "
                                             f"allowed: {', '.join(allowed)}")
    elif len(steps) == 4 and steps[0] == "populations" and steps[2] in ("params", "initial"):
        block = steps[2]
    else:
        return None
    allowed = FIELD_NAMES[block]
    if last in allowed:
        return None
    return f"unknown field {last!r} of {block}{suggest(last, allowed)}; allowed: {', '.join(allowed)}"


def _check_transform_values(axis, where, values, problems: Problems) -> None:
    if isinstance(values, dict) and "choice" not in values:  # a random range (low and high already numbers)
        if axis == "nmda_ports" and not (values["integer"] and 0 <= values["low"] and
                                         values["high"] <= bounds.MAX_INPUTS):
            problems.add(where, f"nmda_ports drawn from a range needs integer: true and 0 <= low < high <= "
                                f"{bounds.MAX_INPUTS} (or a choice of integers)")
        return
    values = values["choice"] if isinstance(values, dict) else values
    for i, v in enumerate(values):
        at = f"{where}.choice[{i}]" if where.startswith("random.") else f"{where}[{i}]"
        if axis == "weight_scale" and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
            problems.add(at, f"{shown(v)}; allowed: a finite number (the factor of every synaptic weight)")
        elif axis == "nmda_ports" and (isinstance(v, bool) or not isinstance(v, int) or not
                                       0 <= v <= bounds.MAX_INPUTS):
            problems.add(at, f"{shown(v)}; allowed: an integer from 0 to {bounds.MAX_INPUTS} (the number of NMDA "
                             f"spike inputs)")


def _check_count(bases, grid, zips, draws, problems: Problems) -> None:
    count = max(len(bases), 1) * math.prod(len(v) for _, v in grid) * math.prod(len(g[0][1]) for g in zips)
    count *= draws.n if draws else 1
    if count > MAX_VARIANTS:
        problems.add("", f"{count} variants (bases x grid x zip rows x draws); allowed: at most {MAX_VARIANTS} "
                         f"in one sweep (split it into several)")


def _check_against_bases(bases, places, paths, problems: Problems) -> None:
    """A key path that no base has (with the most NMDA ports swept) is a typo: a problem of the file. One that
    only some bases lack makes those bases' variants invalid (``harness.sweep.expand``)."""
    if not bases:
        return
    first, wheres, ports = {}, {}, []
    for axis, where, values in places:
        wheres.setdefault(axis, where)
        if isinstance(values, dict) and "choice" not in values:  # a range: its low end
            first.setdefault(axis, int(values["low"]) if values["integer"] else values["low"])
            values = [values["low"], values["high"]]
        else:
            values = values["choice"] if isinstance(values, dict) else values
            first.setdefault(axis, values[0])
        if axis == "nmda_ports":
            ports = [int(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    most = max(ports, default=None)
    for axis, steps in paths.items():
        if steps is None:
            continue
        why = []
        for scenario, document in bases:
            trial = copy.deepcopy(document)
            try:
                if most is not None:
                    set_nmda_ports(trial, most)
            except NotApplicable:
                pass
            try:
                set_path(trial, axis, steps, first[axis])
            except NotApplicable as exc:
                why.append(f"{scenario.name}: {exc.message}")
                continue
            break
        else:
            problems.add(wheres[axis], f"no base has this key path ({'; '.join(why)})")


# ------------------------------------------------------------------------------------------- what to run

def _registry(raw, path: Path, problems: Problems) -> str | None:
    given = read_string(raw, "registry", "", problems, default=None)
    if given is None:
        return None
    where = (path.parent / given) if not Path(given).is_absolute() else Path(given)
    if not where.is_file():
        problems.add("registry", f"{shown(given)}: no such file (relative to the sweep file's folder); allowed: a "
                                 f"candidate registry such as candidates.yaml (docs/candidates.md)")
        return None
    return str(where.resolve())


def _candidates(raw, problems: Problems, registry: str | None = None) -> tuple:
    given = raw.get("candidates", list(BUILTIN_CANDIDATES[:1]))
    if not isinstance(given, list) or not given:
        problems.add("candidates", f"expected a non-empty list of candidate names, got {type_name(given)}")
        return BUILTIN_CANDIDATES[:1]
    try:
        from harness.candidates.registry import load_registry

        registered = tuple(load_registry(registry))
    except UsageError as exc:
        problems.add("candidates", f"cannot read the candidate registry: {exc}")
        registered = ()
    allowed = BUILTIN_CANDIDATES + registered
    for i, name in enumerate(given):
        if not isinstance(name, str) or name not in allowed:
            problems.add(f"candidates[{i}]", f"unknown candidate {shown(name)}{suggest(str(name), allowed)}; "
                                             f"allowed: {', '.join(allowed)} (candidates.yaml)")
    if len(set(map(str, given))) != len(given):
        problems.add("candidates", "a candidate is listed twice")
    return tuple(str(n) for n in given)


def _profile_and_truth(raw, problems: Problems) -> tuple:
    profile = raw.get("profile", "exact")
    if not isinstance(profile, str) or profile not in PROFILE_NAMES:
        problems.add("profile", unknown_profile_message(profile))
        profile = "exact"
    truth = raw.get("truth", "none")
    if truth not in TRUTH_MODES:
        problems.add("truth", f"{shown(truth)}; allowed: {', '.join(TRUTH_MODES)} (none: no reference solve; "
                              f"live: solved per variant; stored: reference_traces/truth/)")
        truth = "none"
    elif profile == ACCURACY_PROFILE and truth == "none":
        problems.add("truth", f"none with profile {ACCURACY_PROFILE}, which judges the distance to the truth; "
                              f"allowed: live or stored")
    return profile, truth


def _batch_size(raw, problems: Problems) -> int:
    size = read_integer(raw, "batch_size", "", 1, MAX_BATCH, problems, "variants per task")
    return 16 if size is None else size
