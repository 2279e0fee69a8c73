"""Table 13 of the paper on this machine: training memory, inference memory per image, training seconds per
iteration and inference seconds per image of the table's nine networks, each built by its framework (mmpose,
mmseg, mmdet) from a config: HRNet from this repository's configs, the baselines from the frameworks' own.

    python benchmarks/bench_table13.py                # full: the paper's input sizes, small batches (~21 min)
    python benchmarks/bench_table13.py --quick        # one pair per task, tiny inputs, one repeat (~1 min)
    python benchmarks/bench_table13.py --threads 1    # another torch thread count (default 2)
    python benchmarks/bench_table13.py --device cuda  # one GPU: the paper's batch sizes, CUDA memory, synced times

How each network is measured:

- built by the framework's registry from the config, with the checkpoints it would download dropped (random
  weights: cost does not depend on them) and SyncBN made BN (one process);
- training step: the model's own ``train_step`` (data preprocessing, forward with the losses, backward, and an
  update by the config's optimizer wrapper, learning rate shrunk so repeated steps on noise stay finite) on random
  images with valid annotations, built by the framework's test helpers (pose, detection) or as its dataset packs
  them (segmentation);
- inference: the model's own ``test_step`` under ``torch.no_grad()``: preprocessing and ``mode='predict'``, i.e.
  the decoded result (pose: keypoints with the config's flip test; segmentation: the full-size label map;
  detection: boxes after NMS), with BatchNorm statistics first taken from the batch (random HRNets' activations
  explode with the default ones, and their detectors would then keep no proposal for the RoI head);
- memory: in a fresh process per (network, phase), forked from a server that has the frameworks imported. On CPU,
  the peak resident set (VmHWM, reset through ``/proc/self/clear_refs`` just before) during the first step minus
  the resident set just before it, free heap pages handed back first: what the step adds to the weights and the
  input batch (activations, gradients, optimizer state, transient buffers, allocator slack), with glibc's default
  malloc. On CUDA, ``torch.cuda.max_memory_allocated`` over the step minus the memory allocated before it.
  Inference memory per image is that divided by the batch;
- time: in the same process, the median wall time of the timed steps (``Setup.repeats`` of the task and phase)
  after ``Mode.warmup`` more (the memory step warms up too); inference seconds per image is that divided by the
  batch.

Why ratios: a 2-core CPU is not a V100, the batches are smaller, and the machine is shared, so the absolute
figures say little about the paper's; the ratio HRNet / baseline of networks measured back to back in the same
run is the comparable quantity. Each ratio is printed beside the paper's ratio from the same table.
Results go to ``benchmarks/results/table13_<mode>_<threads>t.md``, ``.csv`` and ``.png``.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import dataclasses
import gc
import importlib
import logging
import math
import multiprocessing
import os
import statistics
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch
from common import environment
from torch import nn

RESULTS = Path(__file__).resolve().parent / "results"
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
MIB = 2**20

POSE, SEG, DET = "pose", "segmentation", "detection"
SCOPES = {POSE: "mmpose", SEG: "mmseg", DET: "mmdet"}
TRAIN, INFER = "training", "inference"
QUANTITIES = ("training memory", "inference memory/image", "training s/iter", "inference s/image")
SHRUNK_LEARNING_RATE = 1e-6


@dataclasses.dataclass(frozen=True)
class Network:
    """One column of Table 13: its heading, task, config (``package::path`` or a path under configs/) and the
    paper's four figures in the order of ``QUANTITIES`` (memory in G, time in seconds, on V100s)."""

    name: str
    task: str
    config: str
    paper: Tuple[float, float, float, float]


