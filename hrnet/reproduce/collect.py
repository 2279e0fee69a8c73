"""``hrnet reproduce collect``: the frameworks' own test metrics of every row of a work dir, beside the paper's
numbers, as ``results.md``, ``results.csv`` and ``results.png``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .rows import PLOTTED, Row
from .workdir import DONE, SUBMITTED, RowRecord, describe_progress, final_metrics, row_state, training_progress

COLUMNS = ("exhibit", "row", "framework", "metric", "paper", "ours", "difference", "state", "progress", "config")


@dataclass(frozen=True)
class Result:
    """One printed number of one row, and ours (in the paper's units) where the row is done."""

    row: Row
    metric: str
    paper: float | None  # None: a figure's bar, no number in the paper's text
    ours: float | None
    state: str
    progress: str

    @property
    def difference(self) -> float | None:
        return None if self.ours is None or self.paper is None else self.ours - self.paper


def results(rows: list[Row], work_dir: Path) -> list[Result]:
    found = []
    for row in rows:
        row_dir = work_dir / row.name
        state = row_state(row_dir)
        metrics = final_metrics(row_dir) or {}
        progress = describe_progress(training_progress(row_dir)) if state == "training" else ""
        for metric in row.metrics:
            value = metrics.get(metric.key)
            ours = None if value is None else float(value) * metric.scale
            found.append(Result(row, metric.name, metric.paper, ours, state, progress))
    return found


def pyplot():
    """matplotlib's pyplot, drawing to files only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return ""
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def _paper(result: Result) -> str:
    return PLOTTED if result.paper is None else f"{result.paper:.2f}"


def write_csv(found: list[Result], path: Path) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for r in found:
            writer.writerow(
                (r.row.exhibit, r.row.name, r.row.framework, r.metric, _paper(r), _number(r.ours),
                 _number(r.difference, signed=True), r.state, r.progress, r.row.config.name)
            )  # fmt: skip


def markdown(found: list[Result], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "Ours: the framework's own test metric of each row's final model; paper: the number printed in the paper. A "
        "test-set row's number is the evaluation server's: its state names the submission files it wrote.",
        "",
        "| exhibit | row | paper's setting | metric | paper | ours | difference | state |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in found:
        state = f"{r.state} ({r.progress})" if r.progress else r.state
        ours, difference = _number(r.ours) or "–", _number(r.difference, signed=True) or "–"
        lines.append(
            f"| {r.row.exhibit} | {r.row.title} | {r.row.setting} | {r.metric} | {_paper(r)} | {ours} "
            f"| {difference} | {state} |"
        )
    done = sum(r.state == DONE for r in found)
    lines += ["", f"{done} of {len(found)} numbers reproduced."]
    submitted = sum(r.state.startswith(SUBMITTED) for r in found)
    if submitted:  # test-set rows: their numbers come from the benchmark's evaluation server
        lines.append(f"{submitted} numbers await the evaluation server: submit the files their state names.")
    return "\n".join(lines) + "\n"


def chart(found: list[Result], path: Path, title: str) -> None:
    """Paper and ours side by side, one pair of bars per printed number."""
    plt = pyplot()
    labels = [f"{r.row.exhibit} {r.row.name}\n{r.metric}" for r in found]
    positions = range(len(found))
    fig, axis = plt.subplots(figsize=(max(6.0, 0.9 * len(found) + 2), 4.5))
    axis.bar([p - 0.2 for p in positions], [r.paper or 0.0 for r in found], 0.4, label="paper", color="#9aa5b1")
    axis.bar([p + 0.2 for p in positions], [r.ours or 0.0 for r in found], 0.4, label="ours (test)", color="#2f6db5")
    for p, r in zip(positions, found):
        if r.paper is None:
            axis.text(p - 0.2, 0.5, "in the figure", rotation=90, ha="center", va="bottom", fontsize=7)
        if r.ours is None:
            axis.text(p + 0.2, 0.5, r.state.split(":")[0], rotation=90, ha="center", va="bottom", fontsize=7)
    axis.set_xticks(list(positions), labels, rotation=60, ha="right", fontsize=7)
    axis.set_ylabel("metric (paper's units)")
    axis.set_title(title)
    axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def collect(rows: list[Row], work_dir: Path, title: str) -> list[Result]:
    """Write ``results.md``, ``results.csv`` and ``results.png`` into ``work_dir``."""
    found = results(rows, work_dir)
    (work_dir / "results.md").write_text(markdown(found, title))
    write_csv(found, work_dir / "results.csv")
    chart(found, work_dir / "results.png", title)
    return found


# ------------------------------------------------------------------------------------------ smoke runs
SMOKE_COLUMNS = ("task", "metric", "untrained", "trained", "threshold", "passed", "train_and_test_seconds", "state")


@dataclass(frozen=True)
class SmokeResult:
    """One smoke task: the framework's metric before and after training, against the task's threshold."""

    task: str
    metric: str
    threshold: float
    untrained: float | None
    trained: float | None
    seconds: float | None
    state: str

    @property
    def passed(self) -> bool:
        return self.trained is not None and self.trained >= self.threshold


def smoke_results(tasks: list, work_dir: Path) -> list[SmokeResult]:
    found = []
    for task in tasks:
        row_dir = work_dir / task.name
        untrained = (final_metrics(work_dir / "untrained" / task.name) or {}).get(task.metric)
        trained = (final_metrics(row_dir) or {}).get(task.metric)
        record = RowRecord.read(row_dir)
        state = row_state(row_dir)
        if state == "training":
            progress = describe_progress(training_progress(row_dir))
            state = f"training ({progress})" if progress else state
        seconds = record.seconds if record is not None and trained is not None else None
        found.append(SmokeResult(task.name, task.metric, task.threshold, untrained, trained, seconds, state))
    return found


def smoke_markdown(found: list[SmokeResult]) -> str:
    lines = [
        "# hrnet reproduce smoke",
        "",
        "The paper configs shrunk to W18-small on synthetic data; metrics from the frameworks' own evaluators.",
        "",
        "| task | metric | untrained | trained | threshold | passed | train + test |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in found:
        seconds = f"{r.seconds:.0f} s" if r.seconds is not None else r.state
        lines.append(
            f"| {r.task} | {r.metric} | {_number(r.untrained) or '–'} | {_number(r.trained) or '–'} "
            f"| ≥ {r.threshold:g} | {'yes' if r.passed else 'no'} | {seconds} |"
        )
    return "\n".join(lines) + "\n"


def collect_smoke(tasks: list, work_dir: Path) -> list[SmokeResult]:
    """Write the smoke table as ``results.md`` / ``results.csv`` / ``results.png`` into ``work_dir``."""
    found = smoke_results(tasks, work_dir)
    (work_dir / "results.md").write_text(smoke_markdown(found))
    with (work_dir / "results.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(SMOKE_COLUMNS)
        for r in found:
            writer.writerow(
                (r.task, r.metric, _number(r.untrained), _number(r.trained), r.threshold, r.passed,
                 "" if r.seconds is None else f"{r.seconds:.0f}", r.state)
            )  # fmt: skip
    plt = pyplot()
    fig, axes = plt.subplots(1, len(found), figsize=(3.2 * len(found), 3.6), squeeze=False)
    for axis, r in zip(axes[0], found):
        axis.bar(["untrained", "trained"], [r.untrained or 0.0, r.trained or 0.0], color=["#9aa5b1", "#2f6db5"])
        axis.axhline(r.threshold, color="#c0392b", linestyle="--", label="threshold")
        axis.set_title(f"{r.task}: {r.metric}")
        axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(work_dir / "results.png", dpi=120)
    plt.close(fig)
    return found
