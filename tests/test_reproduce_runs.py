"""``hrnet reproduce`` runs that train, through the same command a user types: a short segmentation smoke run whose
loss falls; two processes on gloo (torchrun on a machine without GPUs) that end with equal weights; a run
interrupted by Ctrl-C and resumed by re-running the command, equal to an uninterrupted one; Slurm through a fake
``srun``; the results table of a work dir with done, training, failed and missing rows; the run's checkpoints read
only through the scoped safe loading; and mmseg's own ``tools/train.py --resume`` continuing a run of the smoke
config, equal to the uninterrupted one (the safe loader itself: test_mm_safe_loading.py).

Resume equality is tested on the iteration-based segmentation smoke run: mmengine does not restore the random
state of the data augmentation at an epoch boundary, so an epoch-based run (pose, detection) resumes correctly but
draws other augmentations than an uninterrupted one would.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import NEEDS_OPENMMLAB

pytest.importorskip("mmseg", reason=NEEDS_OPENMMLAB)
pytestmark = pytest.mark.slow  # every test here runs `hrnet reproduce` through the Runner, in processes of its own

from mmengine.config import Config  # noqa: E402
from mmengine.logging import HistoryBuffer  # noqa: E402

import hrnet.mm  # noqa: E402, F401  (hrnet.SafeLoadHook of the configs)
from hrnet.mm.compat import mmengine_checkpoints  # noqa: E402
from hrnet.reproduce.run import SMOKE_CONFIGS  # noqa: E402
from hrnet.reproduce.smoke import SEG_BATCH  # noqa: E402
from hrnet.reproduce.workdir import RowRecord, final_metrics  # noqa: E402

ITERS = 24  # long enough that an interrupt sent at the first checkpoint arrives well before the end
CHECKPOINT_EVERY = 4
SHORT = [
    f"train_cfg.max_iters={ITERS}",
    f"train_cfg.val_interval={ITERS * 10}",
    f"default_hooks.checkpoint.interval={CHECKPOINT_EVERY}",
    "default_hooks.logger.interval=1",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reproduce(*argv: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """``hrnet reproduce ...`` as a user runs it, in its own process."""
    command = [sys.executable, "-m", "hrnet.cli", "reproduce", *argv]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen(
        command, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    )


def finish(process: subprocess.Popen, timeout: float = 600) -> str:
    out, _ = process.communicate(timeout=timeout)
    assert process.returncode in (0, 1), out  # 1: ran, but a short smoke run stays below its threshold
    return out


def smoke_seg(work_dir: Path, *extra: str, env: dict | None = None) -> str:
    args = ["smoke", "--task", "seg", "--work-dir", str(work_dir), *extra, "--cfg-options", *SHORT]
    return finish(reproduce(*args, env=env))


def losses(row_dir: Path) -> dict[int, float]:
    """Training loss per iteration, from the scalars mmengine logs for every run (resumed runs add a folder)."""
    found: dict[int, float] = {}
    for scalars in sorted(row_dir.glob("*/vis_data/scalars.json")):
        for line in scalars.read_text().splitlines():
            entry = json.loads(line)
            if "loss" in entry:
                found[entry["step"]] = entry["loss"]
    return found


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    work_dir = tmp_path_factory.mktemp("smoke") / "w"
    smoke_seg(work_dir)
    return work_dir


def test_a_short_smoke_run_learns_and_is_tabulated(uninterrupted) -> None:
    row = uninterrupted / "seg"
    loss = losses(row)
    assert sorted(loss) == list(range(1, ITERS + 1))
    first, last = sum(loss[i] for i in (1, 2, 3)) / 3, sum(loss[i] for i in (ITERS - 2, ITERS - 1, ITERS)) / 3
    assert last < 0.8 * first, loss
    trained = final_metrics(row)["mIoU"]
    untrained = final_metrics(uninterrupted / "untrained" / "seg")["mIoU"]
    assert trained > untrained
    table = (uninterrupted / "results.md").read_text()
    assert f"| seg | mIoU | {untrained:.2f} | {trained:.2f} | ≥ 80 |" in table
    assert (uninterrupted / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_finished_row_is_skipped_when_the_command_runs_again(uninterrupted) -> None:
    before = sorted(p.name for p in (uninterrupted / "seg").iterdir())
    out = smoke_seg(uninterrupted)
    assert "[1/1] smoke seg: done, skipped" in out
    assert sorted(p.name for p in (uninterrupted / "seg").iterdir()) == before


def test_an_interrupted_run_resumes_and_equals_the_uninterrupted_one(uninterrupted, tmp_path) -> None:
    work_dir = tmp_path / "w"
    args = ["smoke", "--task", "seg", "--work-dir", str(work_dir), "--cfg-options", *SHORT]
    process = reproduce(*args)
    # mmengine names a checkpoint in last_checkpoint once it is written whole: the .pth file appears earlier, and
    # an interrupt that lands while it is being written leaves nothing to resume from.
    pointer = work_dir / "seg" / "last_checkpoint"
    deadline = time.monotonic() + 600
    while not pointer.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
        time.sleep(0.2)
    assert re.search(r"iter_\d+\.pth$", pointer.read_text().strip())
    process.send_signal(signal.SIGINT)  # Ctrl-C: the command stops its worker and records the interruption
    out, _ = process.communicate(timeout=120)
    assert process.returncode != 0
    assert RowRecord.read(work_dir / "seg").status == "interrupted", out
    assert final_metrics(work_dir / "seg") is None
    interrupted_at = max(losses(work_dir / "seg"))
    assert interrupted_at < ITERS

    out = finish(reproduce(*args))  # the same command again
    assert "Advance dataloader" in (work_dir / "seg" / "launch.log").read_text()  # mmengine resumed
    resumed, reference = losses(work_dir / "seg"), losses(uninterrupted / "seg")
    assert sorted(resumed) == sorted(reference) == list(range(1, ITERS + 1))
    worst = max(abs(resumed[i] - reference[i]) / abs(reference[i]) for i in reference)
    assert worst <= 1e-5, (resumed, reference)
    assert final_metrics(work_dir / "seg")["mIoU"] == pytest.approx(
        final_metrics(uninterrupted / "seg")["mIoU"], abs=1e-6
    )
    assert RowRecord.read(work_dir / "seg").launches == 2


def test_two_processes_on_gloo_train_in_lock_step(tmp_path) -> None:
    work_dir = tmp_path / "w"
    smoke_seg(work_dir, "--launcher", "pytorch", "--gpus", "2", "--port", str(free_port()))
    log = (work_dir / "seg" / "launch.log").read_text()
    done = dict(re.findall(r"rank (\d) of 2 done, parameter checksum (\S+)", log))
    assert sorted(done) == ["0", "1"], log[-3000:]
    assert done["0"] == done["1"]
    assert "SyncBatchNorm runs only on GPUs: converted to BatchNorm" in log
    config = Config.fromfile(work_dir / "configs" / "smoke_seg_2p.py")
    assert config.train_dataloader.batch_size * 2 == SEG_BATCH  # the same global batch as one process
    assert "terminate called" not in log
    assert final_metrics(work_dir / "seg") is not None
    for row_dir in (work_dir / "seg", work_dir / "untrained" / "seg"):  # written once, by the first process
        (results,) = [p for p in row_dir.glob("*/*.json") if p.stem == p.parent.name]
        assert set(json.loads(results.read_text())) >= {"mIoU", "aAcc"}


def test_slurm_through_a_fake_srun(tmp_path) -> None:
    """A fake ``srun`` records its arguments and environment, then runs the task as Slurm's first and only
    task would (SLURM_PROCID / SLURM_NTASKS / SLURM_NODELIST set)."""
    bin_dir, record = tmp_path / "bin", tmp_path / "srun.json"
    bin_dir.mkdir()
    fake = bin_dir / "srun"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"json.dump(dict(argv=sys.argv[1:], env=dict(os.environ)), open({str(record)!r}, 'w'))\n"
        "task = sys.argv[1 + [a.startswith('-') for a in sys.argv[1:]].index(False):]\n"
        "env = dict(os.environ, SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_LOCALID='0', SLURM_NODELIST='node1',\n"
        f"           MASTER_ADDR='127.0.0.1', MASTER_PORT='{free_port()}')\n"
        "os.execve(task[0], task, env)\n"
    )
    fake.chmod(0o755)
    work_dir = tmp_path / "w"
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    out = smoke_seg(work_dir, "--launcher", "slurm", "--partition", "cpu", "--gpus", "1", env=dict(PATH=path))
    called = json.loads(record.read_text())
    python = called["argv"].index(sys.executable)
    assert called["argv"][:python] == [
        "--partition=cpu", "--job-name=hrnet", "--gres=gpu:1", "--nodes=1", "--ntasks=1", "--ntasks-per-node=1",
        "--cpus-per-task=5", "--kill-on-bad-exit=1",
    ]  # fmt: skip
    assert called["argv"][python + 1 : python + 4] == ["-u", "-m", "hrnet.reproduce.worker"]
    assert called["argv"][-len(SHORT) - 3 :] == ["--launcher", "slurm", "--cfg-options", *SHORT]
    assert called["env"]["PYTHONUNBUFFERED"] == "1"
    assert "rank 0 of 1 done" in (work_dir / "seg" / "launch.log").read_text(), out
    assert final_metrics(work_dir / "seg") is not None


def test_collect_shows_done_training_failed_and_missing_rows(uninterrupted, tmp_path, capsys) -> None:
    """Table 3's rows in one work dir: one done (a finished segmentation run), one interrupted during training,
    one whose launch failed, none started for the fourth."""
    from hrnet.cli import main as hrnet_main

    work_dir = tmp_path / "t3"
    work_dir.mkdir()
    (work_dir / "reproduce.json").write_text(json.dumps(dict(table="3")))
    done, training, failed = (
        work_dir / "hrnetv2-w48_120k_cityscapes-512x1024",
        work_dir / "hrnetv2-w40_120k_cityscapes-512x1024",
        work_dir / "hrnetv2-w48-ocr_120k_cityscapes-512x1024",
    )
    shutil.copytree(uninterrupted / "seg", done)
    shutil.copytree(uninterrupted / "seg", training)
    for results in training.glob("*/*.json"):  # the test results: what a finished row has and a training one not
        if results.stem == results.parent.name:
            results.unlink()
    failed.mkdir()
    RowRecord("c.py", "f", status="failed", returncode=1).write(failed)

    assert hrnet_main(["reproduce", "collect", "--work-dir", str(work_dir)]) == 1  # not every row is done
    capsys.readouterr()
    with (work_dir / "results.csv").open() as file:
        rows = {row["row"]: row for row in csv.DictReader(file)}
    assert len(rows) == 3
    log_line = re.search(r"mIoU: (\d+\.\d+)", next(done.glob("*/*.log")).read_text().split("Epoch(test)")[-1])
    assert float(rows[done.name]["ours"]) == pytest.approx(float(log_line.group(1)), abs=0.01)
    assert float(rows[done.name]["difference"]) == pytest.approx(float(rows[done.name]["ours"]) - 81.1, abs=0.01)
    assert rows[done.name]["state"] == "done"
    assert rows[training.name]["state"] == "training" and rows[training.name]["ours"] == ""
    assert rows[training.name]["progress"].startswith(f"iter {ITERS}/{ITERS}, eta")
    assert rows[failed.name]["state"] == "failed"
    table = (work_dir / "results.md").read_text()
    assert "| Table 3 | HRNetV2-W48 + OCR, Cityscapes val (single scale, no flipping) |" in table
    assert "0 of 3" not in table and "1 of 3 numbers reproduced" in table
    assert (work_dir / "results.png").stat().st_size > 1000


def test_collect_shows_a_figures_row_without_a_printed_number(uninterrupted, tmp_path, capsys) -> None:
    """Fig. 10 plots its bars without numbers in the text: ours is shown, the paper's cell says so, no difference."""
    from hrnet.cli import main as hrnet_main

    work_dir = tmp_path / "fig10"
    work_dir.mkdir()
    (work_dir / "reproduce.json").write_text(json.dumps(dict(table="fig10")))
    shutil.copytree(uninterrupted / "seg", work_dir / "hrnetv2-w48_120k_cityscapes-512x1024")

    assert hrnet_main(["reproduce", "collect", "--work-dir", str(work_dir)]) == 1  # 11 of its 12 rows not started
    capsys.readouterr()
    with (work_dir / "results.csv").open() as file:
        rows = {row["row"]: row for row in csv.DictReader(file)}
    assert len(rows) == 12 and {row["exhibit"] for row in rows.values()} == {"Fig. 10"}
    done = rows["hrnetv2-w48_120k_cityscapes-512x1024"]
    assert done["state"] == "done" and float(done["ours"]) >= 0 and done["paper"] == "plotted"
    assert done["difference"] == ""
    table = (work_dir / "results.md").read_text()
    assert "| Fig. 10 | HRNetV2-W48 | Cityscapes val (single scale, no flipping) | mIoU | plotted |" in table


