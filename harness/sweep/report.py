"""The sweep report (written after each ``nest-parity sweep`` run, and by ``--report-only``): what a sweep's
results dataset (``harness.sweep.store``) says, as a folder like the release report's (``harness.report.folder``)::

    <out>/report.html     one self-contained page: CSS inline, figures as data: URIs, no script, no fetch
    <out>/report.md       the same content; figures as relative links to figures/
    <out>/summary.json    the counts, the verdicts per pair, the worst variant pairs, the figures' files
    <out>/figures/error_vs_<NN>_<axis>.png   max |difference| against each swept axis (``report_figures``)

The worst variant pairs come first: an ``error`` (a run failed), then an ``invalid`` variant (the schema
refused it), then failures and passes by their smallest headroom over the variables. Each row carries the
line that reproduces it with ``nest-parity compare``. ``summary_only`` leaves out the per-variant table and
the figures: that short page is the one committed to the repository and embedded in the release report
(``summary_markdown``).

The rows are read with pyarrow, not pandas: pandas reads a null ``max_abs`` (no number: an error row) and a
NaN one (a non-finite difference, a failure) as the same NaN, and the report must tell them apart.
"""
from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from harness.report.data import num
from harness.report.folder import HTML_FILE, MARKDOWN_FILE, SUMMARY_FILE, write_report_folder
from harness.report.summary import json_number
from harness.sweep import store

REPORT_DIR = "report"  # the default out_dir: beside results/ in the sweep's folder
MAX_ROWS = 50  # the worst-first table's length; the rest are counted
ERROR_CHARS = 160  # an error message in a table cell is cut here (summary.json keeps it whole)
# Worst first: a run that failed says nothing about the port's numbers and must be looked at before any
# failure; an invalid variant is a hole in the sweep; then a failure before a pass.
VERDICT_ORDER = store.WORST_FIRST
COUNT_KEYS = store.VERDICTS
WORST_HEADER = ("#", "variant id", "base", "changes", "pair", "verdict", "worst variable", "max |diff| (unit)",
                "headroom (tolerance ÷ |diff|)", "first divergence (variable at ms) or error", "reproduce")
PAIR_HEADER = ("pair", "candidate", "variants", "pass", "fail", "error", "invalid", "smallest headroom",
               "at variant")
# Keys of sweep.json the header shows by name; any other plain value there is listed after them.
MANIFEST_KNOWN = ("name", "path", "content_hash", "axes", "candidates", "profile", "truth", "variants", "started",
                  "finished", "scheduler", "workers", "machine", "platform")


@dataclass
class PairResult:
    """One variant x pair: its verdict, and its worst variable (the smallest headroom) where it has numbers."""

    variant_id: str
    base: str
    label: str
    changes: dict
    pair: str
    reference: str
    candidate: str
    profile: str
    verdict: str
    worst: str | None = None  # None: nothing differs (or no numbers)
    unit: str = ""
    max_abs: float | None = None
    headroom: float = math.inf
    first_divergence: str | None = None
    first_divergence_ms: float | None = None
    error: str | None = None

    def sort_key(self) -> tuple:
        rank = VERDICT_ORDER.index(self.verdict) if self.verdict in VERDICT_ORDER else 0
        return rank, self.headroom, -_magnitude(self.max_abs), self.variant_id, self.pair