NETWORKS = (
    Network(
        "SB-ResNet-152",
        POSE,
        "mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res152_8xb32-210e_coco-256x192.py",
        (14.8, 0.29, 1.085, 0.030),
    ),
    Network("HRNetV1-W48", POSE, "pose/mmpose_hrnetv1-w48_210e_coco-256x192.py", (7.3, 0.27, 1.231, 0.058)),
    Network("PSPNet", SEG, "mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py", (14.4, 1.60, 0.837, 0.397)),
    Network(
        "DeepLabV3",
        SEG,
        "mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py",
        (13.3, 1.15, 0.850, 0.411),
    ),
    Network("HRNetV2-W48", SEG, "seg/mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py", (13.9, 1.79, 0.692, 0.150)),
    Network("ResNet-101", DET, "mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py", (5.4, 0.62, 0.550, 0.087)),
    Network("ResNeXt-101", DET, "mmdet::faster_rcnn/faster-rcnn_x101-64x4d_fpn_1x_coco.py", (9.5, 0.77, 1.183, 0.144)),
    Network("HRNetV2p-W32", DET, "det/mmdet_faster-rcnn_hrnetv2p-w32_1x_coco-800x1333.py", (8.5, 0.51, 0.690, 0.101)),
    Network("HRNetV2p-W48", DET, "det/mmdet_faster-rcnn_hrnetv2p-w48_1x_coco-800x1333.py", (11.3, 0.79, 0.965, 0.116)),
)
BY_NAME = {network.name: network for network in NETWORKS}

# HRNet against its task's baselines; in detection each HRNetV2p against the baseline of about its size (Table 8).
PAIRS = (
    ("HRNetV1-W48", "SB-ResNet-152"),
    ("HRNetV2-W48", "PSPNet"),
    ("HRNetV2-W48", "DeepLabV3"),
    ("HRNetV2p-W32", "ResNet-101"),
    ("HRNetV2p-W48", "ResNeXt-101"),
)


@dataclasses.dataclass(frozen=True)
class Setup:
    """What one (task, phase) runs: the batch, the input (height, width) and how many steps are timed."""

    batch: int
    size: Tuple[int, int]
    repeats: int


@dataclasses.dataclass(frozen=True)
class Mode:
    """The setup of every (task, phase), the warm-up steps after the memory step, the networks measured by default."""

    name: str
    train: Dict[str, Setup]
    infer: Dict[str, Setup]
    warmup: int
    networks: Tuple[str, ...] = tuple(network.name for network in NETWORKS)

    def setup(self, task: str, phase: str) -> Setup:
        return (self.train if phase == TRAIN else self.infer)[task]


PAPER_TRAIN_SIZES = {POSE: (256, 192), SEG: (512, 1024), DET: (800, 1333)}
PAPER_INFERENCE_SIZES = {POSE: (256, 192), SEG: (1024, 2048), DET: (800, 1333)}
MODES = {
    "quick": Mode(
        "quick",
        train={POSE: Setup(2, (128, 96), 1), SEG: Setup(2, (64, 128), 1), DET: Setup(1, (128, 192), 1)},
        infer={POSE: Setup(1, (128, 96), 1), SEG: Setup(1, (64, 128), 1), DET: Setup(1, (128, 192), 1)},
        warmup=0,
        networks=("SB-ResNet-152", "HRNetV1-W48", "PSPNet", "HRNetV2-W48", "ResNet-101", "HRNetV2p-W32"),
    ),
    # The paper's sizes; segmentation trains with its per-card batch of 2 (PSPNet's pooled 1×1 map cannot be
    # batch-normalized over one image); repeats sized so the run takes under half an hour on 2 cores.
    "full": Mode(
        "full",
        train={
            POSE: Setup(8, PAPER_TRAIN_SIZES[POSE], 5),
            SEG: Setup(2, PAPER_TRAIN_SIZES[SEG], 1),
            DET: Setup(1, PAPER_TRAIN_SIZES[DET], 3),
        },
        infer={
            POSE: Setup(1, PAPER_INFERENCE_SIZES[POSE], 5),
            SEG: Setup(1, PAPER_INFERENCE_SIZES[SEG], 2),
            DET: Setup(1, PAPER_INFERENCE_SIZES[DET], 3),
        },
        warmup=0,
    ),
    # The paper's batches (128 / 8 / 8) on one card, where it trained on four.
    "cuda": Mode(
        "cuda",
        train={task: Setup(batch, PAPER_TRAIN_SIZES[task], 10) for task, batch in ((POSE, 128), (SEG, 8), (DET, 8))},
        infer={task: Setup(1, size, 20) for task, size in PAPER_INFERENCE_SIZES.items()},
        warmup=3,
    ),
}


