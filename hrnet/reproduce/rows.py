"""The paper's rows that can be reproduced: one per config under ``configs/<task>/``, ``configs/<task>/ablation/``
(the §7 studies) and ``configs/<task>/test-set/`` (the test-set tables, whose numbers only the benchmark's
evaluation server computes: these rows write its submission files), read from the config's first line, so a new
config is a new row::

    # Paper Table N, <row>: <data set> <metric> <value>[, <metric> <value>]
    # Paper Fig. N (a), <row>: <data set> <metric> plotted        (a bar of a figure: no number in the text)
    # Paper §7, <row>: <data set> <metric> <value>                 (a number stated in the section's text)

An exhibit (a table, a figure, a section's text) is named on the command line as ``1`` / ``table1``, ``fig10`` /
``Fig. 10``, ``sec7`` / ``§7``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .. import resources

# Where a metric printed in the paper lives in the framework's test results, and the factor from the framework's
# units to the paper's (COCO metrics are fractions in mmpose / mmdet, percentages in the paper).
METRIC_KEYS = {
    ("pose", "AP"): ("coco/AP", 100.0),
    ("seg", "mIoU"): ("mIoU", 1.0),
    ("det", "box AP"): ("coco/bbox_mAP", 100.0),
    ("det", "mask AP"): ("coco/segm_mAP", 100.0),
}
FRAMEWORKS = {"pose": "mmpose", "seg": "mmseg", "det": "mmdet"}
HEADER = re.compile(
    r"^# Paper (?P<kind>Table |Fig\. |§)(?P<number>\d+)(?: \([a-z]\))?, (?P<title>.+?): (?P<result>.+)$"
)
PRINTED = re.compile(r"(?P<metric>mask AP|box AP|AP|mIoU) (?P<value>\d+(?:\.\d+)?|plotted)")
EXHIBIT_KINDS = {"Table ": "", "Fig. ": "fig", "§": "sec"}  # as the header spells it → prefix of the exhibit's key
SERVER_FOLDER = "test-set"  # rows scored by the benchmark's evaluation server, from the submission files they write
ROW_FOLDERS = ("", "ablation", SERVER_FOLDER)  # under configs/<task>/: the val tables, §7, the test-set tables
PLOTTED = "plotted"  # a figure's bar: the paper gives no number in its text


class ReproduceError(ValueError):
    """Bad input to ``hrnet reproduce``: the message names what was expected."""


@dataclass(frozen=True)
class PaperMetric:
    """One number the paper prints for a row, and where the framework reports ours."""

    name: str  # as the paper calls it: 'AP', 'mIoU', 'box AP', 'mask AP'
    paper: float | None  # the printed value, in the paper's units; None for a figure's bar
    printed: str  # as printed, e.g. '54.0', or 'plotted'
    key: str  # the framework's metric key, e.g. 'coco/AP'
    scale: float  # framework value × scale = the paper's units


@dataclass(frozen=True)
class Row:
    """One row of one of the paper's tables, reproduced by training and testing one config."""

    table: str  # the exhibit's key: '1', '12' (Table N), 'fig10' (Fig. N), 'sec7' (§N's text)
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
    def config_in_folder(self) -> str:
        """The config's path under the configs folder: 'pose/<file>' or 'pose/ablation/<file>'."""
        depth = 3 if in_sub_folder(self.config) else 2
        return "/".join(self.config.parts[-depth:])

    @property
    def needs_server(self) -> bool:
        """A test-set row: the split's labels are withheld, so its test writes the files the benchmark's evaluation
        server scores (COCO test-dev, Cityscapes test) and the paper's number is compared there, not here."""
        return self.config.parent.name == SERVER_FOLDER

    @property
    def exhibit(self) -> str:
        """The exhibit as the paper names it: 'Table 12', 'Fig. 10', '§7'."""
        return exhibit_title(self.table)

    @property
    def setting(self) -> str:
        """The paper's data set and test protocol, without its numbers: 'COCO test-dev (…)'."""
        words = PRINTED.sub("", self.result).replace(" ,", ",").replace(" :", ":")
        return " ".join(words.split()).strip(" ,:")


@dataclass(frozen=True)
class UnbuiltRow:
    """A row of the paper that no config here builds: listed with the reason, never run."""

    table: str
    name: str
    metric: str
    printed: str
    reason: str


CENTERNET = "not built: the paper's keypoint-triplet CenterNet is not in mmdet (docs/reproduction.md: CenterNet)"
UNBUILT_ROWS = (
    UnbuiltRow("9", "centernet_hrnetv2p-w48_coco-511x511", "box AP", "43.4", CENTERNET),
    UnbuiltRow("9", "centernet_hrnetv2p-w64_coco-511x511", "box AP", "44.0", CENTERNET),
    UnbuiltRow("11", "centernet_hrnetv2-w48_coco-test-dev-511x511", "box AP", "43.5", CENTERNET),
)