@dataclass
class SweepReport:
    """Everything the three files say, computed once."""

    results_dir: Path
    manifest: dict
    rows: list  # the dataset's rows as dicts (pyarrow: None is null, NaN is NaN)
    pairs: list  # PairResult, worst first
    variant_verdicts: dict  # variant id -> its worst verdict over the pairs
    created: str = field(default_factory=lambda: datetime.datetime.now().astimezone().isoformat(timespec="seconds"))
    figures: list = field(default_factory=list)  # report_figures.SweepFigure

    @property
    def name(self) -> str:
        return str(self.manifest.get("name") or next((r["sweep"] for r in self.rows if r.get("sweep")), "sweep"))

    @property
    def sweep_path(self) -> str:
        return str(self.manifest.get("path") or "SWEEP.yaml")

    @property
    def profile(self) -> str:
        return str(self.manifest.get("profile") or next((r["profile"] for r in self.rows if r.get("profile")),
                                                        "exact"))

    def axes(self) -> list:
        """The swept axes: the manifest's, else every key of the rows' changes, in order of appearance."""
        axes = self.manifest.get("axes")
        if axes:
            return [str(a) for a in axes]
        return list(dict.fromkeys(a for p in self.pairs for a in p.changes))

    def counts(self) -> dict:
        """Variants per verdict (a variant's verdict is its worst pair's), and the sweep's own total."""
        counts = {k: 0 for k in COUNT_KEYS}
        for verdict in self.variant_verdicts.values():
            counts[verdict] = counts.get(verdict, 0) + 1
        return {"total": len(self.variant_verdicts), **counts}

    def verdict(self) -> str:
        """PASS when every variant with results passed and none is missing."""
        c = self.counts()
        if c["total"] == 0:
            return "NO RESULTS"
        if c["error"] or c["invalid"]:
            return "ERROR" if c["error"] else "INVALID"
        return "FAIL" if c["fail"] else "PASS"

    def not_run(self) -> int | None:
        expected = self.manifest.get("variants")
        return expected - len(self.variant_verdicts) if isinstance(expected, int) else None

    def pair_stats(self) -> list:
        """Per pair: its counts, and its worst variant pair with numbers (None when it has none)."""
        out = []
        for pair in sorted({p.pair for p in self.pairs}):
            mine = [p for p in self.pairs if p.pair == pair]
            judged = [p for p in mine if p.verdict in ("pass", "fail")]
            out.append({"pair": pair, "candidate": mine[0].candidate, "variants": len(mine),
                        **{k: sum(p.verdict == k for p in mine) for k in COUNT_KEYS},
                        "worst": min(judged, key=PairResult.sort_key, default=None)})
        return out

    def pair_rows(self) -> list:
        """The verdicts-per-pair table's rows."""
        return [(s["pair"], s["candidate"], s["variants"], *(s[k] for k in COUNT_KEYS),
                 num(s["worst"].headroom) if s["worst"] else "-", s["worst"].variant_id if s["worst"] else "-")
                for s in self.pair_stats()]

    def machines(self) -> str:
        """The hosts that ran it and their worker processes (the worker column is host:pid)."""
        hosts: dict = {}
        for r in self.rows:
            worker = r.get("worker")
            if worker:
                host, _, pid = str(worker).rpartition(":")
                hosts.setdefault(host or worker, set()).add(pid)
        return ", ".join(f"{h} ({len(p)} worker process{'es' if len(p) != 1 else ''})"
                         for h, p in sorted(hosts.items())) or "unknown (no worker recorded)"

    def about_rows(self) -> list:
        """(what, value) rows of the header table."""
        c = self.counts()
        n = self.manifest.get("variants")
        variants = (f"{c['total']} with results: {c['pass']} pass, {c['fail']} fail, {c['error']} error, "
                    f"{c['invalid']} invalid" + (f"; {n} in the sweep" if isinstance(n, int) else "")
                    + (f", {self.not_run()} not run yet" if self.not_run() else ""))
        seconds = sum(r["seconds"] for r in self._first_rows() if isinstance(r.get("seconds"), float))
        rows = [("sweep", self.name), ("file", self.sweep_path),
                ("content hash", self.manifest.get("content_hash", "unknown")), ("variants", variants),
                ("axes", ", ".join(self.axes()) or "-"),
                ("candidates", ", ".join(map(str, self.manifest.get("candidates") or
                                             sorted({p.candidate for p in self.pairs})))),
                ("profile", self.profile), ("truth", self.manifest.get("truth", "none")),
                ("started", self.manifest.get("started", "unknown"))]
        rows += [(k, self.manifest[k]) for k in ("finished", "scheduler", "workers") if k in self.manifest]
        rows.append(("machine", "; ".join(str(self.manifest[k]) for k in ("machine", "platform") if k in self.manifest)
                     or self.machines()))
        if any(k in self.manifest for k in ("machine", "platform")):
            rows.append(("workers seen", self.machines()))
        rows.append(("run time", f"{seconds:.1f} s of worker time over {c['total']} variants"))
        rows += [(k, v) for k, v in self.manifest.items()
                 if k not in MANIFEST_KNOWN and isinstance(v, (str, int, float, bool))]
        rows.append(("results", str(self.results_dir)))
        return rows

    def _first_rows(self) -> list:
        """One row per variant (``seconds`` is the variant's share, repeated on each of its rows)."""
        seen, out = set(), []
        for r in self.rows:
            if r["variant_id"] not in seen:
                seen.add(r["variant_id"])
                out.append(r)
        return out

    def worst_line(self) -> str:
        judged = [p for p in self.pairs if p.verdict in ("pass", "fail")]
        if not judged:
            return "No variant has numbers."
        w = min(judged, key=PairResult.sort_key)
        if w.worst is None:
            return "Nothing differs anywhere: every variable of every variant is bit-identical."
        return (f"The smallest headroom: {num(w.headroom)}, {w.worst} of variant {w.variant_id} ({w.label}, "
                f"base {w.base}), {w.pair}: max |diff| {num(w.max_abs)} {w.unit}.")


