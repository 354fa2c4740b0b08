"""The release report's section "Release sweep": the committed summary of ``sweeps/release.yaml``'s last run.

The sweep's results dataset is too large to commit and takes minutes to make (``make sweep``), so the release
report does not run it: it reads what ``nest-parity sweep`` left beside the results and is committed
(``reports/sweeps/release/sweep.json`` and ``summary.json``), and says when that summary no longer describes
the sweep file (its content hash differs: someone changed the file, or a base scenario, since the run). A
missing summary is said, never a failure: the section is information, as the accuracy ladder is.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

RELEASE_SWEEP = Path("sweeps") / "release.yaml"
RELEASE_RESULTS = Path("reports") / "sweeps" / "release"
TITLE = "Release sweep"


@dataclass
class SweepSection:
    note: str  # where the summary came from, or why there is none
    rows: list = field(default_factory=list)  # (label, value) of the sweep
    pairs: list = field(default_factory=list)  # (pair, variants, pass, fail, error, invalid, smallest headroom)
    verdict: str | None = None
    stale: str | None = None  # why the summary no longer describes the sweep file

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "note": self.note, "stale": self.stale, "rows": dict(self.rows),
                "pairs": [dict(zip(PAIR_HEADER, p)) for p in self.pairs]}


PAIR_HEADER = ("pair", "variants", "pass", "fail", "error", "invalid", "smallest headroom")


def release_sweep_section(results: Path = RELEASE_RESULTS, sweep_file: Path = RELEASE_SWEEP) -> SweepSection:
    summary, manifest = Path(results) / "summary.json", Path(results) / "sweep.json"
    if not summary.is_file() or not manifest.is_file():
        return SweepSection(f"no release sweep summary in {results}/ (run `make sweep` and commit its "
                            f"sweep.json, summary.json and summary.md)")
    try:
        document, run = json.loads(summary.read_text()), json.loads(manifest.read_text())
        counts = document["counts"]
        pairs = [(p["pair"], p["variants"], p["pass"], p["fail"], p["error"], p["invalid"],
                  str(p["smallest_headroom"])) for p in document["pairs"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return SweepSection(f"the release sweep summary in {results}/ cannot be read: {type(exc).__name__}: {exc}")
    rows = [("sweep file", run.get("path", "?")), ("content hash", run.get("content_hash", "?")),
            ("variants", f"{counts.get('total')}: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in
                                                               ("pass", "fail", "error", "invalid"))),
            ("axes", ", ".join(run.get("axes", []))), ("candidates", ", ".join(run.get("candidates", []))),
            ("profile", run.get("profile", "?")), ("run", f"{run.get('started', '?')} to {run.get('finished', '?')}"
                                                         f" on {run.get('machine', '?')}"),
            ("summary", str(Path(results) / "summary.md"))]
    section = SweepSection(f"from {summary} (`make sweep` writes it)", rows, pairs, document.get("verdict"))
    section.stale = _staleness(run.get("content_hash"), Path(sweep_file))
    return section


def _staleness(recorded: str | None, sweep_file: Path) -> str | None:
    from harness.sweep.spec import load_sweep

    try:
        current = load_sweep(sweep_file).content_hash
    except Exception as exc:  # noqa: BLE001  (a section never fails the report)
        return f"{sweep_file} cannot be read to check the summary against it: {exc}"
    if current != recorded:
        return (f"{sweep_file} (or a base scenario of it) changed since this summary was made: its content hash is "
                f"{current}; run `make sweep` again")
    return None


def sweep_markdown(section: SweepSection) -> list:
    from harness.report.markdown import _md_table

    out = [f"## {TITLE}", "", section.note, ""]
    if section.stale:
        out += [f"**Stale:** {section.stale}.", ""]
    if section.rows:
        out += [f"**{section.verdict}**", "", _md_table(("", ""), section.rows), "",
                _md_table(PAIR_HEADER, section.pairs), ""]
    return out


def sweep_html(section: SweepSection) -> str:
    from harness.report.html import _e, _table

    parts = [f'<h2 id="release-sweep">{_e(TITLE)}</h2>', f'<p class="note">{_e(section.note)}</p>']
    if section.stale:
        parts.append(f'<p class="note"><strong>Stale:</strong> {_e(section.stale)}.</p>')
    if section.rows:
        verdict = section.verdict or "ERROR"
        cls = {"PASS": "pass", "FAIL": "fail"}.get(verdict, "error")
        parts.append(f'<p><span class="badge {cls}">{_e(verdict)}</span></p>')
        parts.append(_table(("", ""), section.rows, cls="prov", num_from=99))
        parts.append(_table(PAIR_HEADER, section.pairs, num_from=1))
    return "\n".join(parts)