def configs_dir() -> Path:
    """The paper configs (:func:`hrnet.resources.configs_dir`), a missing folder reported as a ReproduceError."""
    try:
        return resources.configs_dir()
    except FileNotFoundError as error:
        raise ReproduceError(str(error)) from None


def in_sub_folder(config: Path) -> bool:
    """Whether a row's config lies in one of its task's sub-folders (``ablation/``, ``test-set/``)."""
    return config.parent.name in ROW_FOLDERS[1:]


def exhibit_key(kind: str, number: str) -> str:
    return EXHIBIT_KINDS[kind] + str(int(number))


def exhibit_title(key: str) -> str:
    for kind, prefix in sorted(EXHIBIT_KINDS.items(), key=lambda item: -len(item[1])):
        if key.startswith(prefix):
            return kind + key[len(prefix) :]
    raise ReproduceError(f"not an exhibit key: {key!r}")


def exhibit_order(key: str) -> tuple[int, int]:
    """Tables, then figures, then sections' text, each by number."""
    prefix = key.rstrip("0123456789")
    return list(EXHIBIT_KINDS.values()).index(prefix), int(key[len(prefix) :])


def parse_exhibit(text: str) -> str:
    """The key of what a user typed: '12', 'table12', 'Table 12', 'fig10', 'Fig. 10', 'sec7', '§7'."""
    words = re.sub(r"[\s.]", "", text.lower())
    match = re.fullmatch(r"(table|fig|figure|sec|section|§)?(\d+)", words)
    if match is None:
        raise ReproduceError(f"expected a table (e.g. 1 or table1), a figure (fig10) or a section (sec7), got {text!r}")
    prefix = {"fig": "fig", "figure": "fig", "sec": "sec", "section": "sec", "§": "sec"}.get(match[1] or "", "")
    return prefix + str(int(match[2]))


def read_row(config: Path) -> Row:
    """The row a config reproduces, from its first line."""
    task = config.parent.parent.name if in_sub_folder(config) else config.parent.name
    if task not in FRAMEWORKS:
        raise ReproduceError(f"{config}: expected a config under one of {sorted(FRAMEWORKS)}/")
    with config.open(encoding="utf-8") as file:
        first = file.readline().strip()
    header = HEADER.match(first)
    if header is None:
        raise ReproduceError(
            f"{config}: first line must read '# Paper Table N, <row>: <metric> <value>' (or 'Fig. N', '§N'; the "
            f"value 'plotted' for a figure's bar), got {first!r}"
        )
    metrics = []
    for printed in PRINTED.finditer(header["result"]):
        if (task, printed["metric"]) not in METRIC_KEYS:
            raise ReproduceError(f"{config}: no {FRAMEWORKS[task]} metric for the paper's {printed['metric']!r}")
        key, scale = METRIC_KEYS[task, printed["metric"]]
        value = None if printed["value"] == PLOTTED else float(printed["value"])
        metrics.append(PaperMetric(printed["metric"], value, printed["value"], key, scale))
    if not metrics:
        raise ReproduceError(f"{config}: its first line names no metric and value: {first!r}")
    prefix = FRAMEWORKS[task] + "_"
    name = config.stem[len(prefix) :] if config.stem.startswith(prefix) else config.stem
    table = exhibit_key(header["kind"], header["number"])
    return Row(table, name, header["title"], header["result"].rstrip("."), task, config, tuple(metrics))


def all_rows(folder: Path | None = None) -> list[Row]:
    """Every reproducible row, ordered by exhibit, then as the configs sort."""
    folder = folder or configs_dir()
    paths = [path for task in FRAMEWORKS for sub in ROW_FOLDERS for path in sorted((folder / task / sub).glob("*.py"))]
    rows = [read_row(path) for path in paths]
    return sorted(rows, key=lambda row: (exhibit_order(row.table), row.task, row.name))


def table_numbers(rows: list[Row]) -> list[str]:
    return sorted({row.table for row in rows}, key=exhibit_order)


def select_rows(table: str, names: list[str], folder: Path | None = None) -> list[Row]:
    """The rows of ``table`` ('1', 'table1', 'fig10', 'sec7'), all of them or the ones named, in the table's order."""
    rows = all_rows(folder)
    number = parse_exhibit(table)
    in_table = [row for row in rows if row.table == number]
    if not in_table:
        raise ReproduceError(f"no reproducible rows for {table!r}; expected one of {table_numbers(rows)}")
    if not names:
        return in_table
    known = {row.name: row for row in in_table}
    for unbuilt in UNBUILT_ROWS:
        if unbuilt.table == number and unbuilt.name in names:
            raise ReproduceError(f"{exhibit_title(number)} row {unbuilt.name!r} is {unbuilt.reason}")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ReproduceError(
            f"{exhibit_title(number)} has no row {', '.join(map(repr, unknown))}; its rows are: {', '.join(known)}"
        )
    return [row for row in in_table if row.name in names]