# ---------------------------------------------------------------------------------------------- building
def for_one_process(node: object) -> None:
    """In place, through a model config: no checkpoint to download, BN where SyncBN needs a process group."""
    if isinstance(node, dict):
        if node.get("type") == "SyncBN":
            node["type"] = "BN"
        if isinstance(node.get("init_cfg"), dict) and node["init_cfg"].get("type") == "Pretrained":
            node["init_cfg"] = None
        if isinstance(node.get("pretrained"), str):
            node["pretrained"] = None
        for value in node.values():
            for_one_process(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            for_one_process(value)


def build(network: Network, phase: str, setup: Setup, device: str) -> Tuple[nn.Module, dict, object]:
    """The framework's model for ``network``, a batch for ``phase`` and, for training, its optimizer wrapper."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    from hrnet.mm.table7 import config_path  # importing hrnet.mm registers the hrnet scope our configs name

    cfg = Config.fromfile(config_path(network.config, str(CONFIGS)))
    for_one_process(cfg.model)
    height, width = setup.size
    if network.task == POSE:  # the codec's sizes follow the input (the heatmap is a quarter of it)
        cfg.model.head.decoder.update(input_size=(width, height), heatmap_size=(width // 4, height // 4))
    if network.task == SEG:  # the preprocessor pads training crops to this size
        cfg.model.data_preprocessor.size = (height, width)
    scope = SCOPES[network.task]
    registry = importlib.import_module(f"{scope}.registry").MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
        model.init_weights()
        model.to(device)
        optim_wrapper = None
        if phase == TRAIN:
            cfg.optim_wrapper.optimizer.lr = SHRUNK_LEARNING_RATE
            optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = make_batch(network.task, setup.batch, setup.size, cfg)
    if phase == INFER:
        calibrate_norm_statistics(model, batch)
    model.train(phase == TRAIN)
    return model, batch, optim_wrapper


def calibrate_norm_statistics(model: nn.Module, batch: dict) -> None:
    """Every BatchNorm's running statistics from the batch, in one pass through backbone and neck. With random
    weights and the default statistics (mean 0, variance 1) HRNet's features grow to 1e8-1e9 in eval mode,
    and the detectors' RPN then keeps no proposal: the RoI head's work would be skipped. (Training normalizes
    with the batch's statistics, or keeps the RPN's proposals with the frozen ones, and needs none of this.)"""
    for norm in model.modules():
        if isinstance(norm, nn.modules.batchnorm._BatchNorm):
            norm.reset_running_stats()
            norm.momentum = None  # a cumulative average: one pass sets the statistics
            norm.train()
    with torch.no_grad():
        model.extract_feat(model.data_preprocessor(batch, False)["inputs"])  # type: ignore[operator]
    model.eval()


def make_batch(task: str, batch: int, size: Tuple[int, int], cfg: object) -> dict:
    """Random uint8 images with annotations the task's losses and decoders accept, collated as a data loader would."""
    height, width = size
    if task == POSE:
        from mmpose.testing import get_packed_inputs

        return get_packed_inputs(
            batch,
            img_shape=(height, width),
            input_size=(width, height),
            heatmap_size=(width // 4, height // 4),
            with_reg_label=False,
            with_simcc_label=False,
        )
    if task == DET:
        from mmdet.testing import demo_mm_inputs

        return demo_mm_inputs(batch, image_shapes=(3, height, width), num_items=[4] * batch, num_classes=80)
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    generator = torch.Generator().manual_seed(0)
    classes = cfg.model.decode_head.num_classes  # type: ignore[attr-defined]
    images, samples = [], []
    for _ in range(batch):
        images.append(torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=generator))
        meta = dict(img_shape=(height, width), ori_shape=(height, width), pad_shape=(height, width))
        sample = SegDataSample(metainfo=dict(meta, padding_size=[0, 0, 0, 0], flip=False))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, classes, (1, height, width), generator=generator))
        samples.append(sample)
    return dict(inputs=images, data_samples=samples)


def step_function(model: nn.Module, batch: dict, optim_wrapper: object) -> Callable[[], object]:
    """One iteration as the framework's loops run it: ``train_step``, or ``test_step`` without autograd."""
    if optim_wrapper is not None:
        return lambda: model.train_step(batch, optim_wrapper)  # type: ignore[operator]

    def predict() -> object:
        with torch.no_grad():
            return model.test_step(batch)  # type: ignore[operator]

    return predict


