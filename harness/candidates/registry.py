"""The candidate registry: ``candidates.yaml`` at the repository root names every port the harness can run.

Each entry::

    brainpy:
      description: what it is (one line)
      command: ["{root}/.venv-brainpy/bin/python", "{root}/harness/candidates/brainpy_runner.py",
                "{inputs}", "{outputs}"]
      timeout_s: 1800            # per scenario; default 600
      profile: integrator        # the tolerance profile it is judged by by default; default exact
      requires: [".venv-brainpy/bin/python"]   # files that must exist, else the candidate is unavailable
      setup: make candidate-brainpy            # how to make them exist (shown when they do not)
      findings: scenarios/ports/brainpy        # scenarios whose `expect:` applies to this candidate
      protocols: [1, 2]                        # the protocol versions it speaks; default [1]

``command`` is an argument list (no shell). Placeholders: ``{inputs}`` and ``{outputs}`` (the folders of
the protocol, harness.candidates.protocol), ``{python}`` (the interpreter running the harness) and
``{root}`` (the folder of candidates.yaml). The command runs in a fresh temporary folder.

An in-process candidate names a Python function instead of a command (exactly one of the two)::

    engine-inprocess:
      python: harness.candidates.engine_inprocess:run   # module:function

The function is called in a worker process of the harness with the compiled inputs in memory and returns
its traces as arrays (``harness.candidates.inprocess``): no files, no interpreter of its own. The module is
imported from the harness's environment, with ``{root}`` appended to ``sys.path``.
"""
from __future__ import annotations

import difflib
import re
import string
import sys
from dataclasses import dataclass
from importlib.machinery import PathFinder
from pathlib import Path

import yaml

from harness import catalogue
from harness.errors import UsageError
from harness.judge.tolerances import PROFILE_NAMES

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REGISTRY = catalogue.CANDIDATES  # the checkout's candidates.yaml, or the installed package's copy
DEFAULT_TIMEOUT_S = 600.0
ENTRY_KEYS = ("description", "command", "python", "timeout_s", "profile", "requires", "setup", "findings",
              "protocols")
PROTOCOL_VERSIONS = (1, 2)  # 1: one neuron, 2: a network (harness.candidates.protocol)
PLACEHOLDERS = ("inputs", "outputs", "python", "root")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_FUNCTION = re.compile(rf"^(?P<module>{_DOTTED}):(?P<function>{_DOTTED})$")


@dataclass(frozen=True)
class Candidate:
    name: str
    description: str
    command: tuple[str, ...]
    timeout_s: float
    profile: str
    root: Path
    requires: tuple[str, ...] = ()
    setup: str | None = None
    findings: str | None = None
    protocols: tuple[int, ...] = (1,)  # version 1 only, unless the entry says otherwise
    python: str | None = None  # "module:function" of an in-process candidate (then ``command`` is empty)

    @property
    def in_process(self) -> bool:
        return self.python is not None

    @property
    def target(self) -> tuple[str, str]:
        """(module, function) of an in-process candidate."""
        module, _, function = self.python.partition(":")
        return module, function

    def argv(self, inputs: Path, outputs: Path) -> list[str]:
        values = {"inputs": str(inputs), "outputs": str(outputs), "python": sys.executable, "root": str(self.root)}
        return [part.format(**values) for part in self.command]

    def missing_requirements(self) -> list[str]:
        missing = [r for r in self.requires if not (self.root / r).exists()]
        if self.in_process:
            # Where the module would come from, found without importing it (a port's import may take seconds).
            top = self.target[0].split(".")[0]
            if top not in sys.modules and PathFinder.find_spec(top, [*sys.path, str(self.root)]) is None:
                missing.append(f"the module {top!r} (not importable here)")
        return missing

    def findings_dir(self) -> Path | None:
        return None if self.findings is None else self.root / self.findings


