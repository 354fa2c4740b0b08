"""The hostile-input corpus (``tests/hostile_corpus.py``): ``validate`` refuses every file cleanly.

Every file must get exit 2, a message naming the file (and the key path the case names), at most 20 kB of
stderr, no traceback, and no hang. The files are validated in one child process whose address space is
limited (an alias bomb cannot take the machine) with an alarm per file (a hang is reported, not waited
for); FIFOs, devices and folders are in it too. The control: every unmutated catalogue file is accepted
by the same runner.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from hostile_corpus import ANY, FILE, Case, catalogue_files, generate, write

PER_FILE_S = 10
MEMORY_BYTES = 4 * 2 ** 30
MAX_STDERR = 20_000

RUNNER = r"""
import contextlib, io, json, resource, signal, sys, time, traceback
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]), int(sys.argv[2])))
from harness.cli import main

def hang(*_):
    raise TimeoutError
signal.signal(signal.SIGALRM, hang)
for path in json.load(open(sys.argv[1])):
    err, out, outcome, code = io.StringIO(), io.StringIO(), "exit", None
    start = time.monotonic()
    signal.alarm(int(sys.argv[3]))
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(["validate", path])
    except TimeoutError:
        outcome = "hang"
    except BaseException:
        outcome = "traceback: " + traceback.format_exc()[-3000:]
    finally:
        signal.alarm(0)
    text = err.getvalue()
    print(json.dumps({"path": path, "code": code, "outcome": outcome, "err": text[:MAX], "err_len": len(text),
                      "seconds": time.monotonic() - start}), flush=True)
""".replace("MAX", str(MAX_STDERR))


def run_validate(paths, timeout=300) -> dict:
    """``validate`` on each path in a bounded child process: {path: result}."""
    manifest = Path(os.environ.get("TMPDIR", "/tmp")) / f"hostile-manifest-{os.getpid()}.json"
    manifest.write_text(json.dumps([str(p) for p in paths]))
    try:
        proc = subprocess.run([sys.executable, "-c", RUNNER, str(manifest), str(MEMORY_BYTES), str(PER_FILE_S)],
                              cwd=REPO, capture_output=True, text=True, timeout=timeout)
    finally:
        manifest.unlink()
    results = {r["path"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert len(results) == len(paths), f"the runner died (exit {proc.returncode}): {proc.stderr[-3000:]}"
    return results


def problems_with(case: Case, path: Path, result: dict) -> list[str]:
    """Why one result breaks the promise (empty when the file was refused as it must be)."""
    out = []
    if result["outcome"] != "exit":
        out.append(result["outcome"][:3000])
    if result["code"] != 2:
        out.append(f"exit {result['code']} (accepted or wrong code)")
    err, name = result["err"], re.escape(str(path))
    if "Traceback" in err:
        out.append("a traceback on stderr")
    if result["err_len"] > MAX_STDERR:
        out.append(f"{result['err_len']} characters of stderr")
    if case.key == FILE and not re.search(rf"(^|\n)(error: )?{name}: ", err):
        out.append("no message naming the file")
    elif case.key == ANY and not re.search(rf"(^|\n)(error: )?{name}: \S+: ", err):
        out.append("no message naming the file and a key path")
    elif case.key not in (ANY, FILE) and f"{path}: {case.key}: " not in err and f"{path}: {case.key}[" not in err:
        # (a list put where a network allows one is named by its element: "weight[0]: expected a number")
        out.append(f"no message for the key path {case.key!r}")
    return out


def special_files(folder: Path) -> list[tuple[Case, Path]]:
    """Files that are not regular files: reading must neither block nor exhaust memory."""
    fifo = folder / "fifo.yaml"
    os.mkfifo(fifo)
    (folder / "folder.yaml").mkdir()
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (folder / "dangling.yaml").symlink_to(folder / "nowhere")
    paths = [fifo, folder / "folder.yaml", folder / "zero.yaml", folder / "dangling.yaml", folder / "missing.yaml",
             Path("/dev/zero"), Path("/dev/null")]
    return [(Case(p.name, "special", b"", FILE), p) for p in paths]


def check_corpus(tmp_path, cases) -> None:
    folder = tmp_path / "corpus"
    pairs = list(zip(cases, write(cases, folder))) + special_files(tmp_path)
    results = run_validate([p for _, p in pairs])
    broken = {str(p): problems_with(c, p, results[str(p)]) for c, p in pairs}
    broken = {p: (why, results[p]["err"][:300]) for p, why in broken.items() if why}
    assert not broken, f"{len(broken)} of {len(pairs)} files not refused cleanly:\n" + "\n".join(
        f"{p}: {why}\n    {err!r}" for p, (why, err) in list(broken.items())[:20])
    slowest = max(r["seconds"] for r in results.values())
    assert slowest < PER_FILE_S


def test_the_corpus_covers_every_class():
    cases = generate()
    kinds = {}
    for case in cases:
        kinds[case.kind] = kinds.get(case.kind, 0) + 1
    assert len(cases) >= 1000
    assert len({c.name for c in cases}) == len(cases)
    for kind in ("wrong_type", "null", "missing", "duplicate", "yaml11", "huge_number", "off_grid", "binary",
                 "name", "bomb", "deep", "size", "structure", "semantic"):
        assert kinds.get(kind, 0) >= 5, (kind, kinds)
    assert generate() == cases, "the corpus must be the same on every run"


@pytest.mark.slow
def test_every_hostile_file_is_refused_cleanly(tmp_path):
    check_corpus(tmp_path, generate())


def test_a_sample_of_the_corpus_and_the_special_files(tmp_path):
    """The fast part (make check): every 40th case, the bombs, deep nesting and odd structure, FIFOs, devices."""
    cases = generate()
    check_corpus(tmp_path, [c for i, c in enumerate(cases) if i % 40 == 0 or c.kind in ("bomb", "deep", "structure")])


def test_control_the_catalogue_is_accepted_by_the_same_runner():
    paths = catalogue_files()
    results = run_validate(paths)
    assert all(r["code"] == 0 and r["outcome"] == "exit" for r in results.values()), results


def test_control_the_judge_catches_an_accepted_file_a_traceback_and_a_missing_key(tmp_path):
    path = tmp_path / "x.yaml"
    case = Case("x.yaml", "null", b"", "duration")
    good = {"outcome": "exit", "code": 2, "err": f"error: {path}: duration: is null\n", "err_len": 40}
    assert problems_with(case, path, good) == []
    assert problems_with(case, path, {**good, "code": 0})
    assert problems_with(case, path, {**good, "outcome": "traceback: ValueError"})
    assert problems_with(case, path, {**good, "outcome": "hang"})
    assert problems_with(case, path, {**good, "err": f"error: {path}: resolution: bad\n"})
    assert problems_with(Case("x.yaml", "bomb", b"", ANY), path, {**good, "err": f"error: {path}: too large\n"})
    assert problems_with(case, path, {**good, "err_len": MAX_STDERR + 1})