# ---------------------------------------------------------------------------------------------- measuring
def proc_status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"expected {field} in /proc/self/status: the CPU memory probe needs Linux")


def reset_resident_peak() -> None:
    """Make VmHWM equal to the present resident set, so the next peak is the step's own."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError as error:
        raise RuntimeError(f"expected a writable /proc/self/clear_refs to reset the resident peak: {error}") from error


def release_free_memory() -> None:
    """Hand glibc's free heap pages back to the system (where its ``malloc_trim`` exists), so that the slack left
    by building the model does not absorb part of the next step's peak."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measured_step(step: Callable[[], object], device: str) -> int:
    """Run ``step`` once; the bytes its peak adds to what was in use before it (resident set, or CUDA memory)."""
    release_free_memory()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    reset_resident_peak()
    before = proc_status_bytes("VmRSS")
    step()
    return proc_status_bytes("VmHWM") - before


def timed_steps(step: Callable[[], object], device: str, count: int) -> List[float]:
    """Wall seconds of ``count`` steps (synchronized on CUDA)."""
    seconds = []
    for _ in range(count):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return seconds


def measure(name: str, phase: str, mode_name: str, device: str, threads: int, batch: Optional[int] = None) -> dict:
    """Everything about one (network, phase), run in a fresh process: memory on the first step, then times.
    ``batch`` replaces the mode's; a CUDA out-of-memory error comes back as ``out_of_memory`` for a retry."""
    from mmengine.logging import MMLogger

    warnings.filterwarnings("ignore")
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # init_weights would log every parameter
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    network, mode = BY_NAME[name], MODES[mode_name]
    setup = mode.setup(network.task, phase)
    if batch is not None:
        setup = dataclasses.replace(setup, batch=batch)
    try:
        model, inputs, optim_wrapper = build(network, phase, setup, device)
        step = step_function(model, inputs, optim_wrapper)
        memory = measured_step(step, device)
        timed_steps(step, device, mode.warmup)
        walls = timed_steps(step, device, setup.repeats)
    except torch.cuda.OutOfMemoryError:
        return dict(network=name, phase=phase, batch=setup.batch, out_of_memory=True)
    backbone = type(model.backbone)
    return dict(
        network=name,
        phase=phase,
        batch=setup.batch,
        size=setup.size,
        memory_bytes=memory,
        seconds=statistics.median(walls),
        walls=walls,
        load=os.getloadavg()[0],
        weights_bytes=sum(t.numel() * t.element_size() for t in model.state_dict().values()),
        model_class=f"{type(model).__module__}.{type(model).__qualname__}",
        backbone_class=f"{backbone.__module__}.{backbone.__qualname__}",
    )


def measure_all(mode: Mode, device: str, threads: int, names: List[str]) -> Dict[Tuple[str, str], dict]:
    """Each (network, phase) in its own process, pairs of a task back to back."""
    context = multiprocessing.get_context("forkserver")
    # Children fork from a server that imported these once (seconds each), so each is fresh but starts fast.
    context.set_forkserver_preload(
        ["torch", "hrnet.mm", "mmengine.config", "mmpose.models", "mmseg.models", "mmdet.models"]
    )
    results = {}
    for phase in (TRAIN, INFER):
        for name in names:
            batch = None  # the mode's, halved after each out-of-memory error (CUDA only)
            while True:
                with ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=1) as pool:
                    result = pool.submit(measure, name, phase, mode.name, device, threads, batch).result()
                if not result.get("out_of_memory"):
                    break
                if result["batch"] == 1:
                    raise RuntimeError(f"expected {name} {phase} to fit in {device} memory at batch 1")
                batch = result["batch"] // 2
            results[(name, phase)] = result
            print(
                f"{name:>14} {phase:>9}: batch {result['batch']} {result['size'][0]}×{result['size'][1]}, "
                f"{result['memory_bytes'] / MIB:8.0f} MiB, {result['seconds']:7.3f} s",
                flush=True,
            )
    return results


# ---------------------------------------------------------------------------------------------- figures
def figures(results: Dict[Tuple[str, str], dict], name: str) -> Tuple[float, float, float, float]:
    """The four quantities of ``name`` in the order of ``QUANTITIES``: MiB, MiB per image, s, s per image."""
    train, infer = results[(name, TRAIN)], results[(name, INFER)]
    return (
        train["memory_bytes"] / MIB,
        infer["memory_bytes"] / MIB / infer["batch"],
        train["seconds"],
        infer["seconds"] / infer["batch"],
    )


