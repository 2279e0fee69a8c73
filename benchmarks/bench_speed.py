"""CPU speed of the fast path against timm's own HRNet at equal weights: inference (eager, optimized, compiled),
training, multiply-add throughput against one large convolution, and ONNX Runtime.

    python benchmarks/bench_speed.py                  # full run, 1 torch thread (tens of minutes on 2 cores)
    python benchmarks/bench_speed.py --quick          # W18 only, fewer repeats (a few minutes)
    python benchmarks/bench_speed.py --threads 1 2    # the tables once per thread count

Compared at equal weights, in one process: timm's ``HighResolutionNet`` (not the registry entry this package
replaces) eager and under ``torch.compile``; ``hrnet.HRNet`` eager; ``hrnet.optimize_for_inference`` (the fast
path) eager and under ``torch.compile``. Pose: ``head=None`` at 256×192 against timm's ``features_only`` branch
maps; ImageNet: ``head='cls'`` at 224×224 against timm's classifier. One markdown file and one chart per thread count.

Every repeat runs each compared model once, the order rotating from repeat to repeat, so slow drifts of a
shared machine hit all of them alike. Times are medians over repeats; ratios are medians of the per-repeat
ratios (speed-ups: > 1 means faster than the reference). The markdown tables and a PNG chart are written to
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import copy
import functools
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from common import environment, timm_twin
from torch import nn

import hrnet
from hrnet.complexity import GIGA

RESULTS = Path(__file__).resolve().parent / "results"
POSE, CLS = "pose", "cls"
TASKS = {POSE: (None, (256, 192)), CLS: ("cls", (224, 224))}
VARIANTS = ("timm eager", "ours eager", "fast", "fast + compile", "timm + compile")


# ---------------------------------------------------------------------------------------------- timing
def paired_times(runs: Dict[str, Callable[[], object]], repeats: int) -> Dict[str, List[float]]:
    """Wall seconds of each run over ``repeats`` rounds, each round in a rotated order (after one warm-up)."""
    names = list(runs)
    times: Dict[str, List[float]] = {name: [] for name in names}
    for name in names:
        runs[name]()
    for index in range(repeats):
        shift = index % len(names)
        order = names[shift:] + names[:shift]
        if index % 2:
            order.reverse()
        for name in order:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return times


def median_ratio(reference: List[float], other: List[float]) -> float:
    """Median of the per-round speed-ups reference / other."""
    return statistics.median(r / o for r, o in zip(reference, other))


# ---------------------------------------------------------------------------------------------- models
def as_list(out: object) -> List[torch.Tensor]:
    return list(out) if isinstance(out, (list, tuple)) else [out]  # type: ignore[list-item]


def max_relative_difference(a: object, b: object) -> float:
    return max(((x - y).abs().max() / y.abs().max()).item() for x, y in zip(as_list(a), as_list(b)))


def compiled(model: nn.Module, x: torch.Tensor) -> tuple[nn.Module, float]:
    """``torch.compile`` (inductor, static shapes) and the seconds its first call took."""
    program = torch.compile(model, dynamic=False)
    start = time.perf_counter()
    with torch.no_grad():
        program(x)
    return program, time.perf_counter() - start


# ---------------------------------------------------------------------------------------------- sections
def conv_peak(repeats: int) -> tuple[list[str], float]:
    """Multiply-adds per second of one large 3×3 convolution (128 → 128 channels, 56×56, batch 8)."""
    conv = nn.Conv2d(128, 128, 3, padding=1, bias=False).eval()
    x = torch.randn(8, 128, 56, 56)
    macs = conv.weight.numel() * 56 * 56 * 8
    conv_cl = copy.deepcopy(conv).to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        times = paired_times({"NCHW": lambda: conv(x), "channels-last": lambda: conv_cl(x_cl)}, repeats)
    rates = {name: macs / statistics.median(t) / 1e9 for name, t in times.items()}
    lines = [
        "### Sustained convolution throughput (3×3, 128 → 128 channels, 56×56, batch 8)",
        "",
        "| layout | GMAC/s |",
        "|---|---|",
    ] + [f"| {name} | {rate:.1f} |" for name, rate in rates.items()]
    return lines, max(rates.values())


def inference_table(
    archs: List[str], batches: List[int], repeats: Dict[int, int], compile_archs: List[str], peak: float
) -> tuple[list[str], dict]:
    """One row per (task, arch, batch): medians, speed-ups over timm eager, fast+compile over timm+compile."""
    results: dict = {}
    lines = [
        "### Inference, ours vs timm at equal weights",
        "",
        "Speed-ups are over timm eager unless the column says otherwise; GMAC/s counts the multiply-adds of "
        "`hrnet.complexity` (the paper's convention) and is given as a fraction of the sustained convolution "
        "throughput above.",
        "",
        "| task | arch | batch | timm eager ms | ours eager | fast | fast + compile | timm + compile | "
        "fast+compile / timm+compile | fast GMAC/s (of peak) | max rel. Δ fast vs timm |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task, (head, size) in TASKS.items():
        for arch in archs:
            torch.manual_seed(0)
            ours = hrnet.HRNet(arch, head=head).eval()
            twin = timm_twin(ours, arch, features=task == POSE)
            fast = hrnet.optimize_for_inference(ours)
            macs = hrnet.complexity(ours, size)[1] * GIGA
            for batch in batches:
                x = torch.randn(batch, 3, *size)
                runs: Dict[str, Callable[[], object]] = {
                    "timm eager": lambda twin=twin, x=x: twin(x),
                    "ours eager": lambda ours=ours, x=x: ours(x),
                    "fast": lambda fast=fast, x=x: fast(x),
                }
                compile_seconds = {}
                if arch in compile_archs:
                    torch._dynamo.reset()  # fresh caches: never hit the recompile limit and silently run eager
                    fast_compiled, compile_seconds["fast"] = compiled(fast, x)
                    timm_compiled, compile_seconds["timm"] = compiled(twin, x)
                    runs["fast + compile"] = lambda m=fast_compiled, x=x: m(x)
                    runs["timm + compile"] = lambda m=timm_compiled, x=x: m(x)
                with torch.no_grad():
                    difference = max_relative_difference(fast(x), twin(x))
                    times = paired_times(runs, repeats[batch])
                reference = times["timm eager"]
                speedups = {name: median_ratio(reference, t) for name, t in times.items()}
                medians = {name: statistics.median(t) for name, t in times.items()}
                rate = batch * macs / medians["fast"] / 1e9
                versus = (
                    f"{median_ratio(times['timm + compile'], times['fast + compile']):.2f}×"
                    if "fast + compile" in times
                    else "—"
                )
                cells = [f"{speedups[name]:.2f}×" if name in speedups else "—" for name in VARIANTS[1:]]
                lines.append(
                    f"| {task} {size[0]}×{size[1]} | {arch.upper()} | {batch} | {medians['timm eager'] * 1e3:.0f} | "
                    + " | ".join(cells)
                    + f" | {versus} | {rate:.1f} ({rate / peak:.2f}) | {difference:.1e} |"
                )
                results[(task, arch, batch)] = dict(speedups=speedups, compile_seconds=compile_seconds, rate=rate)
                print(lines[-1], flush=True)
    compile_notes = sorted(
        {
            f"{arch} {task} b{batch}: fast {seconds['fast']:.0f} s, timm {seconds['timm']:.0f} s"
            for (task, arch, batch), value in results.items()
            if (seconds := value["compile_seconds"])
        }
    )
    if compile_notes:
        lines += [
            "",
            "First-call (compile) seconds, shorter where PyTorch's on-disk compile cache already held the "
            "graph: " + "; ".join(compile_notes) + ".",
        ]
    return lines, results


def fast_path_steps(arch: str, batch: int, repeats: int) -> list[str]:
    """Each step of ``hrnet.optimize_for_inference`` on its own, pose W-arch: speed-up over ours eager."""
    torch.manual_seed(0)
    head, size = TASKS[POSE]
    ours = hrnet.HRNet(arch, head=head).eval()
    steps = {
        "ours eager": ours,
        "fold BN": hrnet.optimize_for_inference(ours, batch=False, channels_last=False),
        "fold BN + channels-last": hrnet.optimize_for_inference(ours, batch=False, pack=False),
        "fold BN + batch fusions": hrnet.optimize_for_inference(ours, channels_last=False),
        "fold + batch + channels-last": hrnet.optimize_for_inference(ours, pack=False),
        "fold + channels-last + pack": hrnet.optimize_for_inference(ours, batch=False),
        "fold + batch + channels-last + pack (default)": hrnet.optimize_for_inference(ours),
    }
    x = torch.randn(batch, 3, *size)
    with torch.no_grad():
        times = paired_times({name: (lambda m=m: m(x)) for name, m in steps.items()}, repeats)
    lines = [
        f"### Fast-path steps, pose {arch.upper()} 256×192, batch {batch}",
        "",
        "| variant | median ms | speed-up over ours eager |",
        "|---|---|---|",
    ]
    for name, t in times.items():
        lines.append(f"| {name} | {statistics.median(t) * 1e3:.0f} | {median_ratio(times['ours eager'], t):.3f}× |")
    return lines


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, labels: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), labels).backward()
    optimizer.step()


def run_session(session: object, name: str, feed: object) -> object:
    return session.run(None, {name: feed})  # type: ignore[attr-defined]


def training_table(archs: List[str], batch: int, repeats: int) -> tuple[list[str], dict]:
    """One SGD step (forward, cross-entropy, backward, update) of the ImageNet model, ours vs timm."""
    results = {}
    lines = [
        f"### Training step (forward + backward + SGD), ImageNet head, 224×224, batch {batch}",
        "",
        "| arch | timm ms | ours ms | speed-up ours over timm |",
        "|---|---|---|---|",
    ]
    for arch in archs:
        torch.manual_seed(0)
        ours = hrnet.HRNet(arch, head="cls").train()
        twin = timm_twin(ours, arch, features=False).train()
        x, labels = torch.randn(batch, 3, 224, 224), torch.randint(0, 1000, (batch,))
        runs = {
            name: functools.partial(train_step, model, torch.optim.SGD(model.parameters(), 1e-3, 0.9), x, labels)
            for name, model in (("timm", twin), ("ours", ours))
        }
        times = paired_times(runs, repeats)
        speedup = median_ratio(times["timm"], times["ours"])
        results[arch] = speedup
        lines.append(
            f"| {arch.upper()} | {statistics.median(times['timm']) * 1e3:.0f} | "
            f"{statistics.median(times['ours']) * 1e3:.0f} | {speedup:.2f}× |"
        )
        print(lines[-1], flush=True)
    return lines, results


def onnx_table(arch: str, batches: List[int], repeats: int, threads: int) -> tuple[list[str], dict]:
    """ONNX Runtime: our dynamic-size exports (plain, plain in a session that pins the named axes to the input's
    size, and optimized) against timm's fixed-size export, with the PyTorch models of the same weights alongside."""
    import onnxruntime

    def session(path: str, pinned: Optional[Dict[str, int]] = None) -> onnxruntime.InferenceSession:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads of one session would otherwise spin on the cores while the next model runs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        for axis, value in (pinned or {}).items():  # the named dynamic axes of our export, fixed for this session
            options.add_free_dimension_override_by_name(axis, value)
        return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    results: dict = {}
    lines = [
        f"### ONNX Runtime {onnxruntime.__version__}, {arch.upper()}: our exports (dynamic batch/H/W) vs timm's "
        "(fixed size)",
        "",
        "| task | batch | timm ONNX ms | ours ONNX | ours ONNX, sizes pinned | optimized ONNX | timm eager "
        "| fast eager |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        for task, (head, size) in TASKS.items():
            torch.manual_seed(0)
            ours = hrnet.HRNet(arch, head=head).eval()
            twin = timm_twin(ours, arch, features=task == POSE)
            fast = hrnet.optimize_for_inference(ours)
            files = {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for name, model in (("ours", ours), ("optimized", fast)):
                    files[name] = os.path.join(folder, f"{task}_{name}.onnx")
                    hrnet.export_onnx(model, files[name])
            for batch in batches:
                pinned = dict(batch=batch, height=size[0], width=size[1])
                sessions = {
                    "ours ONNX": session(files["ours"]),
                    "ours ONNX, sizes pinned": session(files["ours"], pinned),
                    "optimized ONNX": session(files["optimized"]),
                }
                x = torch.randn(batch, 3, *size)
                path = os.path.join(folder, f"{task}_timm_{batch}.onnx")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    torch.onnx.export(twin, (x,), dynamo=True, verbose=False).save(path)
                timm_session = session(path)
                feed = x.numpy()
                runs: Dict[str, Callable[[], object]] = {
                    "timm ONNX": functools.partial(run_session, timm_session, timm_session.get_inputs()[0].name, feed),
                    **{name: functools.partial(run_session, s, "x", feed) for name, s in sessions.items()},
                    "timm eager": functools.partial(twin, x),
                    "fast eager": functools.partial(fast, x),
                }
                with torch.no_grad():
                    reference = twin(x)
                    for name, ours_session in sessions.items():
                        outputs = [torch.from_numpy(o) for o in ours_session.run(None, {"x": feed})]
                        assert max_relative_difference(outputs, reference) < 1e-4, name
                    times = paired_times(runs, repeats)
                speedups = {name: median_ratio(times["timm ONNX"], t) for name, t in times.items()}
                results[(task, batch)] = speedups
                lines.append(
                    f"| {task} {size[0]}×{size[1]} | {batch} | {statistics.median(times['timm ONNX']) * 1e3:.0f} | "
                    + " | ".join(f"{speedups[n]:.2f}×" for n in list(runs)[1:])
                    + " |"
                )
                print(lines[-1], flush=True)
    lines += ["", "Speed-ups over timm's ONNX export in ONNX Runtime (same thread count)."]
    return lines, results


def profile_lines(arch: str, batch: int, rows: int = 8) -> list[str]:
    """Top operators by self CPU time, timm eager and the fast path, pose W-arch 256×192."""
    from torch.profiler import ProfilerActivity, profile

    torch.manual_seed(0)
    head, size = TASKS[POSE]
    ours = hrnet.HRNet(arch, head=head).eval()
    models = {"timm eager": timm_twin(ours, arch, features=True), "fast": hrnet.optimize_for_inference(ours)}
    x = torch.randn(batch, 3, *size)
    lines = [f"### Profile, pose {arch.upper()} 256×192, batch {batch}: top operators by self CPU time", ""]
    for name, model in models.items():
        with torch.no_grad():
            model(x)
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                model(x)
        events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in events)
        lines += [f"**{name}** ({total / 1e3:.0f} ms self CPU in all)", "", "| op | calls | ms | share |"]
        lines.append("|---|---|---|---|")
        lines += [
            f"| {e.key} | {e.count} | {e.self_cpu_time_total / 1e3:.1f} | {e.self_cpu_time_total / total:.0%} |"
            for e in events[:rows]
        ]
        lines.append("")
    return lines


# ---------------------------------------------------------------------------------------------- chart
def write_chart(results: dict, path: Path, title: str) -> None:
    """Grouped bars: speed-up over timm eager of each variant, per (task, arch, batch)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(results)
    variants = [v for v in VARIANTS[1:] if any(v in results[k]["speedups"] for k in keys)]
    width = 0.8 / max(len(variants), 1)
    figure, axes = plt.subplots(figsize=(max(6.0, 1.1 * len(keys)), 4.0))
    for i, variant in enumerate(variants):
        values = [results[k]["speedups"].get(variant, 0.0) for k in keys]
        axes.bar([j + i * width for j in range(len(keys))], values, width, label=variant)
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_xticks([j + 0.4 - width / 2 for j in range(len(keys))])
    axes.set_xticklabels([f"{t}\n{a.upper()} b{b}" for t, a, b in keys], fontsize=8)
    axes.set_ylabel("speed-up over timm eager")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


# ---------------------------------------------------------------------------------------------- main
def run(args: argparse.Namespace, threads: int) -> list[str]:
    torch.set_num_threads(threads)
    quick = args.quick
    archs = ["w18"] if quick else ["w18", "w32", "w48"]
    batches = [1] if quick else [1, 8]
    repeats = {1: 5, 8: 3} if quick else {1: 9, 8: 5}
    compile_archs = [] if args.no_compile else (["w18"] if quick else archs)
    lines = [f"## {threads} thread(s){' (quick)' if quick else ''}", "", f"Environment: {environment()}", ""]
    start = time.perf_counter()
    peak_lines, peak = conv_peak(repeats[1] * 2)
    lines += peak_lines + [""]
    table, inference = inference_table(archs, batches, repeats, compile_archs, peak)
    lines += table + [""]
    lines += fast_path_steps("w18" if quick else "w32", 1, repeats[1]) + [""]
    if not quick:
        lines += fast_path_steps("w32", 8, repeats[8]) + [""]
    table, _ = training_table(["w18"] if quick else ["w18", "w32"], 2 if quick else 8, 3 if quick else 5)
    lines += table + [""]
    if not args.no_onnx:
        table, _ = onnx_table("w18" if quick else "w32", batches, repeats[1], threads)
        lines += table + [""]
    lines += profile_lines("w18" if quick else "w32", 1)
    if not quick:
        lines += profile_lines("w32", 8)
    lines.append(f"Section time {time.perf_counter() - start:.0f} s; load average at the end {os.getloadavg()[0]:.1f}")
    tag = f"{'quick' if quick else 'full'}_{threads}t"
    write_chart(inference, RESULTS / f"speed_{tag}.png", f"HRNet CPU inference, {threads} thread(s)")
    lines += ["", f"![speed-ups]({f'speed_{tag}.png'})", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="W18 only, batch 1, fewer repeats")
    parser.add_argument("--threads", type=int, nargs="+", default=[2], help="torch intra-op thread counts")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (slow to compile)")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime table")
    args = parser.parse_args(argv)
    if any(t < 1 for t in args.threads):
        parser.error(f"--threads must be >= 1, got {args.threads}")
    warnings.filterwarnings("ignore", category=UserWarning)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for threads in args.threads:
        lines = ["# HRNet CPU speed: `hrnet` (eager, fast path, compiled) vs timm at equal weights", ""]
        text = "\n".join(lines + run(args, threads)) + "\n"
        print(text)
        path = RESULTS / f"speed_{'quick' if args.quick else 'full'}_{threads}t.md"
        path.write_text(text)
        print(f"written {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