# ------------------------------------------------------------------------------------------ safe loading
def test_the_runs_own_checkpoints_load_only_through_the_scoped_loader(uninterrupted) -> None:
    path = uninterrupted / "seg" / f"iter_{ITERS}.pth"
    with pytest.raises(pickle.UnpicklingError):  # importing hrnet.mm widened nothing: torch's default refuses
        torch.load(path)  # weights_only=True by default
    with mmengine_checkpoints():  # what the Runner's own loads run in (hrnet.SafeLoadHook)
        checkpoint = torch.load(path)
    loss = checkpoint["message_hub"]["log_scalars"]["train/loss"]
    assert isinstance(loss, HistoryBuffer)
    # what the Runner logged at the last iteration: the loss averaged over the log processor's window of 10
    assert loss.mean(10) == pytest.approx(losses(uninterrupted / "seg")[ITERS], rel=1e-6)


# ------------------------------------------------------------------------------------------ the framework's own script
MMSEG_TRAIN = Path(importlib.util.find_spec("mmseg").origin).parent / ".mim" / "tools" / "train.py"
STOP_AT = 2 * CHECKPOINT_EVERY  # the first run ends here, at a checkpoint; the second resumes from it


def mmseg_train(config: Path, work_dir: Path, *argv: str, max_iters: int = ITERS) -> str:
    """mmseg's own ``tools/train.py`` (shipped in its wheel) on a config, with the smoke run's short schedule."""
    options = [o for o in SHORT if not o.startswith("train_cfg.max_iters=")] + [f"train_cfg.max_iters={max_iters}"]
    command = [sys.executable, str(MMSEG_TRAIN), str(config), "--work-dir", str(work_dir), *argv]
    done = subprocess.run(
        [*command, "--cfg-options", *options], env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-5000:]
    return done.stdout


