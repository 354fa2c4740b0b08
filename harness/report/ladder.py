"""The accuracy ladder as people read it: per recordable, with its unit, the candidate's distance to NEST,
NEST's own distance to the truth, the candidate's distance to the truth, and how far the truth moved when
solved ten times tighter (``harness.judge.distances.Ladder``)."""
from __future__ import annotations

import math

from harness.model.parameters import RECORDABLE_UNITS, RECORDABLES

HEADER = ("variable", "candidate-NEST", "NEST-truth", "candidate-truth", "truth moved (rtol/10)")


def _g(value) -> str:
    if value is None:
        return "-"
    return "NaN" if math.isnan(value) else "0" if value == 0 else f"{value:.3g}"


def ladder_rows(ladder, candidate: str = "candidate") -> list[tuple[str, ...]]:
    """Header and one row per recordable (``variable (unit)``, four distances); '-' where not measured."""
    rungs = (ladder.candidate_nest, ladder.nest_truth, ladder.candidate_truth, ladder.convergence)
    names = [n for n in RECORDABLES if any(r is not None and n in r.variables for r in rungs)]
    header = (HEADER[0], f"{candidate}-NEST", HEADER[2], f"{candidate}-truth", HEADER[4])
    unconverged = set(ladder.unconverged())
    rows = [header]
    for name in names:
        cells = [_g(None if r is None else r.get(name)) for r in rungs]
        if name in unconverged:
            cells[3] += " (NOT converged)"
        rows.append((f"{name} ({RECORDABLE_UNITS[name]})", *cells))
    spikes = [("spikes", *("-" if r is None else r.spikes for r in rungs[:3]), "-" if rungs[3] is None
               else rungs[3].spikes)]
    return rows + spikes


def ladder_table(ladder, candidate: str = "candidate") -> str:
    """The ladder as an indented text table, with its notes and the unconverged warning."""
    rows = ladder_rows(ladder, candidate)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["accuracy ladder (max |difference| per recordable):"]
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines += [f"  note: {note}" for note in ladder.notes]
    unconverged = ladder.unconverged()
    if unconverged:
        lines.append(f"  warning: the truth is not converged for {', '.join(unconverged)}: solved ten times tighter "
                     "it moved by 1 % or more of NEST's distance to it, so NEST's distance is not measured there")
    return "\n".join(lines)
