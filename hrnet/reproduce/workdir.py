"""What a reproduction work dir holds and how to read it back.

    DIR/reproduce.json          which table the dir reproduces (a dir holds one table's runs)
    DIR/<row>/                  the Runner's work dir of one row: checkpoints, ``<timestamp>/<timestamp>.log``,
                                the test metrics mmengine writes to ``<timestamp>/<timestamp>.json``
    DIR/<row>/reproduce-row.json  how the row was launched and how its last launch ended
    DIR/<row>/launch.log        everything its processes printed
    DIR/<row>/submission/       a test-set row's files for the benchmark's evaluation server, written by its test

A row is *done* once the framework has written test metrics (a test-set row: *submission written*, once its test
has also left files in ``submission/``); *failed* when its last launch exited with an error; *training* while (or
after an interruption, until resumed) it holds logs or checkpoints; else *not started*.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .rows import ReproduceError

MANIFEST = "reproduce.json"
RECORD = "reproduce-row.json"
LAUNCH_LOG = "launch.log"
SUBMISSION = "submission"  # where the worker points a test-set row's evaluator (format_only) within the row's dir
DONE = "done"
SUBMITTED = "submission written"  # a finished test-set row: ours comes from the server, the state names the files
LOG_TAIL_BYTES = 256 * 1024  # where the last training line of a Runner log is found
TRAIN_LINE = re.compile(
    r"(?P<kind>Iter|Epoch)\(train\)\s*(?:\[\s*(?P<epoch>\d+)\])?\s*\[\s*(?P<iter>\d+)/(?P<total>\d+)\]"
    r".*?eta: (?P<eta>(?:\d+ days?, )?\d+:\d\d:\d\d)"
)


def claim(work_dir: Path, table: str, dry_run: bool = False) -> None:
    """Make ``work_dir`` the home of ``table``'s runs, or check that it already is."""
    manifest = work_dir / MANIFEST
    if manifest.is_file():
        held = json.loads(manifest.read_text()).get("table")
        if held != table:
            raise ReproduceError(
                f"{work_dir} holds the runs of table {held!r}, not {table!r}: give each table its own --work-dir"
            )
        return
    if work_dir.is_dir() and any(work_dir.iterdir()):
        raise ReproduceError(f"{work_dir} is not empty and holds no {MANIFEST}: choose a new or empty --work-dir")
    if not dry_run:
        work_dir.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps(dict(table=table, created=time.strftime("%Y-%m-%d %H:%M:%S")), indent=1))


def table_of(work_dir: Path) -> str:
    manifest = work_dir / MANIFEST
    if not manifest.is_file():
        raise ReproduceError(f"{work_dir} holds no {MANIFEST}: not a work dir of 'hrnet reproduce'")
    return json.loads(manifest.read_text())["table"]


def fingerprint(config: Path, cfg_options: list[str]) -> str:
    """What decides a row's training: its config text and the options given on top."""
    digest = hashlib.sha256(config.read_bytes())
    digest.update("\0".join(cfg_options).encode())
    return digest.hexdigest()[:16]


@dataclass
class RowRecord:
    """How a row was launched (kept across launches: a different config or option set is refused)."""

    config: str
    fingerprint: str
    cfg_options: list[str] = field(default_factory=list)
    status: str = "running"  # 'running' | 'finished' | 'failed' | 'interrupted'
    returncode: int | None = None
    launches: int = 0
    seconds: float = 0.0  # wall time over all launches
    command: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, row_dir: Path) -> RowRecord | None:
        path = row_dir / RECORD
        return cls(**json.loads(path.read_text())) if path.is_file() else None

    def write(self, row_dir: Path) -> None:
        row_dir.mkdir(parents=True, exist_ok=True)
        (row_dir / RECORD).write_text(json.dumps(asdict(self), indent=1))


def final_metrics(row_dir: Path) -> dict | None:
    """The newest test results the framework wrote for this row (``<timestamp>/<timestamp>.json``)."""
    for run in sorted((p for p in row_dir.glob("*/") if p.is_dir()), reverse=True):
        results = run / f"{run.name}.json"
        if results.is_file():
            try:  # the first object: mmengine's own hook writes this file from every rank of a distributed run
                return json.JSONDecoder().raw_decode(results.read_text())[0]
            except json.JSONDecodeError:
                continue
    return None


def latest_log(row_dir: Path) -> Path | None:
    logs = sorted(row_dir.glob("*/*.log"))
    return logs[-1] if logs else None


def training_progress(row_dir: Path) -> dict | None:
    """Where training stands from the Runner's own log: the last ``Iter(train)`` / ``Epoch(train)`` line."""
    log = latest_log(row_dir)
    if log is None:
        return None
    with log.open("rb") as file:  # the end only: a log of a days-long run is large, and is read every poll
        file.seek(max(0, file.seek(0, os.SEEK_END) - LOG_TAIL_BYTES))
        tail = file.read().decode(errors="replace")
    matches = [found for found in map(TRAIN_LINE.search, tail.splitlines()) if found]
    if not matches:
        return None
    last = matches[-1]
    progress = dict(iter=int(last["iter"]), total=int(last["total"]), eta=last["eta"])
    if last["epoch"]:
        progress["epoch"] = int(last["epoch"])
    return progress


def describe_progress(progress: dict | None) -> str:
    if progress is None:
        return ""
    epoch = f"epoch {progress['epoch']}, " if "epoch" in progress else ""
    return f"{epoch}iter {progress['iter']}/{progress['total']}, eta {progress['eta']}"


def submission_files(row_dir: Path) -> list[Path]:
    """What a test-set row's test wrote for the evaluation server (COCO results json, Cityscapes label-id pngs)."""
    folder = row_dir / SUBMISSION
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else []


def is_finished(state: str) -> bool:
    """Nothing left to run: tested (a val row), or its submission written (a test-set row)."""
    return state == DONE or state.startswith(SUBMITTED)


def row_state(row_dir: Path) -> str:
    if final_metrics(row_dir) is not None:
        return f"{SUBMITTED}: {row_dir / SUBMISSION}" if submission_files(row_dir) else DONE
    record = RowRecord.read(row_dir)
    if record is not None and record.status == "failed":
        return "failed"
    if record is not None or latest_log(row_dir) is not None:
        return "training"
    return "not started"
