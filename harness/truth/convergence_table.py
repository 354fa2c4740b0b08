"""A convergence study as Markdown: per resolution, NEST's (and the candidate's) distance to the truth at each
gsl_error_tol, the fitted slopes, and the truth's own convergence figure."""
from __future__ import annotations

import math

from harness.model.parameters import RECORDABLE_UNITS


def study_table(study) -> str:
    names = study.recordables
    who = "NEST" if study.candidate is None else f"NEST / {study.candidate}"
    lines = [f"Distance to the truth ({study.method}, rtol = atol = {study.tolerance:g}), max |x - truth| per "
             f"recordable; cells: {who}. `*`: at or below the round-off level, not fitted. seconds: NEST's run (the "
             f"first includes starting NEST), in the last row the truth's (its two solves, or loading the stored one)."]
    if study.zero_recordables:
        lines.append(f"Exactly zero throughout, left out: {', '.join(study.zero_recordables)}.")
    for res in study.resolutions:
        lines += ["", f"resolution {res:g} ms" + (" (the scenario's own)" if res == study.own_resolution else ""), ""]
        header = ["gsl_error_tol"] + [f"{n} ({RECORDABLE_UNITS[n]})" for n in names] + ["spikes", "seconds"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for p in study.at(res):
            tol = f"{p.gsl_error_tol:g}" + (" (own)" if p.gsl_error_tol == study.own_tol else "")
            cells = [_cell(study, p, n) for n in names]
            spikes = p.nest.spikes + ("" if study.candidate is None else
                                      f" / {p.candidate.spikes if p.candidate is not None else 'error'}")
            lines.append("| " + " | ".join([tol, *cells, spikes, f"{p.nest_seconds:.2f}"]) + " |")
        nest_fit = study.fit("nest", res)
        cand_fit = study.fit("candidate", res) if study.candidate is not None else None
        slopes = [nest_fit[n].shown() + ("" if cand_fit is None else f" / {cand_fit[n].shown()}") for n in names]
        lines.append("| **slope** | " + " | ".join(slopes) + " | | |")
        truth = study.truth(res)
        moved = [_number(truth.convergence.get(n)) if truth.convergence is not None else "–" for n in names]
        lines.append("| truth moved at rtol/10 | " + " | ".join(moved) + f" | {_spikes(truth)} | "
                     f"{truth.seconds:.2f} |")
        lines += ["", f"The truth: {truth.source}."]
    notes = [f"- {p.variant}: {p.note.splitlines()[0]}" for p in study.points if p.note]
    if notes:
        lines += ["", "The candidate gave no traces:", *notes]
    return "\n".join(lines)


def _cell(study, point, name) -> str:
    text = _value(study, point, "nest", name)
    if study.candidate is not None:
        text += " / " + ("error" if point.candidate is None else _value(study, point, "candidate", name))
    return text


def _value(study, point, who, name) -> str:
    d = point.nest if who == "nest" else point.candidate
    value = d.get(name)
    if value is None:
        return "–"
    return _number(value) + ("" if study.fitted(point, who, name) or math.isnan(value) else "*")


def _number(value) -> str:
    if value is None:
        return "–"
    return "NaN" if math.isnan(value) else "0" if value == 0 else f"{value:.2g}"



def _spikes(truth) -> str:
    return "–" if truth.convergence is None else truth.convergence.spikes
