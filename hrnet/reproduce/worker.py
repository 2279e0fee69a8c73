"""One process of one row: train, then test, a config with its framework's Runner (what the frameworks'
``tools/train.py`` and ``tools/test.py`` do, in one process). ``hrnet reproduce`` starts it through ``python``,
``torchrun`` or ``srun``; mmengine's launchers do the rest.

    python -m hrnet.reproduce.worker CONFIG --work-dir DIR [--launcher none|pytorch|slurm] [--cfg-options k=v ...]

A work dir that already holds a checkpoint resumes from the latest one (mmengine's ``resume=True``): an
interrupted row continues where it stopped, and a finished training goes straight to testing. The Runner reads its
checkpoints through ``hrnet.SafeLoadHook`` (added where a config lacks it, as a smoke config written before the hook
existed does). A test-set row's evaluator (``format_only=True``) writes its submission files into
``DIR/submission/``, whatever path its config names. A config that sets ``test_time_aug = True`` (the paper tested
those rows at several scales with flipping) is tested as mmseg's ``tools/test.py --tta`` tests it: its
``tta_model`` around the trained model, its ``tta_pipeline`` as the test pipeline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .launch import LAUNCHERS

TEST_TIME_AUG = "test_time_aug"  # a config's request for its framework's test-time augmentation (the paper's test)


def latest_checkpoint(work_dir: Path) -> str | None:
    """The checkpoint mmengine's CheckpointHook recorded last (in ``last_checkpoint``), if it exists."""
    pointer = work_dir / "last_checkpoint"
    if not pointer.is_file():
        return None
    checkpoint = pointer.read_text().strip()
    return checkpoint if Path(checkpoint).is_file() else None


def submit_into(cfg, work_dir: str) -> None:
    """Point every ``format_only`` test evaluator (a test-set row's: it writes the server's submission instead of
    scoring) into ``work_dir/submission``: the config's own path is relative to wherever the command runs, so two
    rows run from one place would overwrite each other's files."""
    from .workdir import SUBMISSION

    folder = Path(work_dir).resolve() / SUBMISSION
    evaluators = cfg.get("test_evaluator") or []
    for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
        if not evaluator.get("format_only"):
            continue
        if "output_dir" in evaluator:  # mmseg's CityscapesMetric: one png per image, in this folder
            evaluator.output_dir = str(folder)
        else:  # mmpose's / mmdet's CocoMetric: '<prefix>.keypoints.json', '<prefix>.bbox.json', …
            evaluator.outfile_prefix = str(folder / Path(evaluator.get("outfile_prefix") or "results").name)


def with_test_time_aug(cfg) -> None:
    """The config's test, augmented as its framework's ``tools/test.py --tta`` does: the ``tta_model`` wraps the
    model and the ``tta_pipeline`` (scales × flips) replaces the test pipeline."""
    missing = [key for key in ("tta_model", "tta_pipeline") if not cfg.get(key)]
    if missing:
        raise ValueError(f"{TEST_TIME_AUG} = True needs {' and '.join(missing)} in the config")
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def load_config(config: str, cfg_options: dict | None):
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_runner(
    config: str, work_dir: str, launcher: str, cfg_options: dict | None, resume: bool, test_time_aug: bool = False
):
    """The row's Runner; with ``test_time_aug`` a test-only one of the augmented model, starting from the row's
    latest checkpoint when it has one (the model just trained)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from ..mm import compat

    cfg = load_config(config, cfg_options)
    if test_time_aug:
        with_test_time_aug(cfg)
        cfg.load_from = latest_checkpoint(Path(work_dir))
        resume = False
    cfg.work_dir = work_dir
    submit_into(cfg, work_dir)
    cfg.launcher = launcher
    cfg.resume = resume
    if resume:
        cfg.load_from = None  # the latest checkpoint of this work dir, found by mmengine
    if cfg.get("auto_scale_lr") is not None:
        cfg.auto_scale_lr.enable = True  # the paper's learning rate for its batch, whatever the GPU count
    compat.load_checkpoints_safely(cfg)  # the Runner reads its checkpoints under torch's safe loader, nothing more
    compat.prepare_distributed(cfg, launcher)
    return Runner.from_cfg(cfg) if "runner_type" not in cfg else RUNNERS.build(cfg)


def report(runner) -> None:
    """One line per process: its rank and a checksum of its weights (equal on every rank of a DDP run)."""
    import torch
    from mmengine.dist import get_dist_info

    rank, world_size = get_dist_info()
    with torch.no_grad():
        checksum = sum(float(p.double().sum()) for p in runner.model.parameters())
    print(f"hrnet.reproduce.worker: rank {rank} of {world_size} done, parameter checksum {checksum:.10e}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(prog="python -m hrnet.reproduce.worker", description=__doc__)
    parser.add_argument("config")
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--launcher", choices=LAUNCHERS, default="none")
    parser.add_argument("--test-only", action="store_true", help="test the model as built (no training, no resume)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config settings, key=value")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from ..mm import compat

    work_dir = Path(args.work_dir)
    resume = not args.test_only and latest_checkpoint(work_dir) is not None
    try:
        runner = build_runner(args.config, str(work_dir), args.launcher, args.cfg_options, resume)
        if not args.test_only:
            runner.train()
        if runner.cfg.get(TEST_TIME_AUG):
            runner = build_runner(args.config, str(work_dir), args.launcher, args.cfg_options, False, True)
        runner.test()
        report(runner)
    except BaseException:
        compat.teardown_distributed(wait=False)  # the launcher stops the other processes
        raise
    compat.teardown_distributed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
