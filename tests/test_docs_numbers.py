"""The script that regenerates the numbers README.md and docs/ quote (scripts/docs_numbers.py)."""
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("docs_numbers", ROOT / "scripts" / "docs_numbers.py")
docs_numbers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(docs_numbers)


def test_substitute_replaces_only_the_named_passages_and_stamps_them():
    text = ("intro\n<!-- docs-numbers:gate -->\nold gate text\n<!-- /docs-numbers:gate -->\nmiddle\n"
            "<!-- docs-numbers:report -->\nold report\n<!-- /docs-numbers:report -->\nend\n")
    new = docs_numbers.substitute(text, {"gate": "12 scenarios in 3.0 s."}, "2026-12-01", "Some CPU (AVX2), 2 cores")
    assert "old gate text" not in new and "12 scenarios in 3.0 s." in new
    assert "Measured 2026-12-01 on Some CPU (AVX2), 2 cores" in new
    assert "old report" in new  # not measured in this run: left alone
    assert new.startswith("intro\n") and new.endswith("end\n") and "\nmiddle\n" in new
    assert docs_numbers.substitute(new, {"gate": "12 scenarios in 3.0 s."}, "2026-12-01",
                                   "Some CPU (AVX2), 2 cores") == new  # idempotent


def test_every_marked_passage_in_the_docs_is_one_the_script_generates():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "docs_numbers.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = docs_numbers.marked()
    assert {"gate", "fuzz-ci", "report", "suite"} <= set(found), found  # the README quotes each of them


def test_machine_names_the_vector_unit_and_cores():
    where = docs_numbers.machine_description()  # harness.traces.provenance, shared with the sweep manifest
    assert ("AVX-512" in where or "AVX2" in where or "no AVX2" in where) and "cores" in where
