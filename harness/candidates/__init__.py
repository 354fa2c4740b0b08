"""Candidates: ports of iaf_bw_2001_exact run as separate programs (or called in process) and judged like any
backend.

* ``protocol``: the input and output file formats (the contract with a port's author), version 1 (one
  neuron); ``protocol_network``: version 2 (a network); ``network_loop``: the runner side of version 2 in
  plain NumPy (NEST's ring buffers, update calls and delivery order), for any port's runner;
* ``registry``: ``candidates.yaml``, the named candidates and how to run them;
* ``execute``: one candidate on one scenario, with every failure turned into ``CandidateError``;
  ``inprocess``: a ``python:`` entry, a function called with the compiled inputs in memory (no files),
  its arrays checked by the protocol's rules (``run_callable`` for a function at hand);
* ``parity``: a candidate over a set of scenarios, judged by the comparator (or, under
  ``as-accurate-as-nest``, against the truth), each outcome with its accuracy ladder, and the findings'
  expectations (``expect: fail``); ``report``: the Markdown parity report; ``ladder_view``: a ladder's worst
  recordable in one line or table row; ``workers``: scenarios in parallel worker processes, each result
  handed on as it arrives (``--workers N``); ``junit`` and ``outputs``: what ``run`` writes (--junit,
  --json, --report);
* ``cli``: the command-line wiring (``python -m harness.candidates``);
* runners: ``engine_runner`` (harness.model), ``nest_runner`` (NEST 3.10) and ``brainpy_runner`` (the
  brainpy.state port, run with its own Python 3.12); ``engine_inprocess``: the engine as an in-process
  candidate.
"""
from .execute import CandidateError, CandidateUnavailable, run_candidate
from .inprocess import run_callable
from .registry import Candidate, get_candidate, load_registry

__all__ = ["Candidate", "CandidateError", "CandidateUnavailable", "get_candidate", "load_registry",
           "run_callable", "run_candidate"]
