"""Where the fast path's time goes against OpenVINO's, convolution by convolution, in one process.

    python benchmarks/bench_layers.py                        # pose W32 256×192, batch 1 and 8, f32 and bf16
    python benchmarks/bench_layers.py --arch w18 --batch 1   # one network, one batch
    python benchmarks/bench_layers.py --allocator /usr/lib/x86_64-linux-gnu/libjemalloc.so.2   # + allocator table

Per precision, four runs rotate from round to round (``bench_speed.paired_times``): the fast path
(``hrnet.optimize_for_inference``) plain and with a timer around every convolution module, and OpenVINO's model of
the same weights (``hrnet.export_openvino``) plain and with its per-layer counters (``PERF_COUNT``). The plain runs
give the forward times; the timed ones each convolution's time per call, ours including the module call a
user's forward pays, OpenVINO's as its runtime model reports it. Convolutions are grouped by input shape, output
shape and kernel; a group exists in one engine only where the fast path stacks convolutions that share their
input (OpenVINO runs them one by one). A last table times a convolution that does no work (64 → 64, 3×3, on a
one-pixel map): what each call costs besides the arithmetic. With ``--allocator``, the fast path's forward in child
processes with glibc's malloc and with that library preloaded, alternating. Writes
``benchmarks/results/layers_<arch>_<threads>t.md``.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Dict, List, Tuple

import torch
from bench_speed import RESULTS, TASKS, openvino_config, paired_times
from common import environment, publish
from torch import nn

import hrnet
from hrnet.fast import PackedConv2d, packed_dtypes

PRECISIONS = {"f32": torch.float32, "bf16": torch.bfloat16}
Key = Tuple[Tuple[int, ...], Tuple[int, ...], int]  # input (C, H, W), output (C, H, W), kernel side
LayerTimes = Dict[Key, List[float]]  # seconds of each call, over every timed forward


def time_convolutions(model: nn.Module, calls: LayerTimes) -> None:
    """Hooks on every convolution module of ``model`` that add each call's time to ``calls``."""
    starts: List[float] = []

    def before(module: nn.Module, args: tuple) -> None:
        starts.append(time.perf_counter())

    def after(module: nn.Conv2d, args: tuple, output: torch.Tensor) -> None:
        seconds = time.perf_counter() - starts.pop()
        calls[(tuple(args[0].shape[1:]), tuple(output.shape[1:]), module.kernel_size[0])].append(seconds)

    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.register_forward_pre_hook(before)
            module.register_forward_hook(after)


def openvino_convolutions(compiled_model: object, calls: LayerTimes) -> None:
    """Add each convolution layer's execution time of the last inference (``PERF_COUNT``) to ``calls``."""
    for op in compiled_model.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        if info["layerType"].astype(str) != "Convolution":
            continue
        source, weight = (tuple(op.input(i).get_partial_shape().to_shape()) for i in (0, 1))
        output = tuple(op.output(0).get_partial_shape().to_shape())
        calls[(source[1:], output[1:], weight[2])].append(float(info["execTimeMcs"].astype(str)) * 1e-6)


def per_forward(calls: LayerTimes, forwards: int) -> Dict[Key, Tuple[float, float]]:
    """Per group: calls per forward and the median seconds of one call."""
    return {key: (len(times) / forwards, statistics.median(times)) for key, times in calls.items()}


