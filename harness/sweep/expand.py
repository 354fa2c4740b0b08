"""A sweep's variants: every combination of its axes applied to every base, each with a stable id.

Order: bases in file order, then the grid (its last axis fastest), then the zip groups' rows, then the random
draws (the same draws for every base and grid point, so that the factors are a true product). A variant is
its base's document with the derived axes applied first and the key paths after (``harness.sweep.transforms``),
parsed by the schema like any scenario file. Its id hashes what it runs, so two variants that run the same
experiment (one base spelled twice, a grid value equal to the base's) are one variant: the first is kept.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
from dataclasses import dataclass

import yaml

from harness.errors import ScenarioError
from harness.scenario.fields import Problems
from harness.scenario.schema import MAX_NAME, canonical_json, parse_scenario
from harness.scenario.types import Scenario
from harness.scenario.variants import label as changes_label
from harness.sweep.draws import draw
from harness.sweep.spec import Sweep
from harness.sweep.transforms import NotApplicable, _copied, apply_transforms, set_path

ID_DIGITS = 12
# Not part of the experiment: the name is made from the id, the description from the changes, and a port's
# expectation does not change what runs (as for a scenario's content hash, harness.scenario.schema).
NOT_HASHED = ("name", "description", "expect", "expect_reason")


@dataclass(frozen=True)
class Variant:
    id: str  # ID_DIGITS hex digits of the sha256 of the document's canonical JSON, NOT_HASHED left out
    base: str  # the base scenario's name
    changes: dict  # axis -> value (plain Python), in axis order
    label: str  # "gsl_error_tol=1e-06,resolution=0.05"
    document: dict  # the variant's scenario document (what ``sweep --show`` writes as YAML)
    scenario: Scenario | None  # parsed and validated; None when invalid
    problems: tuple = ()  # ((key path, message), ...) when invalid

    @property
    def valid(self) -> bool:
        return self.scenario is not None


def expand(sweep: Sweep) -> list[Variant]:
    """Every variant of the sweep, in a fixed order, ids unique (a repeated experiment is kept once)."""
    rows = list(combinations(sweep))
    variants, seen = [], set()
    for scenario, document in sweep.bases:
        for changes in rows:
            made = make_variant(sweep, scenario, document, changes, seen)
            if made is not None:
                seen.add(made.id)
                variants.append(made)
    return variants


def combinations(sweep: Sweep):
    """Each variant's changes (axis -> value, in axis order): grid x zip rows x draws."""
    grid = [[(axis, v) for v in values] for axis, values in sweep.grid]
    zips = [[tuple(zip(axes, row)) for row in zip(*(values for _, values in group))]
            for group in sweep.zip for axes in [[a for a, _ in group]]]
    draws = [tuple(d.items()) for d in draw(sweep)] if sweep.random else [()]
    for point in itertools.product(*grid):
        for rows in itertools.product(*zips):
            for drawn in draws:
                yield dict(point + tuple(pair for row in rows for pair in row) + drawn)


def make_variant(sweep: Sweep, scenario: Scenario, document: dict, changes: dict, seen=()) -> Variant | None:
    """One variant of one base; None when its id is in ``seen`` (it is not parsed again)."""
    doc, problems, unapplied = _copied(document), [], {}
    try:
        apply_transforms(doc, changes)
    except NotApplicable as exc:
        problems.append((exc.axis, exc.message))
        unapplied[exc.axis] = changes[exc.axis]
    for axis, value in changes.items():
        steps = sweep.paths.get(axis)
        if steps is None:
            continue
        try:
            set_path(doc, axis, steps, value)
        except NotApplicable as exc:
            problems.append((axis, exc.message))
            unapplied[axis] = value
    vid = variant_id(doc, unapplied)
    if vid in seen:
        return None
    label = changes_label(changes)
    name = f"{scenario.name[:MAX_NAME - ID_DIGITS - 1]}-{vid}"
    about = f"Sweep {sweep.name}, variant {vid} of {scenario.name}: {label or 'the base as it is'}."
    doc = {"name": name, "description": f"{about} {scenario.description}".strip(),
           **{k: v for k, v in doc.items() if k not in ("name", "description")}}
    parsed = None
    if not problems:
        try:
            parsed = parse_scenario(doc, Problems(f"{sweep.path}: variant {vid}"), default_name=name)
            parsed = dataclasses.replace(parsed, path=scenario.path)  # provenance: the base's file
        except ScenarioError as exc:
            problems = list(exc.problems)
    return Variant(id=vid, base=scenario.name, changes=dict(changes), label=label, document=doc,
                   scenario=parsed, problems=tuple(problems))


def variant_id(document: dict, unapplied: dict | None = None) -> str:
    """The hash of what the variant runs; a change that could not be made is hashed with it, so that the
    invalid variants of one base stay apart."""
    body = {k: v for k, v in document.items() if k not in NOT_HASHED}
    if unapplied:
        body = {"scenario": body, "not_applied": unapplied}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()[:ID_DIGITS]


def variant_yaml(variant: Variant) -> str:
    """The variant as a scenario file ``nest-parity compare`` accepts as is (an invalid one fails there too,
    with its problems)."""
    header = f"# sweep variant {variant.id} of {variant.base}: {variant.label or 'the base as it is'}\n"
    return header + yaml.safe_dump(variant.document, sort_keys=False, default_flow_style=None,
                                   allow_unicode=True, width=110)


def find(variants, variant_id_prefix: str) -> list[Variant]:
    """The variants whose id starts with the given digits (``sweep --show`` takes a prefix, as git does)."""
    return [v for v in variants if v.id.startswith(variant_id_prefix.lower())]
