"""A sweep file run with other candidates, profile or truth (``nest-parity sweep --candidate/--profile/--truth``).

A port's author runs the release sweep on the port without editing the file::

    nest-parity sweep sweeps/release.yaml --candidate brainpy --profile as-accurate-as-nest --truth live

The result is another sweep: its content hash covers the overrides, so its results never mix with the file's
own in one ``--out`` (and its default ``--out`` has a folder of its own), and its variants keep their ids (the
same scenarios).
"""
from __future__ import annotations

import dataclasses
import hashlib

from harness.errors import UsageError
from harness.scenario.fields import Problems


def _option(key: str) -> str:
    """The flag a problem's key stands for (``candidates[1]``: a --candidate, whose message names it)."""
    return "--candidate" if key.startswith("candidates") else f"--{key}"


def overridden(sweep, *, candidates: list | None = None, profile: str | None = None, truth: str | None = None):
    """``sweep`` with the candidates, profile or truth replaced, checked as the file's own keys are (exit 2)."""
    from harness.sweep.spec import _candidates, _profile_and_truth

    if not candidates and profile is None and truth is None:
        return sweep
    problems = Problems("the command line")
    raw = {"candidates": list(candidates)} if candidates else {"candidates": list(sweep.candidates)}
    chosen = _candidates(raw, problems, sweep.registry)
    profile, truth = _profile_and_truth({"profile": profile or sweep.profile, "truth": truth or sweep.truth},
                                        problems)
    if problems.items:
        raise UsageError("\n".join(f"{_option(key)}: {message}" for key, message in problems.items))
    what = f"candidates={','.join(chosen)};profile={profile};truth={truth}"
    digest = hashlib.sha256(f"{sweep.content_hash}\n{what}".encode()).hexdigest()
    return dataclasses.replace(sweep, candidates=chosen, profile=profile, truth=truth,
                               content_hash="sha256:" + digest,
                               name=f"{sweep.name}-{'-'.join(chosen)}" if candidates else sweep.name)
