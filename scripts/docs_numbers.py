"""Regenerate the numbers that README.md and docs/ quote from commands (`make docs-numbers`).

Each generated passage sits between two markers in a Markdown file::

    <!-- docs-numbers:gate -->
    ... text written by this script ...
    <!-- /docs-numbers:gate -->

The script runs the commands (the gate over the catalogue, the fuzz ci profile, a release report, and with
``--suite`` the test suite), then rewrites every marked passage with the measured numbers, the date and the
machine. Passages of blocks that were not measured in this run are left as they are. A file is replaced
atomically, so a crash never leaves half a README.

    python scripts/docs_numbers.py                 # measure and rewrite README.md and docs/*.md
    python scripts/docs_numbers.py --suite         # also time `make check` and the whole suite (minutes)
    python scripts/docs_numbers.py --check         # only list the marked passages and their age; exit 1 if a
                                                   # block is marked in one file but not generated here
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.traces.provenance import machine_description  # noqa: E402

PYTHON = sys.executable
BLOCK = re.compile(r"(<!-- docs-numbers:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /docs-numbers:(?P=name) -->)",
                   re.S)
DOCUMENTS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]


def run(args: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, **kwargs)
    return done, time.perf_counter() - started


def cli(*args: str) -> list[str]:
    return [PYTHON, "-m", "harness", *args]


def measure_gate(tmp: Path) -> dict[str, str]:
    out = {}
    for label, paths in (("all", ["scenarios"]), ("main", sorted(str(p) for p in (ROOT / "scenarios").glob("*.yaml")))):
        done, _ = run(cli("gate", *paths, "--json", str(tmp / f"{label}.json"), "--junit", str(tmp / f"{label}.xml")))
        if done.returncode != 0:
            raise SystemExit(f"docs_numbers: the gate failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
        summary = json.loads((tmp / f"{label}.json").read_text())
        testcases = len(ET.parse(tmp / f"{label}.xml").getroot().findall(".//testcase"))
        out[label] = (len(summary["scenarios"]), len(summary["comparisons"]), summary["wall_seconds"],
                      summary["workers"], testcases)
    n_all, comparisons, wall_all, workers, cases_all = out["all"]
    n_main, _, wall_main, _, cases_main = out["main"]
    gate = (f"The whole catalogue, {n_all} scenarios ({comparisons} comparisons: the {n_main} main ones plus the "
            f"{n_all - n_main} in sub-folders), took **{wall_all:.1f} s wall** with {workers} worker processes; the "
            f"{n_main} main scenarios alone took {wall_main:.1f} s.")
    junit = (f"The catalogue's {n_main} main scenarios give {cases_main} testcases (a single neuron's pair 8: seven "
             f"recordables and the spikes; a network's pair one per recorded neuron and variable, plus the spikes, "
             f"and one case for its thread-count pair); `make gate` (every scenario, {n_all}) gives {cases_all}.")
    return {"gate": gate, "junit": junit}


def measure_fuzz() -> dict[str, str]:
    blocks = {}
    for name, extra in (("fuzz-ci", []), ("fuzz-ci-jax", ["--candidate", "python-jax"])):
        done, _ = run(cli("fuzz", "--profile", "ci", *extra))
        line = next((x for x in done.stdout.splitlines() if x.startswith("fuzz (profile ci")), None)
        if done.returncode != 0 or line is None:
            raise SystemExit(f"docs_numbers: fuzz --profile ci {' '.join(extra)} failed (exit {done.returncode}):"
                             f"\n{done.stdout}{done.stderr}")
        blocks[name] = f"```\n{line}\n```"
    return blocks


def measure_report(tmp: Path) -> dict[str, str]:
    out = tmp / "report"
    done, seconds = run(cli("report", "scenarios", "--out", str(out)))
    if done.returncode != 0:
        raise SystemExit(f"docs_numbers: the report failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    html = (out / "report.html").stat().st_size
    figures = len(list((out / "figures").glob("*.png")))
    return {"report": f"The catalogue's report takes {seconds:.0f} s on this machine and is {html / 1e6:.1f} MB of "
                      f"HTML with {figures} figures."}


def measure_suite() -> dict[str, str]:
    done, check = run(["make", "check"])
    if done.returncode != 0:
        raise SystemExit(f"docs_numbers: make check failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    done, test = run(["make", "test"])
    if done.returncode != 0:
        raise SystemExit(f"docs_numbers: make test failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    tail = next((x for x in reversed(done.stdout.splitlines()) if " passed" in x), "").strip("= ")
    return {"suite": f"`make check` took **{check:.0f} s** and `make test` **{test / 60:.1f} min** ({tail}), with the "
                     f"virtual environment and Chromium already installed."}


def stamp(text: str, today: str, where: str) -> str:
    return f"{text}\n<sub>Measured {today} on {where} by `make docs-numbers`.</sub>\n"


def substitute(text: str, blocks: dict[str, str], today: str, where: str) -> str:
    """``text`` with every marked passage named in ``blocks`` replaced; other passages left as they are."""
    return BLOCK.sub(lambda m: (m.group(1) + stamp(blocks[m["name"]], today, where) + m.group(4))
                     if m["name"] in blocks else m.group(0), text)


def rewrite(blocks: dict[str, str], today: str, where: str) -> list[str]:
    changed = []
    for name in DOCUMENTS:
        path = ROOT / name
        text = path.read_text()
        new = substitute(text, blocks, today, where)
        if new != text:
            with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
                f.write(new)
            os.replace(f.name, path)
            changed.append(name)
    return changed


def marked() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name in DOCUMENTS:
        for m in BLOCK.finditer((ROOT / name).read_text()):
            found.setdefault(m["name"], []).append(name)
    return found


GENERATED = ("gate", "junit", "fuzz-ci", "fuzz-ci-jax", "report", "suite")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python scripts/docs_numbers.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="store_true", help="also time make check and make test (minutes)")
    parser.add_argument("--check", action="store_true", help="only list the marked passages; run nothing")
    args = parser.parse_args()
    found = marked()
    unknown = sorted(set(found) - set(GENERATED))
    for name, files in sorted(found.items()):
        print(f"{name}: {', '.join(files)}")
    if unknown:
        print(f"error: marked but not generated by this script: {', '.join(unknown)}", file=sys.stderr)
        return 1
    if args.check:
        return 0
    today, where = datetime.date.today().isoformat(), machine_description()
    blocks: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        blocks |= measure_gate(Path(tmp))
        blocks |= measure_fuzz()
        blocks |= measure_report(Path(tmp))
    if args.suite:
        blocks |= measure_suite()
    for name, text in blocks.items():
        print(f"--- {name}\n{text}")
    changed = rewrite(blocks, today, where)
    print(f"rewrote {', '.join(changed) if changed else 'nothing'} ({today}, {where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