def layer_table(arch: str, batch: int, precision: str, threads: int, repeats: int, folder: str) -> list[str]:
    """One precision's comparison: forward times, convolution time per forward, and the groups by total time."""
    import openvino

    torch.manual_seed(0)
    head, size = TASKS["pose"]
    ours = hrnet.HRNet(arch, head=head).eval()
    fast = hrnet.optimize_for_inference(ours, dtype=PRECISIONS[precision])
    path = f"{folder}/{arch}.xml"
    if not Path(path).exists():
        hrnet.export_openvino(ours, path)
    core = openvino.Core()
    plain = core.compile_model(path, "CPU", openvino_config(precision, threads))
    counted = core.compile_model(path, "CPU", openvino_config(precision, threads, perf_count=True))
    plain_request, counted_request = plain.create_infer_request(), counted.create_infer_request()
    x = torch.randn(batch, 3, *size)
    array = x.numpy()
    ours_calls: LayerTimes = collections.defaultdict(list)
    theirs_calls: LayerTimes = collections.defaultdict(list)
    timed_model = hrnet.optimize_for_inference(ours, dtype=PRECISIONS[precision])
    time_convolutions(timed_model, ours_calls)
    counts = collections.Counter()

    def timed_ours() -> None:
        timed_model(x)
        counts["ours"] += 1

    def counted_theirs() -> None:
        counted_request.infer([array])
        openvino_convolutions(counted, theirs_calls)
        counts["theirs"] += 1

    runs = {
        "fast": lambda: fast(x),
        "fast, timed convolutions": timed_ours,
        "OV": lambda: plain_request.infer([array]),
        "OV counted": counted_theirs,
    }
    with torch.no_grad():
        times = paired_times(runs, repeats)
    forward = {name: statistics.median(t) for name, t in times.items()}
    ours_groups = per_forward(ours_calls, counts["ours"])
    theirs_groups = per_forward(theirs_calls, counts["theirs"])
    ours_total = sum(n * t for n, t in ours_groups.values())
    theirs_total = sum(n * t for n, t in theirs_groups.values())
    lines = [
        f"### {precision}, batch {batch}",
        "",
        f"Forward: fast path {forward['fast'] * 1e3:.1f} ms, OpenVINO {forward['OV'] * 1e3:.1f} ms "
        f"(ratio {forward['OV'] / forward['fast']:.2f}). Convolutions per forward: ours "
        f"{sum(n for n, _ in ours_groups.values()):.0f} calls, {ours_total * 1e3:.1f} ms (forward with timers "
        f"{forward['fast, timed convolutions'] * 1e3:.1f} ms); OpenVINO "
        f"{sum(n for n, _ in theirs_groups.values()):.0f} layers, {theirs_total * 1e3:.1f} ms (forward with "
        f"counters {forward['OV counted'] * 1e3:.1f} ms).",
        "",
        "| input → output, kernel | ours calls | ours µs / call | OpenVINO layers | OpenVINO µs / layer "
        "| ours − OpenVINO µs |",
        "|---|---|---|---|---|---|",
    ]

    def time_per_forward(key: Key) -> float:
        return max(calls * seconds for calls, seconds in (ours_groups.get(key, (0, 0)), theirs_groups.get(key, (0, 0))))

    keys = sorted(set(ours_groups) | set(theirs_groups), key=time_per_forward, reverse=True)
    for key in keys:
        (source, output, kernel), mine, theirs = key, ours_groups.get(key), theirs_groups.get(key)
        shape = f"{'×'.join(map(str, source))} → {'×'.join(map(str, output))}, {kernel}×{kernel}"
        cells = [f"{mine[0]:.0f} | {mine[1] * 1e6:.0f}" if mine else "— | —"]
        cells.append(f"{theirs[0]:.0f} | {theirs[1] * 1e6:.0f}" if theirs else "— | —")
        difference = f"{(mine[1] - theirs[1]) * 1e6:+.0f}" if mine and theirs else "—"
        lines.append(f"| {shape} | {cells[0]} | {cells[1]} | {difference} |")
    return lines + [""]


EMPTY_CHAIN = 16  # convolutions in a row on a one-pixel map, so that OpenVINO's threads are awake for each


def empty_call_row(precision: str, threads: int, repeats: int) -> str:
    """Median per-call microseconds of a convolution with no work (64 → 64, 3×3, one-pixel map, batch 1): our
    module call, its oneDNN operator alone, and OpenVINO's layer inside a chain of such convolutions."""
    import openvino

    dtype = PRECISIONS[precision]
    if dtype not in packed_dtypes():
        return f"| {precision} | — | — (no {precision} instructions for oneDNN on this CPU) | — |"
    torch.manual_seed(0)
    layers = [module for _ in range(EMPTY_CHAIN) for module in (nn.Conv2d(64, 64, 3, padding=1), nn.ReLU())]
    chain = nn.Sequential(*layers).eval().requires_grad_(False)
    x = torch.randn(1, 64, 1, 1)
    converted = openvino.convert_model(chain, example_input=x, input=[list(x.shape)])
    compiled = openvino.Core().compile_model(converted, "CPU", openvino_config(precision, threads, perf_count=True))
    request = compiled.create_infer_request()
    packed = [PackedConv2d(conv, relu=True).to(dtype) for conv in chain if isinstance(conv, nn.Conv2d)]
    source = x.to(dtype).contiguous(memory_format=torch.channels_last)
    layer: LayerTimes = collections.defaultdict(list)

    def modules() -> None:
        for conv in packed:
            conv(source)

    def operators() -> None:
        for conv in packed:
            conv.run_packed(source, None)

    array = x.numpy()

    def theirs() -> None:
        request.infer([array])
        openvino_convolutions(compiled, layer)

    with torch.no_grad():
        times = paired_times({"module": modules, "operator": operators, "OV": theirs}, repeats * 20)
    module, operator = (statistics.median(times[name]) / EMPTY_CHAIN * 1e6 for name in ("module", "operator"))
    openvino_layer = statistics.median(t for calls in layer.values() for t in calls) * 1e6
    return f"| {precision} | {module:.1f} | {operator:.1f} | {openvino_layer:.1f} |"


