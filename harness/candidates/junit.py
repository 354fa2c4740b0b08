"""JUnit XML of a candidate's run (``candidates run --junit PATH``), with the verdicts of its findings.

``harness.report.summary.junit_xml`` writes the comparator's cases (one per scenario x recordable, one for
the spikes, one ``comparison`` case with an <error> where none was possible). A candidate's run adds what
its verdicts mean, so that a CI's test view agrees with the exit code:

* ``expected-fail``: the finding's failing cases become <skipped> with the finding's reason (a known
  problem of the port, not a regression);
* ``fixed``: one more case, ``expectation``, fails: the finding now passes and its ``expect:`` must be
  flipped deliberately (exit 1, as on the command line).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.report.summary import junit_xml

COUNTS = ("tests", "failures", "errors", "skipped")


def candidate_junit(suite_name: str, outcomes, seconds: dict | None = None) -> str:
    """One <testsuite> per scenario (``seconds``: scenario name -> its time), the verdicts applied as the
    module says."""
    text = junit_xml(suite_name, [o.comparison for o in outcomes], seconds)
    root = ET.fromstring(text.split("\n", 1)[1])  # without the declaration, which is written again below
    by_name = {o.scenario.name: o for o in outcomes}
    for suite in root.iter("testsuite"):
        outcome = by_name.get(suite.get("name"))
        if outcome is None:
            continue
        if outcome.verdict == "expected-fail":
            for case in suite.iter("testcase"):
                for failure in case.findall("failure"):
                    case.remove(failure)
                    skipped = ET.SubElement(case, "skipped", message=f"expected failure: {outcome.reason.strip()}")
                    skipped.text = failure.text
        elif outcome.verdict == "fixed":
            case = ET.SubElement(suite, "testcase", classname=f"{suite.get('name')}.{outcome.candidate}",
                                 name="expectation")
            message = (f"FIXED: {outcome.scenario.path} now passes under {outcome.comparison.profile}; set "
                       f"`expect: pass` there (and update the report)")
            ET.SubElement(case, "failure", message=message).text = message
    _recount(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _recount(root: ET.Element) -> None:
    totals = dict.fromkeys(COUNTS, 0)
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        counts = {"tests": len(cases), "failures": sum(c.find("failure") is not None for c in cases),
                  "errors": sum(c.find("error") is not None for c in cases),
                  "skipped": sum(c.find("skipped") is not None for c in cases)}
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
