"""``hrnet reproduce``: train and test the paper's rows with the frameworks' Runners, and tabulate the results.

    hrnet reproduce --list
    hrnet reproduce EXHIBIT [ROW ...] --work-dir DIR [--launcher none|pytorch|slurm] [--gpus N] [--nodes N]
                    [--partition P] [--cfg-options k=v ...] [--dry-run]
    hrnet reproduce collect --work-dir DIR
    hrnet reproduce smoke [--task pose|seg|det|all] --work-dir DIR [launcher options] [--dry-run]

EXHIBIT is a table (``1``), a figure (``fig10``) or the text of a section (``sec7``), as ``--list`` shows them.
Running the same command again resumes: done rows are skipped, an interrupted row continues from its last
checkpoint. Exit status: 0 when every row is done (smoke: every task reached its threshold), 1 otherwise,
2 for bad input.
"""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from pathlib import Path

from .launch import LAUNCHERS
from .rows import UNBUILT_ROWS, ReproduceError, Row, all_rows, exhibit_order, exhibit_title, select_rows

say = functools.partial(print, flush=True)
SMOKE_CHOICES = ("pose", "seg", "det", "all")
NEEDS_SERVER = "needs the server"  # --list: a test-set row, scored by the benchmark's evaluation server


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hrnet reproduce", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "target",
        nargs="*",
        help="EXHIBIT [ROW ...] (a table: 1, a figure: fig10, a section's text: sec7), 'collect', 'smoke'",
    )
    p.add_argument("--list", action="store_true", help="list every reproducible row and exit")
    p.add_argument("--work-dir", type=Path, help="one folder per table (or smoke); a subfolder per row")
    p.add_argument("--launcher", choices=LAUNCHERS, default="none")
    p.add_argument("--gpus", type=int, help="processes (GPUs) per node; default 1 (slurm: 8, as the frameworks)")
    p.add_argument("--nodes", type=int, help="number of nodes (default 1)")
    p.add_argument("--partition", help="Slurm partition (--launcher slurm)")
    p.add_argument("--cpus-per-task", type=int, help="Slurm CPUs per process (default 5)")
    p.add_argument("--port", type=int, help="torchrun master port (default $PORT or 29500)")
    p.add_argument("--task", choices=SMOKE_CHOICES, default="all", help="smoke: which task (default all)")
    p.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--dry-run", action="store_true", help="print the commands; run and change nothing")
    return p


def list_rows(rows: list[Row]) -> str:
    """One line per printed number; a test-set row ends with a note (after the config, so the columns before it
    split on whitespace as for every other row): its number comes from the benchmark's server, not from us."""
    header = ("exhibit", "row", "metric", "paper", "framework", "config", "note")
    lines = []
    for row in rows:
        note = NEEDS_SERVER if row.needs_server else ""
        for metric in row.metrics:
            lines.append((row.table, row.name, metric.name, metric.printed, row.framework, row.config_in_folder, note))
    for unbuilt in UNBUILT_ROWS:  # the paper's rows no config builds, with the reason, in their table's place
        lines.append((unbuilt.table, unbuilt.name, unbuilt.metric, unbuilt.printed, "mmdet", "-", unbuilt.reason))
    lines = [header, *sorted(lines, key=lambda line: exhibit_order(line[0]))]  # stable: configs' order kept
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


def make_launch(args: argparse.Namespace):
    from .launch import Launch

    gpus = args.gpus if args.gpus is not None else (8 if args.launcher == "slurm" else 1)
    return Launch.from_environment(
        launcher=args.launcher, gpus=gpus, nodes=args.nodes, partition=args.partition,
        cpus_per_task=args.cpus_per_task, port=args.port,
    )  # fmt: skip


def check_options(args: argparse.Namespace) -> None:
    for option in args.cfg_options:
        if "=" not in option:
            raise ReproduceError(f"--cfg-options takes KEY=VALUE pairs, got {option!r}")
    if args.task != "all" and args.target[:1] != ["smoke"]:
        raise ReproduceError("--task selects smoke tasks: use it with 'hrnet reproduce smoke'")
    if args.launcher != "slurm" and (args.partition or args.cpus_per_task):
        raise ReproduceError("--partition and --cpus-per-task are Slurm options: add --launcher slurm")


def smoke_tasks(choice: str) -> list:
    from .smoke import SMOKE_TASKS

    return list(SMOKE_TASKS.values()) if choice == "all" else [SMOKE_TASKS[choice]]


def collect_dir(work_dir: Path) -> bool:
    from .collect import collect, collect_smoke
    from .workdir import is_finished, table_of

    table = table_of(work_dir)
    if table == "smoke":
        found = collect_smoke(smoke_tasks("all"), work_dir)
        found = [r for r in found if r.trained is not None or r.state != "not started"]
        ok = all(r.passed for r in found)
    else:
        found = collect(select_rows(table, []), work_dir, f"hrnet reproduce: {exhibit_title(table)}")
        ok = all(is_finished(r.state) for r in found)  # a test-set row is done once its submission is written
    say((work_dir / "results.md").read_text())
    say(f"written: {work_dir / 'results.md'}, results.csv, results.png")
    return ok


def run(args: argparse.Namespace) -> int:
    if args.list:
        say(list_rows(all_rows()))
        return 0
    if not args.target:
        raise ReproduceError("expected a TABLE (see --list), 'collect' or 'smoke'")
    if args.work_dir is None:
        raise ReproduceError("--work-dir is required: the folder that holds (or will hold) the runs")
    check_options(args)
    command, *rest = args.target
    if command == "collect":
        if rest:
            raise ReproduceError(f"'collect' takes no rows, got {rest}")
        return 0 if collect_dir(args.work_dir) else 1

    from .run import run_rows, run_smoke
    from .workdir import claim

    launch = make_launch(args)
    if command == "smoke":
        if rest:
            raise ReproduceError(f"'smoke' takes --task, not rows; got {rest}")
        claim(args.work_dir, "smoke", args.dry_run)
        ok = run_smoke(smoke_tasks(args.task), args.work_dir, launch, args.cfg_options, args.dry_run, say)
    else:
        rows = select_rows(command, rest)
        claim(args.work_dir, rows[0].table, args.dry_run)
        ok = run_rows(rows, args.work_dir, launch, args.cfg_options, args.dry_run, say)
    if args.dry_run:
        return 0
    every_number = collect_dir(args.work_dir)  # the whole work dir's table, written and shown
    # A smoke run also fails below a threshold; a table run fails only on its own rows (others may be later).
    return 0 if ok and (every_number or command != "smoke") else 1


def main(argv: list[str] | None = None) -> int:
    # mmengine 0.10 imports pkg_resources (pinned setuptools < 81 keeps it); its deprecation notice is not ours.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    args = parser().parse_args(argv)
    try:
        return run(args)
    except ReproduceError as error:
        print(f"hrnet reproduce: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
