"""What changed since an earlier report (``--baseline``): scenarios added and removed, verdicts that changed,
and errors that grew, read from that report's JSON summary (or a gate's)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UsageError
from harness.report.data import STATUS_LABEL, error_order, num
from harness.report.folder import SUMMARY_FILE
from harness.report.summary import json_number


@dataclass
class BaselineDiff:
    """The differences from the baseline (``source``, with its date, commit and NEST version) to this report."""

    source: str
    created: str
    commit: str
    nest_version: str
    added: list = field(default_factory=list)  # scenario names
    removed: list = field(default_factory=list)
    newly_failing: list = field(default_factory=list)  # (scenario, old verdict, new verdict)
    newly_passing: list = field(default_factory=list)
    changed: list = field(default_factory=list)  # other verdict changes (e.g. regression -> error)
    grew: list = field(default_factory=list)  # (scenario, pair, variable, before, now)
    shrank: int = 0  # how many (scenario, pair, variable) errors got smaller

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.newly_failing or self.newly_passing or self.changed
                    or self.grew)

    def to_json(self) -> dict:
        return {"source": self.source, "created": self.created, "commit": self.commit,
                "nest_version": self.nest_version, "added": self.added, "removed": self.removed,
                "newly_failing": [{"scenario": s, "before": a, "now": b} for s, a, b in self.newly_failing],
                "newly_passing": [{"scenario": s, "before": a, "now": b} for s, a, b in self.newly_passing],
                "changed": [{"scenario": s, "before": a, "now": b} for s, a, b in self.changed],
                "errors_grew": [{"scenario": s, "pair": p, "variable": v, "before": json_number(a),
                                 "now": json_number(b)} for s, p, v, a, b in self.grew],
                "errors_shrank": self.shrank}


def load_baseline(path) -> tuple[str, dict]:
    """A report folder (its summary.json) or a gate/report JSON summary; anything else is a UsageError."""
    path = Path(path)
    source = path / SUMMARY_FILE if path.is_dir() else path
    if not source.exists():
        raise UsageError(f"--baseline {path}: no such report (expected a report folder with {SUMMARY_FILE}, "
                         f"or a JSON summary written by `nest-parity report` or `nest-parity gate`)")
    try:
        document = json.loads(source.read_text(), parse_constant=_refuse_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UsageError(f"--baseline {source}: not readable JSON: {_short(exc)}") from None
    if not (isinstance(document, dict) and isinstance(document.get("scenarios"), list)
            and isinstance(document.get("comparisons"), list)):
        raise UsageError(f"--baseline {source}: not a report or gate summary (it needs the lists 'scenarios' "
                         f"and 'comparisons'; `nest-parity compare --json` writes no per-scenario verdicts)")
    problem = _summary_problem(document)
    if problem:
        raise UsageError(f"--baseline {source}: not a report or gate summary: {problem}")
    return str(source), document


def _refuse_constant(name: str):
    # write_json never writes NaN or Infinity (it writes "nan", "inf"): a file holding them was not written by us
    raise ValueError(f"{name} is not JSON (a summary writes non-finite numbers as \"nan\", \"inf\", \"-inf\")")


def _short(exc, limit: int = 200) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[:limit] + "..."


NON_FINITE = ("inf", "-inf", "nan")  # how json_number writes a non-finite float


def _summary_problem(document: dict) -> str | None:
    """What makes ``document`` not a summary that write_json wrote, or None: checked before the work starts,
    so that the diff after minutes of runs can trust every type it reads."""
    if "created" in document and not isinstance(document["created"], str):
        return f"'created' is {_kind(document['created'])}, not a string"
    if "provenance" in document and not isinstance(document["provenance"], (dict, type(None))):
        return f"'provenance' is {_kind(document['provenance'])}, not an object"
    for entries, string_keys in (("scenarios", ("scenario", "verdict")), ("comparisons", ("scenario", "pair"))):
        for i, entry in enumerate(document[entries]):
            where = f"{entries}[{i}]"
            if not isinstance(entry, dict):
                return f"{where} is {_kind(entry)}, not an object"
            for key in string_keys:
                if not isinstance(entry.get(key), str):
                    return f"{where}.{key} is {_kind(entry.get(key), key in entry)}, not a string"
    for i, c in enumerate(document["comparisons"]):
        where = f"comparisons[{i}]"
        variables = c.get("variables")
        if variables is None:
            continue  # a comparison that could not be made has no variables
        if not isinstance(variables, dict):
            return f"{where}.variables is {_kind(variables)}, not an object"
        for name, v in variables.items():
            if not isinstance(v, dict):
                return f"{where}.variables.{name} is {_kind(v)}, not an object"
            x = v.get("max_abs")
            ok = x is None or x in NON_FINITE or (isinstance(x, (int, float)) and not isinstance(x, bool)
                                                  and _finite(x))
            if not ok:
                return (f"{where}.variables.{name}.max_abs is {_kind(x)}; allowed: a finite number, null, or one of "
                        f"{', '.join(NON_FINITE)}")
    return None


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))  # 1e999 reads as inf; a 400-digit integer overflows float
    except OverflowError:
        return False


def _kind(value, present: bool = True) -> str:
    if not present:
        return "missing"
    text = json.dumps(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:40] + '...'}"


def _json_float(x):
    if x is None:
        return None
    try:
        return float(x)  # also "inf", "-inf", "nan"
    except (TypeError, ValueError):
        return None


def diff_against_baseline(source: str, old: dict, new: dict) -> BaselineDiff:
    """What changed from ``old`` to ``new`` (both JSON summaries): scenarios, verdicts, and larger errors."""
    prov = old.get("provenance") or {}
    diff = BaselineDiff(source, str(old.get("created", "?")), str(prov.get("harness_commit", "?")),
                        str(prov.get("nest_version", "?")))
    before = {s.get("scenario"): s.get("verdict") for s in old["scenarios"] if isinstance(s, dict)}
    now = {s["scenario"]: s["verdict"] for s in new["scenarios"]}
    diff.added = [name for name in now if name not in before]
    diff.removed = [name for name in before if name not in now]
    for name, verdict in now.items():
        if name not in before or before[name] == verdict:
            continue
        entry = (name, before[name], verdict)
        if before[name] == "pass":
            diff.newly_failing.append(entry)
        elif verdict == "pass":
            diff.newly_passing.append(entry)
        else:
            diff.changed.append(entry)
    old_errors = {(c.get("scenario"), c.get("pair"), name): _json_float(v.get("max_abs"))
                  for c in old["comparisons"] if isinstance(c, dict)
                  for name, v in (c.get("variables") or {}).items() if isinstance(v, dict)}
    for c in new["comparisons"]:
        for name, v in c["variables"].items():
            key = (c["scenario"], c["pair"], name)
            a, b = old_errors.get(key), _json_float(v["max_abs"])
            if a is None or b is None or (math.isnan(a) and math.isnan(b)):
                continue
            if error_order(b) > error_order(a) or (math.isnan(b) and not math.isnan(a)):
                diff.grew.append((*key, a, b))
            elif error_order(b) < error_order(a):
                diff.shrank += 1
    return diff


GREW_HEADER = ("scenario", "pairs", "max |diff| before -> now")


def grew_rows(b: BaselineDiff) -> list[tuple[str, str, str]]:
    """One row per scenario and set of pairs in which the same variables grew by the same amounts."""
    by_scenario: dict = {}
    for scenario, pair, variable, before, now in b.grew:
        by_scenario.setdefault(scenario, {}).setdefault(pair, []).append(f"{variable} {num(before)} -> {num(now)}")
    rows = []
    for scenario, pairs in by_scenario.items():
        merged: dict = {}
        for pair, changes in pairs.items():
            merged.setdefault("; ".join(changes), []).append(pair)
        rows += [(scenario, ", ".join(names), text) for text, names in merged.items()]
    return rows


def baseline_items(b: BaselineDiff) -> list[tuple[str, str]]:
    def verdicts(entries):
        return ", ".join(f"{s} ({STATUS_LABEL.get(a, a)} -> {STATUS_LABEL.get(c, c)})" for s, a, c in entries)

    if b.unchanged:
        return [("no changes", f"the same scenarios with the same verdicts, and no error grew"
                               f"{f' ({b.shrank} got smaller)' if b.shrank else ''}")]
    return [("added", ", ".join(b.added) or "none"), ("removed", ", ".join(b.removed) or "none"),
            ("newly failing", verdicts(b.newly_failing) or "none"),
            ("newly passing", verdicts(b.newly_passing) or "none"),
            ("other verdict changes", verdicts(b.changed) or "none"),
            ("errors that grew", f"the largest |difference| of {len(b.grew)} variables (counting each pair) in "
                                 f"{len({g[0] for g in b.grew})} scenarios, listed below" if b.grew else "none"),
            ("errors that shrank", str(b.shrank))]
