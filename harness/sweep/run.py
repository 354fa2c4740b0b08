"""Running a sweep: its variants in batches on Dask, each finished task's rows written at once.

The client (this process) plans the tasks, submits them through ``harness.executor.cluster.stream`` and writes
each task's rows as one Parquet part as soon as it finishes (``harness.sweep.store``); the workers never
write. So a crash, a cancelled job or Ctrl-C loses at most the tasks that were running, and a rerun with the
same ``--out`` skips every variant that has its rows.

Every variant ends with exactly its rows, whatever happens to the workers:

* a task whose worker dies (killed, out of memory, a segfault, past ``timeout``) is retried by the scheduler
  on another worker; lost again, it is split and each of its variants runs as a task of its own, so that
  only the variant that kills its worker is lost; that one gets ``error`` rows that say so;
* a task that raises (a bug of the harness: each variant's own errors are caught in the task) gives
  ``error`` rows for its variants with the exception;
* an invalid variant (one the schema refuses) gets ``invalid`` rows and never runs.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UsageError
from harness.sweep import store
from harness.sweep.tasks import Item, Settings, run_task
from harness.traces.provenance import machine_description


@dataclass
class SweepOutcome:
    out: Path
    variants: int  # in the sweep
    ran: int  # run by this call
    skipped: int  # already done by an earlier run
    counts: dict  # verdict -> variants (a variant's verdict: its worst pair's), over the whole dataset
    seconds: float
    workers: int | str
    retried_alone: list = field(default_factory=list)  # ids of variants re-run alone after their task was lost

    @property
    def status(self) -> str:
        if self.counts.get("error"):
            return "error"
        return "fail" if self.counts.get("fail") else "pass"

    def summary(self, name: str) -> str:
        counts = ", ".join(f"{self.counts.get(v, 0)} {v}" for v in store.VERDICTS)
        return (f"sweep {name}: {self.variants} variants: {counts}; {self.ran} run now, {self.skipped} already "
                f"done; {self.seconds:.1f} s on {self.workers} worker(s); results in {self.out}")


# ------------------------------------------------------------------------------------------- the output folder
def prepare_out(sweep, out: Path, *, force: bool, **run: object) -> None:
    """Check ``out`` and write its manifest: a folder of another sweep (or not a sweep's) is never reused.
    ``run``: more fields for the manifest (the variant count, the scheduler, the workers)."""
    from harness.report.folder import existing_out_dir

    entries = existing_out_dir(out)
    manifest = Path(out) / store.MANIFEST
    previous: dict = {}
    if entries:
        if not manifest.is_file():
            raise UsageError(f"--out {out}: exists and holds no {store.MANIFEST}, so it is not a sweep's results "
                             f"folder; it is never written into; choose another --out")
        previous = store.read_manifest(out)
        other = previous.get("content_hash") != sweep.content_hash
        if other and not force:
            raise UsageError(f"--out {out}: holds the results of another sweep ({previous.get('path')}, content "
                             f"hash {previous.get('content_hash')}; this file's is {sweep.content_hash}): "
                             f"--force deletes them and starts over, or choose another --out")
        if force:
            shutil.rmtree(Path(out) / store.RESULTS, ignore_errors=True)
            previous = {}
    Path(out).mkdir(parents=True, exist_ok=True)
    document = {"name": sweep.name, "path": str(sweep.path), "content_hash": sweep.content_hash,
                "axes": list(sweep.axes), "candidates": list(sweep.candidates), "profile": sweep.profile,
                "truth": sweep.truth, "batch_size": sweep.batch_size,
                "started": previous.get("started", _now()), "machine": machine_description(), **run}
    write_manifest(out, document)


def write_manifest(out: Path, document: dict) -> None:
    from harness.traces.atomic import atomic_write_text

    atomic_write_text(Path(out) / store.MANIFEST, json.dumps(document, indent=2) + "\n")


def finish_manifest(out: Path, **fields: object) -> None:
    document = store.read_manifest(out)
    write_manifest(out, {**document, "finished": _now(), **fields})


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------------- planning
def plan_tasks(variants: list, batch_size: int) -> list[list]:
    """Variants of one base and one time grid together (a NEST kernel needs one grid), ``batch_size`` a task."""
    from harness.backends.batch import grid_key

    groups = defaultdict(list)
    for v in variants:
        kind = ("network",) if v.scenario.is_network else grid_key(v.scenario)
        groups[(v.base, kind)].append(v)
    return [members[i:i + batch_size] for members in groups.values() for i in range(0, len(members), batch_size)]


def task_key(sweep, variants: list) -> str:
    """Stable (it names the task's part file) and the sweep's own: on a shared scheduler, equal keys are one
    task, so the key covers the sweep's content hash (its candidates and profile) as well as the variants."""
    text = "\n".join([sweep.content_hash, *(v.id for v in variants)])
    return f"{store.safe_name(sweep.name)}-{len(variants)}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def item_of(variant) -> Item:
    from harness.sweep.expand import variant_yaml

    return Item(variant.id, variant.base, variant.label, dict(variant.changes), variant.scenario,
                variant_yaml(variant))


# ------------------------------------------------------------------------------------------- running
def run_sweep(sweep, variants: list, out: Path, *, scheduler: str | None = None, workers: int = 2,
              force: bool = False, reference_dir: str | None = None) -> SweepOutcome:
    """Every variant of ``sweep`` not yet in ``out``, on Dask; the outcome counts the whole dataset."""
    from tqdm import tqdm

    from harness.executor.cluster import open_client
    from harness.judge.pool import _interrupts_as_keyboard_interrupt

    started = time.perf_counter()
    prepare_out(sweep, out, force=force, variants=len(variants), scheduler=scheduler or "local",
                workers=None if scheduler else workers)
    done = store.done_variants(out)
    settings = Settings(sweep.name, tuple(sweep.candidates), sweep.profile, sweep.truth, reference_dir,
                        sweep.registry)
    _write_invalid(out, sweep, settings, [v for v in variants if not v.valid and v.id not in done])
    todo = [v for v in variants if v.valid and v.id not in done]
    retried: list = []
    if todo:
        with _interrupts_as_keyboard_interrupt(), open_client(scheduler, workers) as client, \
                tqdm(total=len(todo), desc=f"sweep {sweep.name}", unit="variant", disable=None, leave=False) as bar:
            lost = _run_round(client, sweep, settings, plan_tasks(todo, sweep.batch_size), out, bar)
            alone = [[v] for task in lost for v in task]
            retried = [task[0].id for task in alone]
            _run_round(client, sweep, settings, alone, out, bar)  # a lost single variant gets error rows
    ids = {v.id for v in variants}
    finish_manifest(out, seconds=round(time.perf_counter() - started, 1))
    return SweepOutcome(Path(out), len(variants), len(todo), len(ids & done), verdict_counts(out, ids),
                        time.perf_counter() - started, scheduler or workers, retried)


def _run_round(client, sweep, settings: Settings, tasks: list[list], out: Path, bar) -> list[list]:
    """Run ``tasks``; write each finished one's rows. Returns the lost tasks of more than one variant (a lost
    single variant gets its error rows here)."""
    from harness.executor.cluster import stream

    keys = [task_key(sweep, task) for task in tasks]
    items = [([item_of(v) for v in task], settings, key) for task, key in zip(tasks, keys)]
    lost = []
    for index, kind, value in stream(client, run_task, items, timeout=sweep.timeout, keys=keys):
        task = tasks[index]
        if kind == "ok":
            rows = value
        elif kind == "lost" and len(task) > 1:
            lost.append(task)
            continue
        else:
            why = (f"the variant's task was lost: {value}" if kind == "lost" else
                   f"the sweep's task raised {type(value).__name__}: {value} (a bug of the harness: please report it)")
            rows = [row for v in task for row in error_rows(v, settings, why, keys[index])]
        store.write_part(out, task[0].base, keys[index], rows)
        bar.update(len(task))
    return lost


def error_rows(variant, settings: Settings, why: str, task: str, verdict: str = "error") -> list[dict]:
    """One row per pair of a variant that has no numbers."""
    from harness.sweep.tasks import NEST

    item_yaml = _yaml_or_none(variant)
    return [{"sweep": settings.sweep, "variant_id": variant.id, "base": variant.base, "variant": variant.label,
             "changes": json.dumps(dict(variant.changes)), "pair": f"{NEST}-vs-{candidate}", "reference": NEST,
             "candidate": candidate, "profile": settings.profile, "verdict": verdict, "error": why, "task": task,
             "scenario": item_yaml} for candidate in settings.candidates]


def _yaml_or_none(variant):
    from harness.sweep.expand import variant_yaml

    try:
        return variant_yaml(variant)
    except Exception:  # noqa: BLE001  (an invalid variant's document may not be a scenario at all)
        return None


def _write_invalid(out: Path, sweep, settings: Settings, invalid: list) -> None:
    by_base = defaultdict(list)
    for v in invalid:
        by_base[v.base].append(v)
    for base, members in by_base.items():
        key = "invalid-" + task_key(sweep, members)
        rows = []
        for v in members:
            why = "; ".join(f"{path}: {message}" if path else message for path, message in v.problems)
            rows.extend(error_rows(v, settings, why, key, verdict="invalid"))
        store.write_part(out, base, key, rows)


def verdict_counts(out: Path, ids: set) -> dict:
    """verdict -> variants of ``ids`` in the dataset (a variant's verdict is its worst pair's)."""
    table = store.read_table(out).select(["variant_id", "verdict"]).to_pylist()
    verdicts: dict = {}
    for row in table:
        if row["variant_id"] in ids:
            verdicts[row["variant_id"]] = store.worst(verdicts.get(row["variant_id"], "pass"), row["verdict"])
    return {v: sum(w == v for w in verdicts.values()) for v in store.VERDICTS}
