"""The paper's rows that can be reproduced: one per config under ``configs/``, read from the config's first line
(``# Paper Table N, <row>: <data set> <metric> <value>[, <metric> <value>]``), so a new config is a new row."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# Where a metric printed in the paper lives in the framework's test results, and the factor from the framework's
# units to the paper's (COCO metrics are fractions in mmpose / mmdet, percentages in the paper).
METRIC_KEYS = {
    ("pose", "AP"): ("coco/AP", 100.0),
    ("seg", "mIoU"): ("mIoU", 1.0),
    ("det", "box AP"): ("coco/bbox_mAP", 100.0),
    ("det", "mask AP"): ("coco/segm_mAP", 100.0),
}
FRAMEWORKS = {"pose": "mmpose", "seg": "mmseg", "det": "mmdet"}
HEADER = re.compile(r"^# Paper Table (?P<table>\d+), (?P<title>.+?): (?P<result>.+)$")
PRINTED = re.compile(r"(?P<metric>mask AP|box AP|AP|mIoU) (?P<value>\d+(?:\.\d+)?)")


class ReproduceError(ValueError):
    """Bad input to ``hrnet reproduce``: the message names what was expected."""


@dataclass(frozen=True)
class PaperMetric:
    """One number the paper prints for a row, and where the framework reports ours."""

    name: str  # as the paper calls it: 'AP', 'mIoU', 'box AP', 'mask AP'
    paper: float  # the printed value, in the paper's units
    printed: str  # as printed, e.g. '54.0'
    key: str  # the framework's metric key, e.g. 'coco/AP'
    scale: float  # framework value × scale = the paper's units


@dataclass(frozen=True)
class Row:
    """One row of one of the paper's tables, reproduced by training and testing one config."""

    table: str  # '1', '3', ...
    name: str  # the config's file name without framework prefix and suffix: 'hrnetv1-w32_210e_coco-256x192'
    title: str  # the row as the config's first line describes it
    result: str  # the paper's result text: data set, split, test protocol and numbers
    task: str  # 'pose' | 'seg' | 'det'
    config: Path
    metrics: tuple[PaperMetric, ...]

    @property
    def framework(self) -> str:
        return FRAMEWORKS[self.task]

    @property
    def setting(self) -> str:
        """The paper's data set and test protocol, without its numbers: 'COCO test-dev (…)'."""
        words = PRINTED.sub("", self.result).replace(" ,", ",").replace(" :", ":")
        return " ".join(words.split()).strip(" ,:")


def configs_dir() -> Path:
    """The paper configs: ``$HRNET_CONFIGS``, else the ``configs/`` folder beside the installed package."""
    folder = Path(os.environ.get("HRNET_CONFIGS") or Path(__file__).resolve().parents[2] / "configs")
    if not folder.is_dir():
        raise ReproduceError(
            f"no configs folder at {folder}: install hrnet from its source tree (pip install -e .) or point "
            "HRNET_CONFIGS at a folder holding pose/, seg/ and det/ configs"
        )
    return folder


def read_row(config: Path) -> Row:
    """The row a config reproduces, from its first line."""
    task = config.parent.name
    if task not in FRAMEWORKS:
        raise ReproduceError(f"{config}: expected a config under one of {sorted(FRAMEWORKS)}/")
    with config.open(encoding="utf-8") as file:
        first = file.readline().strip()
    header = HEADER.match(first)
    if header is None:
        raise ReproduceError(
            f"{config}: first line must read '# Paper Table N, <row>: <metric> <value>', got {first!r}"
        )
    metrics = []
    for printed in PRINTED.finditer(header["result"]):
        if (task, printed["metric"]) not in METRIC_KEYS:
            raise ReproduceError(f"{config}: no {FRAMEWORKS[task]} metric for the paper's {printed['metric']!r}")
        key, scale = METRIC_KEYS[task, printed["metric"]]
        metrics.append(PaperMetric(printed["metric"], float(printed["value"]), printed["value"], key, scale))
    if not metrics:
        raise ReproduceError(f"{config}: its first line names no metric and value: {first!r}")
    prefix = FRAMEWORKS[task] + "_"
    name = config.stem[len(prefix) :] if config.stem.startswith(prefix) else config.stem
    return Row(header["table"], name, header["title"], header["result"].rstrip("."), task, config, tuple(metrics))


def all_rows(folder: Path | None = None) -> list[Row]:
    """Every reproducible row, ordered by table, then as the configs sort."""
    folder = folder or configs_dir()
    rows = [read_row(path) for task in FRAMEWORKS for path in sorted((folder / task).glob("*.py"))]
    return sorted(rows, key=lambda row: (int(row.table), row.task, row.name))


def table_numbers(rows: list[Row]) -> list[str]:
    return sorted({row.table for row in rows}, key=int)


def select_rows(table: str, names: list[str], folder: Path | None = None) -> list[Row]:
    """The rows of ``table`` ('1' or 'table1'), all of them or the ones named, in the table's order."""
    rows = all_rows(folder)
    number = table.lower().removeprefix("table").strip()
    in_table = [row for row in rows if row.table == number]
    if not in_table:
        raise ReproduceError(f"no reproducible rows for table {table!r}; expected one of {table_numbers(rows)}")
    if not names:
        return in_table
    known = {row.name: row for row in in_table}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ReproduceError(
            f"table {number} has no row {', '.join(map(repr, unknown))}; its rows are: {', '.join(known)}"
        )
    return [row for row in in_table if row.name in names]