def load(results_dir) -> SweepReport:
    """The report's content from a results folder (``sweep.json`` and ``results/``)."""
    results_dir = Path(results_dir)
    manifest = store.read_manifest(results_dir)
    rows = store.read_table(results_dir).to_pylist()
    pairs = _pair_results(rows)
    verdicts: dict = {}
    for p in pairs:
        old = verdicts.get(p.variant_id)
        if old is None or _rank(p.verdict) < _rank(old):
            verdicts[p.variant_id] = p.verdict
    return SweepReport(results_dir, manifest, rows, sorted(pairs, key=PairResult.sort_key), verdicts)


def _rank(verdict: str) -> int:
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else 0


def _magnitude(x) -> float:
    """A max |diff| as a sort key: NaN is the largest, null the smallest."""
    if x is None:
        return -1.0
    return math.inf if math.isnan(x) else float(x)


def headroom_of(row: dict) -> float:
    """A row's headroom; a null one (a spikes row may have none) is inf when it passed and 0 when not."""
    h = row.get("headroom")
    if h is None:
        return math.inf if row.get("passed") else 0.0
    return 0.0 if math.isnan(h) else float(h)


def _pair_results(rows: list) -> list:
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["variant_id"], r["pair"]), []).append(r)
    out = []
    for (variant_id, pair), mine in groups.items():
        first = mine[0]
        changes = json.loads(first["changes"]) if first.get("changes") else {}
        result = PairResult(variant_id, first.get("base") or "-", first.get("variant") or _label(changes), changes,
                            pair, first.get("reference") or "", first.get("candidate") or "",
                            first.get("profile") or "", first.get("verdict") or "error",
                            first_divergence=first.get("first_divergence"),
                            first_divergence_ms=first.get("first_divergence_ms"),
                            error=next((r["error"] for r in mine if r.get("error")), None))
        numbered = [r for r in mine if r.get("variable") is not None]
        if numbered:
            worst = min(numbered, key=lambda r: (headroom_of(r), -_magnitude(r.get("max_rel")),
                                                 -_magnitude(r.get("max_abs"))))
            result.headroom = headroom_of(worst)
            if result.headroom != math.inf:
                result.worst, result.unit, result.max_abs = worst["variable"], worst.get("unit") or "", worst["max_abs"]
        else:
            result.headroom = 0.0 if result.verdict in ("error", "invalid") else math.inf
        out.append(result)
    return out


def _label(changes: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in changes.items()) or "-"


def reproduce_line(report: SweepReport, p: PairResult) -> str:
    """The command that writes the variant's scenario and judges its pair again, as the sweep did."""
    show = f"nest-parity sweep {report.sweep_path} --show {p.variant_id} > {p.variant_id}.yaml"
    profile = f" --profile {p.profile or report.profile}"
    reference = f" --reference {p.reference}" if p.reference and p.reference != "nest" else ""
    if p.candidate in ("", "python"):
        judge = f"nest-parity compare {p.variant_id}.yaml{reference}{profile}"
    elif p.candidate == "python-jax":
        judge = f"nest-parity compare {p.variant_id}.yaml --candidate python-jax{reference}{profile}"
    else:  # a registered out-of-process candidate (candidates.yaml)
        judge = f"nest-parity candidates run {p.candidate} {p.variant_id}.yaml{reference}{profile}"
    return f"{show} && {judge}"


def divergence_text(p: PairResult) -> str:
    if p.verdict in ("error", "invalid"):
        text = f"{p.verdict}: {p.error or 'no reason recorded'}"
        return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS - 1] + "…"
    if p.first_divergence:
        return p.first_divergence + (f" at {num(p.first_divergence_ms)} ms" if p.first_divergence_ms is not None
                                     else "")
    return "-"


def worst_rows(report: SweepReport) -> list:
    """The worst-first table's rows (at most MAX_ROWS)."""
    out = []
    for i, p in enumerate(report.pairs[:MAX_ROWS], 1):
        max_abs = "-" if p.worst is None else f"{num(p.max_abs)} {p.unit}".strip()
        out.append((i, p.variant_id, p.base, p.label, p.pair, p.verdict, p.worst or "-", max_abs,
                    "-" if p.verdict in ("error", "invalid") else num(p.headroom), divergence_text(p),
                    reproduce_line(report, p)))
    return out


