"""The release report's folder: where it goes, what its files are called, and how it is written.

    reports/<tag>/report.html       one file: CSS inline, figures as base64 PNG, no script, no external fetch
    reports/<tag>/report.md         the same content; figures as relative links to figures/
    reports/<tag>/summary.json      the gate's JSON summary (docs/compare.md) plus a "report" block
    reports/<tag>/figures/<scenario>.png
    reports/<tag>/accuracy/<name>.png   the figures of "How far NEST is from the truth" (harness.report.accuracy)

The folder is written into a temporary folder beside the target, then renamed, so a reader never sees half a
report. An existing report folder is replaced only with ``force``; anything that is not a report folder never is.
"""
from __future__ import annotations

import datetime
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

from harness.errors import OverwriteRefused, UsageError
from harness.traces.provenance import git_commit

REPORT_DIR = Path("reports")
SUMMARY_FILE = "summary.json"
HTML_FILE = "report.html"
MARKDOWN_FILE = "report.md"
FIGURE_DIR = "figures"
ACCURACY_DIR = "accuracy"  # not in figures/: a scenario may be called anything a file there could be
FIGURE_DIRS = (FIGURE_DIR, ACCURACY_DIR)
REPORT_FILES = (HTML_FILE, MARKDOWN_FILE, SUMMARY_FILE)


def figure_name(scenario: str) -> str:
    """The figure's path in the folder (a scenario name may hold characters a file name should not)."""
    return f"{FIGURE_DIR}/{re.sub(r'[^A-Za-z0-9_.-]', '_', scenario)}.png"


def accuracy_figure_name(name: str) -> str:
    """A figure of the report's accuracy section, in its own folder."""
    return f"{ACCURACY_DIR}/{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"


def default_out_dir(now: datetime.date | None = None) -> Path:
    """reports/<date>-<short commit>, e.g. reports/2026-03-01-ebf7f48 (…-dirty with uncommitted changes)."""
    commit = git_commit()
    short = "nogit" if commit == "unknown" else commit[:7] + ("-dirty" if commit.endswith("-dirty") else "")
    return REPORT_DIR / f"{(now or datetime.date.today()).isoformat()}-{short}"


def existing_out_dir(out: Path) -> list | None:
    """What every --out folder that is replaced whole must pass (a report's, a convergence study's): not inside
    a reference folder; a missing one must be creatable (None: it does not exist yet); an existing one must be
    a real folder, whose entries are returned, sorted."""
    from harness.traces.atomic import check_output_folder
    from harness.traces.references import is_reference_folder

    out = Path(out)
    if is_reference_folder(out):
        raise UsageError(f"--out {out}: is inside a reference folder, where only `nest-parity record` writes; "
                         f"choose another --out")
    if not out.exists() and not out.is_symlink():
        check_output_folder(out, "--out")  # a file on the way, or a folder that cannot be written
        return None
    if out.is_symlink() or not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder; choose another --out")
    return sorted(out.iterdir())


def check_out_dir(out: Path, force: bool) -> None:
    """Refuse before anything runs: an existing report needs --force, and anything else is never replaced."""
    out = Path(out)
    entries = existing_out_dir(out)
    if entries is None:
        return
    if entries and not (out / SUMMARY_FILE).is_file():
        raise UsageError(f"--out {out}: exists and is not a report folder (no {SUMMARY_FILE}); it is never "
                         f"replaced, even with --force; choose another --out")
    foreign = _not_written_by_a_report(out)
    if foreign:
        raise UsageError(f"--out {out}: holds {foreign}, which a report does not write; the folder is never "
                         f"replaced, even with --force (that would delete it); move it away or choose another --out")
    if entries and not force:
        raise OverwriteRefused(f"--out {out}: a report already exists there; pass --force to replace it, or choose "
                               f"another --out")


def _not_written_by_a_report(out: Path) -> str | None:
    """The first entry of ``out`` that a report does not write (report.html, report.md, summary.json,
    figures/*.png, accuracy/*.png; plain files only, no links), or None: --force replaces the folder whole, so
    it may hold nothing that would be lost."""
    for entry in sorted(out.iterdir()):
        if entry.name in FIGURE_DIRS and entry.is_dir() and not entry.is_symlink():
            for figure in sorted(entry.iterdir()):
                if figure.is_symlink() or not figure.is_file() or figure.suffix != ".png":
                    return f"{entry.name}/{figure.name}"
        elif entry.name not in REPORT_FILES or entry.is_symlink() or not entry.is_file():
            return entry.name
    return None


def write_report_folder(out: Path, files: dict, *, force: bool) -> Path:
    """Write ``files`` into a temporary folder beside ``out``, then rename it to ``out``.

    With ``force`` an existing report folder is moved aside first and deleted only after the new one is in
    place; on any failure the temporary folder is removed and an existing report is left as it was.
    """
    out = Path(out)
    check_out_dir(out, force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write the report: {exc.strerror or exc}") from None
    try:
        return fill_and_rename(out, tmp, files)
    except OSError as exc:  # a full or read-only disk after the work: one line, the old report kept
        raise UsageError(f"--out {out}: cannot write the report: {exc.strerror or exc}; an existing report "
                         f"there was left as it was") from None


def fill_and_rename(out: Path, tmp: Path, files: dict) -> Path:
    old = None
    try:
        for rel, data in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        for folder in [tmp, *(p for p in tmp.rglob("*") if p.is_dir())]:
            os.chmod(folder, 0o777 & ~mask)  # mkdtemp makes the folder private; give it a normal folder's mode
        if out.exists():
            old = out.parent / f".{out.name}.{uuid.uuid4().hex[:8]}.old"
            os.rename(out, old)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            os.rename(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out
