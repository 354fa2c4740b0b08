"""The report's captions: what a scenario's figure shows, in words (``harness.report.figures`` and
``network_figures`` draw it), so that the HTML and the Markdown say the same."""
from __future__ import annotations

from harness.report.data import ScenarioReport, names_text, network_spike_words, num, tolerance_text


def figure_words(sr: ScenarioReport) -> str:
    f = sr.figure
    if f is None:
        return sr.no_figure or "no figure"
    if getattr(f, "is_network", False):
        return " ".join(f"{title}: {words}" for title, words in figure_parts(sr))
    flat = (f" Variables that are 0 at every sample on both sides have no panel: {', '.join(f.flat)}."
            if getattr(f, "flat", None) else "")
    if f.all_zero:
        return ("|candidate - NEST| is exactly 0 for every variable at every sample: the traces are "
                "bit-identical, so there is no difference panel." + flat)
    return _difference_words(f, "at every sample in") + " " + scale_words(f) + flat


def scale_words(f) -> str:
    """How the difference panels are scaled, in words (a zero tolerance is measured against roundoff's)."""
    words = ("Each difference panel shows |candidate - NEST| divided by the variable's tolerance, abs + "
             "rel·|NEST|, on a log scale: 1 (the red line) is the line to stay under.")
    scaled = getattr(f, "roundoff_scaled", [])
    if scaled:
        words += (f" The exact profile's tolerance is 0, so for {', '.join(scaled)} the panels divide by the "
                  f"roundoff profile's bound 1e-12·|NEST| instead: every point drawn breaks exact, a point above "
                  f"1 would break roundoff too.")
    return words


def _difference_words(f, zero_where: str) -> str:
    parts = (f"|candidate - NEST| is nonzero in {', '.join(f.nonzero_difference)}" if f.nonzero_difference else "",
             f"exactly 0 {zero_where} {', '.join(f.zero_difference)}" if f.zero_difference else "",
             f"NaN or inf in {', '.join(f.nonfinite)}" if f.nonfinite else "")
    return "; ".join(p for p in parts if p) + "."


def figure_parts(sr: ScenarioReport) -> list[tuple[str, str]]:
    """A network figure's parts in words, (title, words) each; [] for a single neuron's figure."""
    f, c = sr.figure, sr.live
    if f is None or not getattr(f, "is_network", False):
        return []
    n = sum(k for _, k in f.populations)
    populations = ", ".join(f"{name} {k}" for name, k in f.populations)
    cutoff = (f"; the dotted line at {num(f.judged_until_ms)} ms marks the network cut-off (the first spike "
              f"difference): later samples are not judged" if f.judged_until_ms is not None else "")
    divergence = c.first_divergence()
    rates = ", ".join(f"{name} {num(ref)} Hz" + (f" (candidate {num(cand)} Hz)" if cand != ref else "")
                      for name, ref, cand in f.mean_rates)
    tolerances = {v.tolerance for v in c.variables.values() if v.name == f.map_variable}
    tolerance = tolerance_text(tolerances.pop()) if len(tolerances) == 1 else "per neuron"
    if not f.map_nonzero and not f.map_nonfinite:
        error_map = f"exactly 0 in all {n} neurons at every sample (bit-identical), all cells grey"
    else:
        error_map = "; ".join(p for p in (
            f"nonzero in {len(f.map_nonzero)} of {n} neurons ({names_text(f.map_nonzero)}), up to "
            f"{num(f.map_max)}" if f.map_nonzero else "",
            f"NaN or inf (red) in {names_text(f.map_nonfinite)}" if f.map_nonfinite else "",
            "grey cells are exactly 0") if p)
    overall = ("|candidate - NEST| is exactly 0 for every variable of every neuron at every sample: bit-identical."
               if f.all_zero else _difference_words(f, "in every neuron at every sample in"))
    return [
        ("(a) spike raster", f"NEST as '|', the candidate as '.', {n} recorded neurons ({populations}): "
                             f"{network_spike_words(c)}{cutoff}."),
        (f"(b) {f.rates_title}", f"spikes per recorded neuron per second, per population in {num(f.bin_ms)} ms "
                                 f"bins, NEST solid, the candidate dashed; mean NEST rates {rates}."),
        (f"(c) traces of {f.neuron}", f"{f.neuron}, {f.neuron_why}: NEST and the candidate overlaid (V_m with "
                                      f"V_th and both spike trains, the s_* and each I_* on its own axis), then "
                                      f"|candidate - NEST| / tolerance of each variable that differs; "
                                      + (f"first divergence {divergence[0]} at {num(divergence[1])} ms."
                                         if divergence else "nothing breaks the tolerance.")),
        ("(d) error map", f"|candidate - NEST| of {f.map_variable} per neuron and time on a log colour scale, "
                          f"{error_map}; tolerance {tolerance}{cutoff}."),
        ("in all", overall),
    ]