def more_words(report: SweepReport) -> str | None:
    more = len(report.pairs) - MAX_ROWS
    return (f"{more} more variant pair{'s' if more != 1 else ''}, all better than these, are not shown; every row is "
            f"in the results dataset {report.results_dir}/{store.RESULTS}/.") if more > 0 else None


INTRO = ("Each variant is the base scenario with the changes shown, judged pair by pair (reference vs candidate) "
         "under the profile; a variant's verdict is its worst pair's. error: a run or a comparison failed; invalid: "
         "the scenario schema refused the variant. headroom is the tolerance over the largest difference: above 1 "
         "passes, inf where nothing differs.")


def summary_markdown(results_dir, *, level: int = 1) -> str:
    """The short page: header, counts and verdicts per pair, without the per-variant table and the figures.
    ``level`` is its top heading's (the release report embeds it one level below its own)."""
    from harness.sweep.report_markdown import render_markdown

    return render_markdown(load(results_dir), summary_only=True, level=level)


# ------------------------------------------------------------------------------------------- the files
def summary_document(report: SweepReport, *, summary_only: bool) -> dict:
    def pair_json(p: PairResult) -> dict:
        return {"variant_id": p.variant_id, "base": p.base, "variant": p.label, "changes": p.changes,
                "pair": p.pair, "candidate": p.candidate, "verdict": p.verdict, "worst_variable": p.worst,
                "unit": p.unit or None, "max_abs": json_number(p.max_abs), "headroom": json_number(p.headroom),
                "first_divergence": p.first_divergence, "first_divergence_ms": json_number(p.first_divergence_ms),
                "error": p.error, "reproduce": reproduce_line(report, p)}

    return {
        "command": "sweep-report", "created": report.created, "summary_only": summary_only,
        "verdict": report.verdict(),
        "sweep": {k: report.manifest.get(k) for k in MANIFEST_KNOWN if k in report.manifest},
        "results": str(report.results_dir), "counts": report.counts(), "not_run": report.not_run(),
        "pairs": [{**{k: v for k, v in st.items() if k != "worst"},
                   "smallest_headroom": json_number(st["worst"].headroom) if st["worst"] else None,
                   "at_variant": st["worst"].variant_id if st["worst"] else None} for st in report.pair_stats()],
        "worst": [] if summary_only else [pair_json(p) for p in report.pairs[:MAX_ROWS]],
        "worst_not_shown": 0 if summary_only else max(0, len(report.pairs) - MAX_ROWS),
        "figures": {f.axis: f.name for f in report.figures},
    }


def report_files(report: SweepReport, *, summary_only: bool = False) -> dict:
    """Relative path -> bytes of everything in the report folder."""
    from harness.sweep.report_html import render_html
    from harness.sweep.report_markdown import render_markdown

    files = {HTML_FILE: render_html(report, summary_only=summary_only).encode(),
             MARKDOWN_FILE: render_markdown(report, summary_only=summary_only).encode(),
             SUMMARY_FILE: (json.dumps(summary_document(report, summary_only=summary_only), indent=2,
                                       allow_nan=False, default=str) + "\n").encode()}
    for f in report.figures:
        files[f.name] = f.png
    return files


def write_sweep_report(results_dir, out_dir=None, *, force: bool = False, summary_only: bool = False) -> dict:
    """Write the report of the sweep results in ``results_dir`` to ``out_dir`` (default ``results_dir/report``);
    returns {"folder", "html", "markdown", "summary", "figures": [...]} as paths. An existing report there is
    replaced only with ``force``, anything else never (``harness.report.folder``); a reference folder never."""
    from harness.report.folder import check_out_dir
    from harness.sweep.report_figures import axis_figures

    out = Path(out_dir) if out_dir is not None else Path(results_dir) / REPORT_DIR
    check_out_dir(out, force)  # before the figures are drawn: a refusal costs nothing
    report = load(results_dir)
    if not summary_only:
        report.figures = axis_figures(report)
    folder = write_report_folder(out, report_files(report, summary_only=summary_only), force=force)
    return {"folder": folder, "html": folder / HTML_FILE, "markdown": folder / MARKDOWN_FILE,
            "summary": folder / SUMMARY_FILE, "figures": [folder / f.name for f in report.figures]}
