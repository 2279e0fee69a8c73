"""Run rows one after another, each through its launcher, with progress; resume what is unfinished."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from .launch import Launch, command
from .rows import ReproduceError, Row
from .workdir import (
    LAUNCH_LOG,
    RowRecord,
    describe_progress,
    final_metrics,
    fingerprint,
    is_finished,
    row_state,
    training_progress,
)

POLL_SECONDS = 2.0
REPORT_SECONDS = 15.0
SMOKE_CONFIGS = "configs"  # the shrunk configs of the smoke rows: DIR/configs/smoke_<task>_<processes>p.py


def shell_line(argv: list[str], env: dict[str, str]) -> str:
    assignments = [f"{key}={shlex.quote(value)}" for key, value in env.items()]
    return " ".join([*assignments, *map(shlex.quote, argv)])


def check_record(row_dir: Path, config: Path, cfg_options: list[str]) -> RowRecord | None:
    """A row dir's record, refusing to continue a row that was trained with another config or options."""
    record = RowRecord.read(row_dir)
    if record is not None and record.fingerprint != fingerprint(config, cfg_options):
        raise ReproduceError(
            f"{row_dir} was trained from {record.config} with --cfg-options {record.cfg_options or 'none'}; "
            f"it is not continued with other settings and nothing in it is overwritten: use another --work-dir"
        )
    return record


def launch_row(
    label: str, config: Path, row_dir: Path, launch: Launch, cfg_options: list[str], test_only: bool = False,
    say: Callable[[str], None] = print,
) -> bool:  # fmt: skip
    """Run one row's command to its end, its output in ``row_dir/launch.log``; report progress. True if it
    succeeded."""
    argv, extra_env = command(launch, config, row_dir, cfg_options, test_only)
    record = check_record(row_dir, config, cfg_options) or RowRecord(str(config), fingerprint(config, cfg_options))
    record.cfg_options, record.command = list(cfg_options), argv
    record.status, record.returncode, record.launches = "running", None, record.launches + 1
    record.write(row_dir)
    say(f"{label}: {shell_line(argv, extra_env)}")
    started = last_report = time.monotonic()
    last_progress = ""
    with (row_dir / LAUNCH_LOG).open("a") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **extra_env})
        try:
            while process.poll() is None:
                time.sleep(POLL_SECONDS)
                progress = describe_progress(training_progress(row_dir))
                if progress and progress != last_progress and time.monotonic() - last_report >= REPORT_SECONDS:
                    say(f"{label}: {progress}")
                    last_progress, last_report = progress, time.monotonic()
        except BaseException:
            process.terminate()
            process.wait()
            record.status, record.seconds = "interrupted", record.seconds + time.monotonic() - started
            record.write(row_dir)
            raise
    record.returncode, record.seconds = process.returncode, record.seconds + time.monotonic() - started
    succeeded = process.returncode == 0 and final_metrics(row_dir) is not None
    record.status = "finished" if succeeded else "failed"
    record.write(row_dir)
    if succeeded:
        say(f"{label}: finished in {time.monotonic() - started:.0f} s")
        return True
    why = f"exit {process.returncode}" if process.returncode else "exit 0 without test metrics"
    tail = (row_dir / LAUNCH_LOG).read_text(errors="replace").splitlines()[-25:]
    say(f"{label}: failed ({why}); the end of {row_dir / LAUNCH_LOG}:")
    say("\n".join("    " + line for line in tail))
    return False


def run_rows(
    rows: list[Row], work_dir: Path, launch: Launch, cfg_options: list[str], dry_run: bool,
    say: Callable[[str], None] = print,
) -> bool:  # fmt: skip
    """Train then test each row not yet done; True if every row is done (or, dry, nothing was wrong)."""
    for row in rows:  # refuse before anything runs
        check_record(work_dir / row.name, row.config, cfg_options)
    if not dry_run:
        launch.check_installed()
    ok = True
    for number, row in enumerate(rows, 1):
        label = f"[{number}/{len(rows)}] {row.exhibit} {row.name}"
        row_dir = work_dir / row.name
        if is_finished(row_state(row_dir)):
            say(f"{label}: {row_state(row_dir)}, skipped")
            continue
        if dry_run:
            argv, env = command(launch, row.config, row_dir, cfg_options)
            say(shell_line(argv, env))
            continue
        ok = launch_row(label, row.config, row_dir, launch, cfg_options, say=say) and ok
    return ok


def run_smoke(
    tasks: list, work_dir: Path, launch: Launch, cfg_options: list[str], dry_run: bool,
    say: Callable[[str], None] = print,
) -> bool:  # fmt: skip
    """For each smoke task: write its data and shrunk config, test the untrained model, then train and test
    it, through the same launcher and worker as a paper row."""
    from .rows import configs_dir

    if not dry_run:
        launch.check_installed()
    ok = True
    for number, task in enumerate(tasks, 1):
        label = f"[{number}/{len(tasks)}] smoke {task.name}"
        row_dir, untrained_dir = work_dir / task.name, work_dir / "untrained" / task.name
        # Not inside the row's work dir: the Runner writes its own copy of the config there, under the same name.
        # One config per process count: each splits the same global batch (a row is never continued with another).
        processes = launch.gpus * launch.nodes
        config = work_dir / SMOKE_CONFIGS / f"smoke_{task.name}_{processes}p.py"
        if dry_run:
            say(f"# {config}: {task.paper_config} shrunk, data in {work_dir / 'data' / task.name}")
            for directory, test_only in ((untrained_dir, True), (row_dir, False)):
                say(shell_line(*command(launch, config, directory, cfg_options, test_only)))
            continue
        if not config.is_file():
            try:
                cfg = task.build(configs_dir(), work_dir / "data", processes)
            except ValueError as error:
                raise ReproduceError(f"smoke {task.name}: {error}") from error
            config.parent.mkdir(parents=True, exist_ok=True)
            cfg.dump(str(config))
        if final_metrics(untrained_dir) is None:
            ok = launch_row(f"{label} (untrained)", config, untrained_dir, launch, cfg_options, True, say) and ok
        if row_state(row_dir) == "done":
            say(f"{label}: done, skipped")
            continue
        ok = launch_row(label, config, row_dir, launch, cfg_options, say=say) and ok
    return ok
