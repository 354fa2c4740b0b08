"""Measure what the ``as-accurate-as-nest`` profile's constants are chosen from, and rewrite docs/accuracy.md.

For every single-neuron catalogue scenario (NEST and truth from reference_traces/) and a seeded corpus of
generated scenarios (NEST and truth solved here), it runs correct but different integrators and every
selftest variant that applies, and records per recordable the ratio D_candidate / D_NEST of the distances to
the truth, and the profile's verdict. The tables go between the markers ``<!-- accuracy-figures:NAME -->``
and ``<!-- /accuracy-figures:NAME -->`` in docs/accuracy.md, with the date and the machine.

    python scripts/accuracy_figures.py [--fuzz N] [--json PATH]     (about 10 minutes on 2 cores)
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from harness.backends.python import run_python  # noqa: E402
from harness.judge.accuracy import FACTOR, ROUNDOFF, judge_accuracy  # noqa: E402
from harness.judge.selftest import VARIANTS, run_variant  # noqa: E402
from harness.model.parameters import RECORDABLES  # noqa: E402
from harness.scenario.schema import load_scenario  # noqa: E402
from harness.traces.references import load_reference  # noqa: E402
from harness.truth.engine import TruthPopulation, run_truth  # noqa: E402

DOC = ROOT / "docs" / "accuracy.md"
BLOCK = re.compile(r"(<!-- accuracy-figures:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /accuracy-figures:(?P=name) -->)",
                   re.S)


ABSOLUTE = 100 * np.finfo(float).eps  # the smallest rtol scipy takes: control by atol alone, like GSL's


def integrator(method: str, tolerance_of, relative=ABSOLUTE):
    """A candidate: the engines' step logic with each step solved by scipy's ``method`` to atol = the
    tolerance and rtol = ``relative`` (None: the tolerance too)."""
    def run(scenario):
        cls = type("Candidate", (TruthPopulation,), {"method": method, "tolerance": tolerance_of(scenario),
                                                     "relative": relative})
        return run_python(scenario, population_class=cls, provenance={"backend": method})
    return run


def gsl_tol(scenario):
    return scenario.params.get("gsl_error_tol", 1e-3)


# Correct but different integrators first (each must pass), then ports that are less accurate than NEST.
CANDIDATES = {
    "Radau rtol 1e-10": integrator("Radau", lambda s: 1e-10, relative=None),
    "DOP853, atol gsl_error_tol": integrator("DOP853", gsl_tol),
    "RK45, atol gsl_error_tol": integrator("RK45", gsl_tol),
    "h-reset-every-step": lambda s: run_variant("h-reset-every-step", s),
    "RK45, rtol = atol = gsl_error_tol": integrator("RK45", gsl_tol, relative=None),
    "RK23, atol gsl_error_tol": integrator("RK23", gsl_tol),
}


def measure(scenario, nest, truth) -> list[dict]:
    rows = []
    runs = dict(CANDIDATES)
    runs.update({f"variant {name}": (lambda s, name=name: run_variant(name, s)) for name in VARIANTS
                 if name != "h-reset-every-step" and not name.startswith("network")})
    for label, run in runs.items():
        try:
            candidate = run(scenario)
        except RuntimeError:  # a variant that does not engage on this scenario
            continue
        comparison, ladder = judge_accuracy(nest, truth, candidate, candidate_name=label)
        ratios = {}
        for name in RECORDABLES:
            d_c, d_n = ladder.candidate_truth.get(name), ladder.nest_truth.get(name)
            if d_c is None or d_n is None:
                continue
            floor = ladder.floors.get(name, 0.0)
            ratios[name] = {"d_candidate": d_c, "d_nest": d_n, "floor": floor,
                            "of_bound": d_c / (FACTOR * d_n + floor) if FACTOR * d_n + floor > 0 else
                            (0.0 if d_c == 0 else math.inf)}
        rows.append({"scenario": scenario.name, "candidate": label, "status": comparison.status,
                     "error": comparison.error, "spikes": ladder.candidate_truth.spikes, "ratios": ratios})
    return rows


def catalogue_rows() -> list[dict]:
    rows = []
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        scenario = load_scenario(path)
        if scenario.is_network:
            continue
        nest = load_reference(scenario, ROOT / "reference_traces")
        truth = load_reference(scenario, ROOT / "reference_traces", kind="truth")
        rows += measure(scenario, nest, truth)
        print(f"catalogue {scenario.name}", file=sys.stderr)
    return rows


def fuzz_rows(count: int) -> list[dict]:
    from hypothesis import HealthCheck, given, settings

    from harness.backends.nest import run_nest
    from harness.fuzz.strategies import scenario_dicts
    from harness.scenario.fields import Problems
    from harness.scenario.schema import parse_scenario

    raws = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(scenario_dicts())
    def draw(raw):
        raws.append(raw)

    draw()
    rows = []
    for i, raw in enumerate(raws[:count]):
        problems = Problems(f"fuzz_{i:02d}")
        scenario = parse_scenario({**raw, "name": f"fuzz_{i:02d}"}, problems, f"fuzz_{i:02d}")
        if scenario is None or problems.items:
            continue
        rows += measure(scenario, run_nest(scenario), run_truth(scenario))
        print(f"fuzz {i}", file=sys.stderr)
    return rows


def summarise(rows: list[dict]) -> str:
    """Per candidate: scenarios judged, verdicts, and the largest D_candidate / D_NEST where NEST's distance
    is above the floor (the share of the bound otherwise)."""
    lines = ["| candidate | scenarios | pass | fail | error | max D_cand/D_NEST (variable, scenario) | "
             "max share of the bound |", "|---|---|---|---|---|---|---|"]
    for label in dict.fromkeys(r["candidate"] for r in rows):
        group = [r for r in rows if r["candidate"] == label]
        worst, share = (0.0, "-", "-"), 0.0
        for r in group:
            for name, x in r["ratios"].items():
                if x["d_nest"] > x["floor"] and x["d_candidate"] / x["d_nest"] > worst[0]:
                    worst = (x["d_candidate"] / x["d_nest"], name, r["scenario"])
                share = max(share, x["of_bound"])
        counts = {s: sum(r["status"] == s for r in group) for s in ("pass", "fail", "error")}
        lines.append(f"| {label} | {len(group)} | {counts['pass']} | {counts['fail']} | {counts['error']} | "
                     f"{worst[0]:.3g} ({worst[1]}, {worst[2]}) | {share:.3g} |")
    return "\n".join(lines)


def rewrite(blocks: dict) -> None:
    text = DOC.read_text()
    stamp = f"_Measured {datetime.date.today().isoformat()} by `python scripts/accuracy_figures.py` on {_machine()}, " \
            f"FACTOR {FACTOR:g}, ROUNDOFF {ROUNDOFF:g}._\n\n"

    def replace(match):
        name = match.group("name")
        return match.group(0) if name not in blocks else f"{match.group(1)}{stamp}{blocks[name]}\n{match.group(4)}"

    DOC.write_text(BLOCK.sub(replace, text))


def _machine() -> str:
    sys.path.insert(0, str(ROOT / "scripts"))
    from docs_numbers import machine

    return machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz", type=int, default=20, help="generated scenarios (default: %(default)s)")
    parser.add_argument("--json", help="also write every row to this file")
    args = parser.parse_args()
    catalogue, fuzz = catalogue_rows(), fuzz_rows(args.fuzz)
    if args.json:
        Path(args.json).write_text(json.dumps({"catalogue": catalogue, "fuzz": fuzz}, indent=1, default=str))
    rewrite({"catalogue": summarise(catalogue), "fuzz": summarise(fuzz)})
    print(summarise(catalogue))
    print(summarise(fuzz))
    return 0


if __name__ == "__main__":
    sys.exit(main())