def empty_call_table(threads: int, repeats: int) -> list[str]:
    """What a convolution call costs besides its arithmetic, in each engine."""
    return [
        f"### A convolution with no work: 64 → 64, 3×3, on a 1×1 map ({EMPTY_CHAIN} in a row), µs per call",
        "",
        "| precision | our module call | its oneDNN operator alone | OpenVINO's layer |",
        "|---|---|---|---|",
    ] + [empty_call_row(precision, threads, repeats) for precision in PRECISIONS] + [""]


def forward_milliseconds(arch: str, precision: str, batch: int, threads: int, forwards: int = 15) -> float:
    """Median milliseconds of the fast path's forward in this process (run in a child by the allocator table)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    head, size = TASKS["pose"]
    fast = hrnet.optimize_for_inference(hrnet.HRNet(arch, head=head).eval(), dtype=PRECISIONS[precision])
    x = torch.randn(batch, 3, *size)
    times = []
    with torch.no_grad():
        for index in range(forwards + 3):
            start = time.perf_counter()
            fast(x)
            if index >= 3:
                times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def allocator_table(allocator: str, arch: str, batches: List[int], threads: int, rounds: int) -> list[str]:
    """The fast path in child processes with glibc's malloc and with ``allocator`` preloaded (``LD_PRELOAD``),
    alternating, ``rounds`` processes each: the operator allocates its output and descriptors on every call."""
    lines = [
        f"### Memory allocator: glibc's malloc against `{Path(allocator).name}` (LD_PRELOAD), fast path",
        "",
        f"Median over {rounds} processes each (alternating) of each process's median forward.",
        "",
        "| precision | batch | glibc ms | preloaded ms | speed-up |",
        "|---|---|---|---|---|",
    ]
    for batch in batches:
        for precision in PRECISIONS:
            command = [sys.executable, __file__, "--arch", arch, "--threads", str(threads)]
            command += ["--time-forward", precision, str(batch)]
            medians: Dict[str, List[float]] = {"glibc": [], "preloaded": []}
            for _ in range(rounds):
                for name, preload in (("glibc", None), ("preloaded", allocator)):
                    env = {key: value for key, value in os.environ.items() if key != "LD_PRELOAD"}
                    if preload:
                        env["LD_PRELOAD"] = preload
                    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
                    medians[name].append(float(result.stdout.strip().splitlines()[-1]))
            glibc, preloaded = (statistics.median(medians[name]) for name in ("glibc", "preloaded"))
            lines.append(f"| {precision} | {batch} | {glibc:.1f} | {preloaded:.1f} | {glibc / preloaded:.2f}× |")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="w32", help="a hrnet arch name (pose network, 256×192)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7, help="rounds per table")
    parser.add_argument("--allocator", help="a malloc library to compare with glibc's (e.g. libjemalloc.so.2)")
    parser.add_argument("--time-forward", nargs=2, metavar=("PRECISION", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.arch not in hrnet.ARCHS:
        parser.error(f"--arch must be one of {sorted(hrnet.ARCHS)}, got {args.arch!r}")
    if args.threads < 1 or args.repeats < 1 or any(b < 1 for b in args.batch):
        parser.error("--threads, --repeats and --batch must be >= 1")
    if args.allocator and not Path(args.allocator).is_file():
        parser.error(f"--allocator must be a shared library file, got {args.allocator!r}")
    warnings.filterwarnings("ignore", category=UserWarning)
    if args.time_forward:
        precision, batch = args.time_forward
        print(f"{forward_milliseconds(args.arch, precision, int(batch), args.threads):.3f}")
        return 0
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    lines = [
        f"# Convolution by convolution: the fast path against OpenVINO, pose {args.arch.upper()} 256×192",
        "",
        f"Environment: {environment()}",
        "",
    ]
    with tempfile.TemporaryDirectory() as folder:
        for batch in args.batch:
            for precision in PRECISIONS:
                lines += layer_table(args.arch, batch, precision, args.threads, args.repeats, folder)
    lines += empty_call_table(args.threads, args.repeats)
    if args.allocator:
        lines += allocator_table(args.allocator, args.arch, args.batch, args.threads, args.repeats)
    lines.append(f"Run time {time.perf_counter() - start:.0f} s.")
    publish("\n".join(lines) + "\n", RESULTS / f"layers_{args.arch}_{args.threads}t.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
