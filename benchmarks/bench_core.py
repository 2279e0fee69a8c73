"""Core benchmarks on CPU: training memory with and without gradient checkpointing, and eager forward
speed against timm's own HRNet at equal weights.

    python benchmarks/bench_core.py            # full run (a few minutes on 2 cores)
    python benchmarks/bench_core.py --quick    # fewer repeats, batch 1 speed only, no RSS probes

Memory is measured two ways:
- *saved for backward*: the unique storages autograd keeps for backward during one training forward,
  seen through ``torch.autograd.graph.saved_tensors_hooks``, parameters excluded. With (non-reentrant)
  checkpointing this counts what the checkpointed regions keep (their inputs) and nothing recomputed.
- *peak RSS increase* (full run only): the growth of the resident high-water mark (VmHWM) over one
  forward + backward, each mode in a fresh subprocess. It adds gradients and the transient buffers of
  backward. Measured twice: with glibc's default malloc, whose dynamic mmap threshold keeps freed
  tensors resident as slack (what a default process uses), and with ``MALLOC_MMAP_THRESHOLD_`` fixed
  at 64 KiB, where the peak follows the live tensors.

Speed: each configuration alternates which model runs first, and reports the median wall time of each
and the medians of the per-pair ratios ours/timm, by wall clock and by process CPU time (pairs run back
to back, so slow drifts of a shared machine cancel; CPU time also ignores time spent waiting for a core).
Conclusions should quote the ratios; absolute times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from common import environment, timm_twin
from torch import nn

from hrnet import HRNet

MEMORY_ARCH, MEMORY_HEAD, MEMORY_SIZE, MEMORY_BATCH = "w32", "v1", (256, 192), 8
SPEED_ARCH = "w32"
SPEED_SIZES = ((256, 192), (224, 224))
MIB = 2**20
MMAP_THRESHOLD = 64 * 1024


# ---------------------------------------------------------------- memory
def memory_model(checkpointing: bool) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = HRNet(MEMORY_ARCH, head=MEMORY_HEAD).train()
    model.set_grad_checkpointing(checkpointing)
    return model, torch.randn(MEMORY_BATCH, 3, *MEMORY_SIZE)


def saved_for_backward_bytes(checkpointing: bool) -> int:
    """Bytes of the unique non-parameter storages autograd holds after one training forward."""
    return held_for_backward(*memory_model(checkpointing))


def held_for_backward(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the unique non-parameter storages autograd holds after one training forward of ``model``."""
    parameter_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    held: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameter_storages:
            held[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        outputs = model(x)
    del outputs
    return sum(held.values())


def versus_timm_table() -> list[str]:
    """Activations held for backward: timm's HRNet (four branch maps; it has no gradient checkpointing) against
    ours with the same weights and outputs (``head=None``), without and with checkpointing."""
    torch.manual_seed(0)
    ours = HRNet(MEMORY_ARCH, head=None).train()
    theirs = timm_twin(ours, MEMORY_ARCH, features=True).train()
    x = torch.randn(MEMORY_BATCH, 3, *MEMORY_SIZE)
    held = {"timm": held_for_backward(theirs, x), "ours": held_for_backward(ours, x)}
    ours.set_grad_checkpointing(True)
    held["ours, gradient checkpointing"] = held_for_backward(ours, x)
    h, w = MEMORY_SIZE
    lines = [
        f"### Activations held for backward vs timm: {MEMORY_ARCH.upper()} branch maps, {h}×{w}, batch {MEMORY_BATCH}",
        "",
        "| model | saved for backward (MiB) | of timm's |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {size / MIB:.0f} | {size / held['timm']:.2f}× |" for name, size in held.items()]
    return lines


def resident_high_water_bytes() -> int:
    """The process's peak resident set (VmHWM). Not ``ru_maxrss``: that one carries the parent's peak
    across fork + exec, so a child started from a big process reports the parent's size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status: the peak-RSS probe needs Linux")


def peak_rss_increase_probe(checkpointing: bool) -> None:
    """Run in a fresh process: print the resident high-water mark's growth (bytes) over forward + backward."""
    model, x = memory_model(checkpointing)
    before = resident_high_water_bytes()
    model(x)[0].sum().backward()
    print(resident_high_water_bytes() - before)


def peak_rss_increase_bytes(checkpointing: bool, threads: int, mmap_threshold: int | None) -> int:
    """Run the probe in a fresh interpreter; ``mmap_threshold`` fixes glibc's threshold (bytes) so freed
    tensors leave the resident set at once instead of staying as allocator slack."""
    env = dict(os.environ)
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    if mmap_threshold is not None:
        env["MALLOC_MMAP_THRESHOLD_"] = str(mmap_threshold)
    command = [sys.executable, __file__, "--rss-probe", str(int(checkpointing)), "--threads", str(threads)]
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return int(result.stdout.strip().splitlines()[-1])


def memory_table(with_rss: bool, threads: int) -> list[str]:
    modes = (False, True)
    saved = {ckpt: saved_for_backward_bytes(ckpt) for ckpt in modes}
    rss_settings = {"glibc default": None, "mmap threshold 64 KiB": MMAP_THRESHOLD} if with_rss else {}
    rss = {(name, ckpt): peak_rss_increase_bytes(ckpt, threads, value)
           for name, value in rss_settings.items() for ckpt in modes}  # fmt: skip
    h, w = MEMORY_SIZE
    header = "| gradient checkpointing | saved for backward (MiB) |" + "".join(
        f" peak RSS increase, fwd+bwd, {name} (MiB) |" for name in rss_settings
    )
    lines = [
        f"### Training memory: HRNet-{MEMORY_ARCH.upper()} head={MEMORY_HEAD!r}, {h}×{w}, batch {MEMORY_BATCH}, CPU",
        "",
        header,
        "|---|---|" + "---|" * len(rss_settings),
    ]
    for ckpt in modes:
        cells = "".join(f" {rss[name, ckpt] / MIB:.0f} |" for name in rss_settings)
        lines.append(f"| {'on' if ckpt else 'off'} | {saved[ckpt] / MIB:.0f} |{cells}")
    lines += ["", f"Ratio on/off, saved for backward: {saved[True] / saved[False]:.3f}"]
    for name in rss_settings:
        lines.append(f"Ratio on/off, peak RSS increase ({name}): {rss[name, True] / rss[name, False]:.3f}")
    if not with_rss:
        lines.append("(peak RSS probes skipped with --quick)")
    return lines


# ---------------------------------------------------------------- speed
def timed(model: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one forward."""
    wall, cpu = time.perf_counter(), time.process_time()
    model(x)
    return time.perf_counter() - wall, time.process_time() - cpu


def compare_speed(ours: nn.Module, theirs: nn.Module, x: torch.Tensor, repeats: int) -> dict[str, float]:
    """Median wall times and median paired ratios ours/timm (wall and CPU clocks), alternating who runs first."""
    models = {"ours": ours, "timm": theirs}
    runs: dict[str, list[tuple[float, float]]] = {"ours": [], "timm": []}
    with torch.no_grad():
        for model in models.values():  # warm-up: first-call allocations and kernel choices
            model(x)
        for index in range(repeats):
            order = ("ours", "timm") if index % 2 == 0 else ("timm", "ours")
            for name in order:
                runs[name].append(timed(models[name], x))
    pairs = list(zip(runs["ours"], runs["timm"]))
    return {
        "ours_wall": statistics.median(wall for wall, _ in runs["ours"]),
        "timm_wall": statistics.median(wall for wall, _ in runs["timm"]),
        "wall_ratio": statistics.median(mine[0] / theirs[0] for mine, theirs in pairs),
        "cpu_ratio": statistics.median(mine[1] / theirs[1] for mine, theirs in pairs),
    }


def speed_table(batches: tuple[int, ...], repeats: int) -> list[str]:
    torch.manual_seed(0)
    ours = HRNet(SPEED_ARCH, head="cls").eval()
    theirs = timm_twin(ours, SPEED_ARCH, features=False)
    probe = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        difference = (ours(probe) - theirs(probe)).abs().max().item()
    lines = [
        f"### Eager forward, HRNet-{SPEED_ARCH.upper()} classification, ours vs timm at equal weights "
        f"(max |Δlogits| = {difference:.1e}), {repeats} alternating repeats",
        "",
        "| input | batch | ours median wall (ms) | timm median wall (ms) | ours/timm wall | ours/timm CPU time |",
        "|---|---|---|---|---|---|",
    ]
    for h, w in SPEED_SIZES:
        for batch in batches:
            r = compare_speed(ours, theirs, torch.randn(batch, 3, h, w), repeats)
            lines.append(
                f"| {h}×{w} | {batch} | {r['ours_wall'] * 1e3:.0f} | {r['timm_wall'] * 1e3:.0f} | "
                f"{r['wall_ratio']:.3f} | {r['cpu_ratio']:.3f} |"
            )
    lines += [
        "",
        "Ratios are medians of back-to-back pairs; < 1 means ours is faster. The CPU-time ratio (process CPU "
        "seconds, all threads) is the steadier one on a shared machine: waiting for a core does not count.",
    ]
    return lines


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, batch 1 speed only, no RSS probes")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads")
    parser.add_argument("--rss-probe", type=int, choices=(0, 1), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    if args.rss_probe is not None:
        peak_rss_increase_probe(bool(args.rss_probe))
        return 0

    start = time.perf_counter()
    lines = [f"Environment: {environment()}", ""]
    lines += memory_table(with_rss=not args.quick, threads=args.threads) + [""]
    lines += versus_timm_table() + [""]
    batches, repeats = ((1,), 3) if args.quick else ((1, 8), 7)
    lines += speed_table(batches, repeats)
    lines += ["", f"Total time {time.perf_counter() - start:.0f}s; load average at the end {os.getloadavg()[0]:.1f}"]
    text = "\n".join(lines) + "\n"
    print(text)
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    path = results / f"core_{'quick' if args.quick else 'full'}_{args.threads}t.md"
    path.write_text("# HRNet training memory and eager speed vs timm\n\n" + text)
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