def test_mmsegs_own_train_script_resumes_and_equals_the_uninterrupted_run(uninterrupted, tmp_path) -> None:
    """The smoke config ``hrnet reproduce`` wrote (the paper config, shrunk by ``hrnet.reproduce.smoke``) trained by
    ``mmseg/.mim/tools/train.py`` to a checkpoint, then continued by ``tools/train.py CONFIG --resume``: the Runner
    reads its own checkpoint under torch's safe loader, and the losses are those of the uninterrupted run."""
    config = uninterrupted / SMOKE_CONFIGS / "smoke_seg_1p.py"
    assert "hrnet.SafeLoadHook" in str(Config.fromfile(config).custom_hooks)
    work_dir = tmp_path / "mmseg"
    mmseg_train(config, work_dir, max_iters=STOP_AT)
    assert (work_dir / "last_checkpoint").read_text().strip().endswith(f"iter_{STOP_AT}.pth")
    with pytest.raises(pickle.UnpicklingError):  # what it saved is more than torch's default allows
        torch.load(work_dir / f"iter_{STOP_AT}.pth")

    out = mmseg_train(config, work_dir, "--resume")
    assert f"Auto resumed from the latest checkpoint {work_dir / f'iter_{STOP_AT}.pth'}" in out
    assert "Advance dataloader" in out
    resumed, reference = losses(work_dir), losses(uninterrupted / "seg")
    assert sorted(resumed) == sorted(reference) == list(range(1, ITERS + 1))
    worst = max(abs(resumed[i] - reference[i]) / abs(reference[i]) for i in reference)
    assert worst <= 1e-5, (resumed, reference)