def load_registry(path: str | Path | None = None) -> dict[str, Candidate]:
    """Every candidate in the registry file, validated; problems are reported all together (UsageError)."""
    path = Path(path) if path is not None else DEFAULT_REGISTRY
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the candidate registry: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: malformed YAML: {exc}") from None
    problems: list[str] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("candidates"), dict) or set(raw) != {"candidates"}:
        raise UsageError(f"{path}: expected one top-level key 'candidates' holding a mapping of names to entries")
    candidates = {}
    for name, entry in raw["candidates"].items():
        candidate = _parse_entry(str(name), entry, path.parent.resolve(), problems)
        if candidate is not None:
            candidates[candidate.name] = candidate
    if problems:
        raise UsageError("\n".join(f"{path}: {p}" for p in problems))
    return candidates


def get_candidate(name: str, registry: dict[str, Candidate]) -> Candidate:
    if name in registry:
        return registry[name]
    close = difflib.get_close_matches(name, list(registry), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UsageError(f"unknown candidate {name!r}{hint}; registered: {', '.join(registry) or 'none'}")


def _parse_entry(name: str, entry, root: Path, problems: list[str]) -> Candidate | None:
    where = f"candidates.{name}"
    if not _NAME.match(name):
        problems.append(f"{where}: a name is lower-case letters, digits, '_', '-', '.'")
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected a mapping with 'command' or 'python'")
        return None
    for key in entry:
        if key not in ENTRY_KEYS:
            close = difflib.get_close_matches(str(key), ENTRY_KEYS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{where}.{key}: unknown key{hint}; allowed: {', '.join(ENTRY_KEYS)}")
    before = len(problems)
    command, python = _parse_runner(where, entry, problems)
    timeout = entry.get("timeout_s", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        problems.append(f"{where}.timeout_s: {timeout!r}; allowed: a positive number of seconds")
    profile = entry.get("profile", "exact")
    if profile not in PROFILE_NAMES:
        problems.append(f"{where}.profile: {profile!r}; allowed: {', '.join(PROFILE_NAMES)}")
    requires = entry.get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        problems.append(f"{where}.requires: expected a list of paths relative to {root}")
    protocols = entry.get("protocols", [1])
    if (not isinstance(protocols, list) or not protocols or len(set(map(str, protocols))) != len(protocols)
            or not all(type(v) is int and v in PROTOCOL_VERSIONS for v in protocols)):
        problems.append(f"{where}.protocols: {protocols!r}; allowed: a list of distinct versions from "
                        f"{', '.join(map(str, PROTOCOL_VERSIONS))} (2 carries network scenarios)")
    for key in ("description", "setup", "findings"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            problems.append(f"{where}.{key}: expected a string")
    if len(problems) > before:
        return None
    return Candidate(name=name, description=entry.get("description", ""), command=tuple(command),
                     timeout_s=float(timeout), profile=profile, root=root, requires=tuple(requires),
                     setup=entry.get("setup"), findings=entry.get("findings"), protocols=tuple(sorted(protocols)),
                     python=python)


def _parse_runner(where: str, entry: dict, problems: list[str]) -> tuple[list[str], str | None]:
    """(command, python) of an entry: exactly one of an argument list and a ``module:function``."""
    if ("command" in entry) == ("python" in entry):
        problems.append(f"{where}: give exactly one of 'command' (a program run on the protocol's files) and "
                        f"'python' (module:function, called in process); "
                        + ("both are there" if "command" in entry else "neither is there"))
        return [], None
    if "python" in entry:
        python = entry["python"]
        if not isinstance(python, str) or not _FUNCTION.match(python):
            problems.append(f"{where}.python: {python!r}; expected 'package.module:function' (a function that "
                            f"takes the compiled inputs and returns the traces, docs/candidates.md)")
            return [], None
        return [], python
    command = entry["command"]
    if not isinstance(command, list) or not command or not all(isinstance(c, str) and c for c in command):
        problems.append(f"{where}.command: expected a non-empty list of strings (an argument list, no shell)")
        return [], None
    for part in command:
        for _, field_name, _, _ in string.Formatter().parse(part):
            if field_name is not None and field_name not in PLACEHOLDERS:
                problems.append(f"{where}.command: unknown placeholder {{{field_name}}}; allowed: "
                                + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
    if not any("{outputs}" in c for c in command):
        problems.append(f"{where}.command: must pass {{outputs}} (where the traces are written)")
    return command, None