def ratio_rows(results: Dict[Tuple[str, str], dict]) -> List[Tuple[str, str, List[float], List[float]]]:
    """(HRNet, baseline, paper ratios, measured ratios) for every pair whose two networks were measured."""
    names = {name for name, _ in results}
    rows = []
    for ours, baseline in PAIRS:
        if ours in names and baseline in names:
            paper = [a / b for a, b in zip(BY_NAME[ours].paper, BY_NAME[baseline].paper)]
            measured = [a / b for a, b in zip(figures(results, ours), figures(results, baseline))]
            rows.append((ours, baseline, paper, measured))
    return rows


def markdown(results: Dict[Tuple[str, str], dict], mode: Mode, device: str, elapsed: float) -> List[str]:
    memory_kind = "CUDA memory allocated" if device == "cuda" else "CPU resident memory (RSS)"
    lines = [
        f"# Table 13 on {device.upper()}: memory and time of HRNet against the paper's baselines ({mode.name})",
        "",
        f"Environment: {environment()}",
        "",
        "Every network is built by its framework from a config (HRNet: this repository's; baselines: the "
        "framework's own) with random weights. Training: the model's `train_step` with the config's optimizer. "
        "Inference: the model's `test_step` (`mode='predict'`, decoded results) under `torch.no_grad()`, with "
        "BatchNorm statistics taken from the batch first. "
        f"Memory: {memory_kind}, the peak during the first step minus what was in use just before it (weights "
        "and input batch excluded), each (network, phase) in a fresh process. Time: median wall time of the timed "
        f"steps, after {mode.warmup + 1} warm-up step(s) (the memory step among them).",
        "",
        "| task | training: batch, input, timed steps | inference: batch, input, timed steps |",
        "|---|---|---|",
    ]
    for task in (POSE, SEG, DET):
        cells = [f"{s.batch}, {s.size[0]}×{s.size[1]}, {s.repeats}" for s in (mode.train[task], mode.infer[task])]
        lines.append(f"| {task} | {cells[0]} | {cells[1]} |")
    reduced = [
        f"{name} {phase} {result['batch']}"
        for (name, phase), result in results.items()
        if result["batch"] != mode.setup(BY_NAME[name].task, phase).batch
    ]
    if reduced:
        lines += ["", "Batches halved until they fit in memory: " + ", ".join(reduced) + "."]
    lines += [
        "",
        "### HRNet / baseline: the paper's ratio (V100) beside the one measured here",
        "",
        "| HRNet / baseline | " + " | ".join(f"{q}: paper | here" for q in QUANTITIES) + " |",
        "|---|" + "---|---|" * len(QUANTITIES),
    ]
    for ours, baseline, paper, measured in ratio_rows(results):
        cells = " | ".join(f"{p:.2f} | {m:.2f}" for p, m in zip(paper, measured))
        lines.append(f"| {ours} / {baseline} | {cells} |")
    lines += [
        "",
        "### Absolute figures here",
        "",
        "| network | task | training memory MiB | inference memory/image MiB | training s/iter | "
        "inference s/image | load after training / inference | weights MiB | backbone class |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for network in NETWORKS:
        if (network.name, TRAIN) in results:
            values = figures(results, network.name)
            train, infer = results[(network.name, TRAIN)], results[(network.name, INFER)]
            lines.append(
                f"| {network.name} | {network.task} | {values[0]:.0f} | {values[1]:.0f} | {values[2]:.3f} | "
                f"{values[3]:.3f} | {train['load']:.1f} / {infer['load']:.1f} | {train['weights_bytes'] / MIB:.0f} | "
                f"`{train['backbone_class']}` |"
            )
    lines += [
        "",
        f"Measured in {elapsed:.0f} s. Load: the 1-minute load average when each measurement ended; this benchmark "
        f"accounts for {torch.get_num_threads()} of it, more means other work shared the cores and slowed that "
        "network.",
    ]
    return lines


def write_csv(results: Dict[Tuple[str, str], dict], path: Path) -> None:
    """One row per ratio and per absolute figure, each with the paper's value beside it."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kind", "network", "baseline", "quantity", "measured", "measured_unit", "paper", "paper_unit"])
        for ours, baseline, paper, measured in ratio_rows(results):
            for quantity, p, m in zip(QUANTITIES, paper, measured):
                writer.writerow(["ratio", ours, baseline, quantity, f"{m:.4f}", "x", f"{p:.4f}", "x"])
        for network in NETWORKS:
            if (network.name, TRAIN) in results:
                for quantity, value, paper_value in zip(QUANTITIES, figures(results, network.name), network.paper):
                    unit, paper_unit = ("MiB", "G") if "memory" in quantity else ("s", "s")
                    writer.writerow(
                        ["absolute", network.name, "", quantity, f"{value:.4f}", unit, f"{paper_value}", paper_unit]
                    )


def write_chart(results: Dict[Tuple[str, str], dict], path: Path, title: str) -> None:
    """One panel per quantity: per pair, the paper's ratio and ours side by side, with the line of parity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = ratio_rows(results)
    figure, grid = plt.subplots(2, 2, figsize=(10.0, 7.5), sharey=True)
    axes = list(grid.flat)
    positions = range(len(rows))
    for index, (axis, quantity) in enumerate(zip(axes, QUANTITIES)):
        for offset, values, label in ((-0.2, 2, "paper (V100)"), (0.2, 3, "here")):
            heights = [row[values][index] for row in rows]  # type: ignore[index]
            bars = axis.bar([p + offset for p in positions], heights, 0.4, label=label)
            axis.bar_label(bars, fmt="%.2f", fontsize=7)
        axis.axhline(1.0, color="black", linewidth=0.8)
        axis.set_xticks(list(positions))
        axis.set_xticklabels([f"{ours}\n/ {baseline}" for ours, baseline, _, _ in rows], fontsize=7)
        axis.set_title(quantity, fontsize=9)
    for axis in axes[::2]:
        axis.set_ylabel("HRNet / baseline")
    axes[0].legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# ---------------------------------------------------------------------------------------------- main
def main(argv: Optional[List[str]] = None, results_dir: Path = RESULTS) -> Dict[Tuple[str, str], dict]:
    """Measure, write ``table13_<mode>_<threads>t.{md,csv,png}`` under ``results_dir``, return the raw results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one pair per task, tiny inputs, one repeat")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--networks", nargs="+", help="the columns to measure (default: all; --quick: one pair per task)"
    )
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda expected a visible CUDA device, found none")
    mode = MODES["quick" if args.quick else ("cuda" if args.device == "cuda" else "full")]
    wanted = args.networks or mode.networks
    unknown = sorted(set(wanted) - set(BY_NAME))
    if unknown:
        parser.error(f"--networks expected names among {sorted(BY_NAME)}, got {unknown}")
    torch.set_num_threads(args.threads)
    names = [n.name for n in NETWORKS if n.name in wanted]
    start = time.perf_counter()
    results = measure_all(mode, args.device, args.threads, names)
    elapsed = time.perf_counter() - start
    results_dir.mkdir(parents=True, exist_ok=True)
    stem = f"table13_{mode.name}_{args.threads}t"
    title = f"Table 13, HRNet / baseline: the paper (V100) and here ({args.device}, {mode.name}, {args.threads}t)"
    write_chart(results, results_dir / f"{stem}.png", title)
    lines = markdown(results, mode, args.device, elapsed) + ["", f"![HRNet / baseline ratios]({stem}.png)", ""]
    text = "\n".join(lines)
    (results_dir / f"{stem}.md").write_text(text)
    write_csv(results, results_dir / f"{stem}.csv")
    print(text)
    print(f"written {results_dir / stem}.md, .csv, .png", flush=True)
    check_finite(results)
    return results


def check_finite(results: Dict[Tuple[str, str], dict]) -> None:
    """Every figure must be a positive number: a zero memory growth would mean the probe saw nothing."""
    bad = {
        key: (result["memory_bytes"], result["seconds"])
        for key, result in results.items()
        if not all(math.isfinite(value) and value > 0 for value in (result["memory_bytes"], result["seconds"]))
    }
    if bad:
        raise RuntimeError(f"expected positive finite memory and time for every (network, phase), got {bad}")


if __name__ == "__main__":
    main()
