"""CPU speed of the fast path against timm's own HRNet at equal weights: inference (eager, optimized in float32 and
bfloat16, compiled), OpenVINO, training, multiply-add throughput against one large convolution, and ONNX Runtime.

    python benchmarks/bench_speed.py                  # full run, 2 torch threads (about 50 minutes on 2 cores)
    python benchmarks/bench_speed.py --quick          # W18 only, fewer repeats (a few minutes)
    python benchmarks/bench_speed.py --threads 1 2    # the tables once per thread count

Compared at equal weights, in one process: timm's ``HighResolutionNet`` (not the registry entry this package
replaces) eager and under ``torch.compile``; ``hrnet.HRNet`` eager; ``hrnet.optimize_for_inference`` (the fast
path) eager in float32 and bfloat16 and under ``torch.compile``; OpenVINO in f32 and bf16 on our IR
(``hrnet.export_openvino``) and on timm's model. Pose: ``head=None`` at 256×192 against timm's ``features_only`` branch
maps; ImageNet: ``head='cls'`` at 224×224 against timm's classifier. One markdown file and one chart per thread count.

Every repeat runs each compared model once, the order rotating from repeat to repeat, so slow drifts of a
shared machine hit all of them alike. Times are medians over repeats; ratios are medians of the per-repeat
ratios (speed-ups: > 1 means faster than the reference). The markdown tables and a PNG chart are written to
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn.functional as F
from common import environment, publish, timm_twin
from torch import nn

import hrnet
from hrnet.complexity import GIGA

RESULTS = Path(__file__).resolve().parent / "results"
POSE, CLS = "pose", "cls"
TASKS = {POSE: (None, (256, 192)), CLS: ("cls", (224, 224))}
# The chart's bars: PyTorch variants and OpenVINO on our export (its tables add OpenVINO on timm's).
VARIANTS = (
    "timm eager",
    "ours eager",
    "fast",
    "fast bf16",
    "fast + compile",
    "fast bf16 + compile",
    "timm + compile",
    "OV f32 ours",
    "OV bf16 ours",
)


# ---------------------------------------------------------------------------------------------- timing
def engine(name: str) -> str:
    """The runtime behind a run's name: OpenVINO's thread pool, or PyTorch's (ONNX Runtime sessions here do not
    spin)."""
    return "OpenVINO" if name.startswith(("OV ", "OpenVINO")) else "PyTorch"


def paired_times(runs: Dict[str, Callable[[], object]], repeats: int) -> Dict[str, List[float]]:
    """Wall seconds of each run over ``repeats`` rounds, each round in a rotated order (after one warm-up). A run
    that follows another engine's is preceded by one untimed call, so that threads the other engine leaves
    spinning after its call are not counted against it."""
    names = list(runs)
    times: Dict[str, List[float]] = {name: [] for name in names}
    for name in names:
        runs[name]()
    previous = names[-1]
    for index in range(repeats):
        shift = index % len(names)
        order = names[shift:] + names[:shift]
        if index % 2:
            order.reverse()
        for name in order:
            if engine(name) != engine(previous):
                runs[name]()
            previous = name
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
    """``torch.compile`` (inductor, static shapes, freezing: parameters folded as constants and convolution weights
    prepacked) and the seconds its first call (the compilation) took."""
    import torch._inductor.config as inductor_config

    program = torch.compile(model, dynamic=False)
    start = time.perf_counter()
    with torch.no_grad(), inductor_config.patch(freezing=True):
        program(x)
    return program, time.perf_counter() - start


# ---------------------------------------------------------------------------------------------- OpenVINO
OPENVINO_PRECISIONS = {"f32": "f32", "bf16": "bf16"}  # INFERENCE_PRECISION_HINT; bf16 is its default on this CPU


def openvino_config(precision: str, threads: int, perf_count: bool = False) -> Dict[str, object]:
    """OpenVINO's CPU settings for a latency run: one stream, ``threads`` inference threads, the precision
    hint; ``perf_count`` records each layer's execution time (read back from the runtime model)."""
    return {
        "INFERENCE_PRECISION_HINT": precision,
        "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "LATENCY",
        "NUM_STREAMS": 1,
        "PERF_COUNT": "YES" if perf_count else "NO",
    }


def openvino_runner(model: object, precision: str, threads: int) -> Callable[[torch.Tensor], object]:
    """A compiled OpenVINO model (one stream, ``threads`` inference threads) as a function of a torch tensor."""
    import openvino

    compiled_model = openvino.Core().compile_model(model, "CPU", openvino_config(precision, threads))
    request = compiled_model.create_infer_request()

    def run(x: torch.Tensor) -> list[torch.Tensor]:
        results = request.infer([x.numpy()])
        return [torch.from_numpy(results[output]) for output in compiled_model.outputs]

    return run


def openvino_models(ours: nn.Module, twin: nn.Module, x: torch.Tensor, folder: str) -> Dict[str, object]:
    """OpenVINO models of equal weights: ``hrnet.export_openvino`` (dynamic batch / height / width) read back
    from its IR, and timm's model converted by OpenVINO's PyTorch frontend at this input's fixed size."""
    import openvino

    path = os.path.join(folder, f"ours_{id(ours)}.xml")
    if not os.path.exists(path):
        hrnet.export_openvino(ours, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timm_model = openvino.convert_model(twin, example_input=x, input=[list(x.shape)])
    return {"ours": openvino.Core().read_model(path), "timm": timm_model}


# ---------------------------------------------------------------------------------------------- sections
def conv_figure(repeats: int, threads: int, with_openvino: bool) -> tuple[list[str], Dict[str, float]]:
    """Multiply-adds per second of one large 3×3 convolution (128 → 128 channels, 64×48, batch 8): the rate the
    whole networks are measured against, per dtype (the best layout of each)."""
    conv = nn.Conv2d(128, 128, 3, padding=1, bias=True).eval().requires_grad_(False)
    x = torch.randn(8, 128, 64, 48)
    macs = conv.weight.numel() * 64 * 48 * 8
    conv_cl = copy.deepcopy(conv).to(memory_format=torch.channels_last)
    conv_bf16 = copy.deepcopy(conv_cl).to(torch.bfloat16)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    x_bf16 = x_cl.to(torch.bfloat16)
    runs: Dict[str, Callable[[], object]] = {
        "PyTorch float32, NCHW": lambda: conv(x),
        "PyTorch float32, channels-last": lambda: conv_cl(x_cl),
        "PyTorch bfloat16, channels-last": lambda: conv_bf16(x_bf16),
    }
    if with_openvino:
        import openvino

        model = openvino.convert_model(conv, example_input=x, input=[list(x.shape)])
        for precision in OPENVINO_PRECISIONS:
            runs[f"OpenVINO {precision}"] = functools.partial(openvino_runner(model, precision, threads), x)
    with torch.no_grad():
        times = paired_times(runs, repeats)
    rates = {name: macs / statistics.median(t) / 1e9 for name, t in times.items()}
    lines = [
        "### One large convolution (3×3, 128 → 128 channels, 64×48, batch 8, with bias)",
        "",
        "| engine, dtype, layout | GMAC/s |",
        "|---|---|",
    ] + [f"| {name} | {rate:.1f} |" for name, rate in rates.items()]
    figure = {
        "float32": max(rate for name, rate in rates.items() if name.startswith("PyTorch float32")),
        "bfloat16": rates["PyTorch bfloat16, channels-last"],
    }
    return lines, figure


def relative_l2(a: object, b: object) -> float:
    """Largest relative L2 difference over the outputs."""
    return max(((x.double() - y.double()).norm() / y.double().norm()).item() for x, y in zip(as_list(a), as_list(b)))


@dataclasses.dataclass(frozen=True)
class InferenceRecord:
    """One (task, arch, batch) of the inference tables, as measured: the wall seconds of every run per repeat, the
    model's multiply-adds per image, how far each checked run's outputs are from timm's, and the first-call
    (compile) seconds of the compiled runs."""

    task: str
    size: Tuple[int, int]
    arch: str
    batch: int
    macs: float
    times: Dict[str, List[float]]
    difference: float  # fast path: max |difference| / max |timm|
    low_l2: float  # bfloat16 fast path: relative L2 difference from timm
    ov_l2: float  # OpenVINO bf16 on our IR: relative L2 difference (nan without OpenVINO)
    checked: Dict[str, float]  # compiled and OpenVINO f32 runs: max |difference| / max |timm|
    compile_seconds: Dict[str, float]

    @property
    def key(self) -> Tuple[str, str, int]:
        return self.task, self.arch, self.batch

    @functools.cached_property
    def speedups(self) -> Dict[str, float]:
        """Median per-repeat speed-up of each run over timm eager."""
        return {name: median_ratio(self.times["timm eager"], t) for name, t in self.times.items()}

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def rate(self, name: str) -> float:
        """Multiply-adds per second of a run, in units of 10^9."""
        return self.batch * self.macs / self.median(name) / 1e9


def measure_inference(
    archs: List[str],
    batches: List[int],
    repeats: Dict[int, int],
    compile_archs: List[str],
    threads: int,
    with_openvino: bool,
) -> Iterator[InferenceRecord]:
    """One record per (task, arch, batch), every engine timed side by side: PyTorch (eager, fast path in float32
    and bfloat16, compiled with inductor's freezing) and OpenVINO (f32 and bf16, on our export and on timm's)."""
    with tempfile.TemporaryDirectory() as folder:
        for task, (head, size) in TASKS.items():
            for arch in archs:
                torch.manual_seed(0)
                ours = hrnet.HRNet(arch, head=head).eval()
                twin = timm_twin(ours, arch, features=task == POSE)
                fast = hrnet.optimize_for_inference(ours)
                low = hrnet.optimize_for_inference(ours, dtype=torch.bfloat16)
                macs = hrnet.complexity(ours, size)[1] * GIGA
                for batch in batches:
                    x = torch.randn(batch, 3, *size)
                    runs: Dict[str, Callable[[], object]] = {
                        "timm eager": functools.partial(twin, x),
                        "ours eager": functools.partial(ours, x),
                        "fast": functools.partial(fast, x),
                        "fast bf16": functools.partial(low, x),
                    }
                    compile_seconds = {}
                    if arch in compile_archs:
                        torch._dynamo.reset()  # fresh caches: never hit the recompile limit and silently run eager
                        fast_compiled, compile_seconds["fast"] = compiled(fast, x)
                        timm_compiled, compile_seconds["timm"] = compiled(twin, x)
                        low_compiled, compile_seconds["fast bf16"] = compiled(low, x)
                        runs["fast + compile"] = functools.partial(fast_compiled, x)
                        runs["fast bf16 + compile"] = functools.partial(low_compiled, x)
                        runs["timm + compile"] = functools.partial(timm_compiled, x)
                    if with_openvino:
                        for source, model in openvino_models(ours, twin, x, folder).items():
                            for precision in OPENVINO_PRECISIONS:
                                runs[f"OV {precision} {source}"] = functools.partial(
                                    openvino_runner(model, precision, threads), x
                                )
                    with torch.no_grad():
                        reference = twin(x)
                        difference = max_relative_difference(fast(x), reference)
                        low_l2 = relative_l2(low(x), reference)
                        ov_l2 = relative_l2(runs["OV bf16 ours"](), reference) if with_openvino else float("nan")
                        checked = {
                            name: max_relative_difference(runs[name](), reference)
                            for name in ("fast + compile", "OV f32 ours", "OV f32 timm")
                            if name in runs
                        }
                        check_outputs(checked)  # before the timing: a wrong model is not worth timing
                        times = paired_times(runs, repeats[batch])
                    yield InferenceRecord(
                        task, size, arch, batch, macs, times, difference, low_l2, ov_l2, checked, compile_seconds
                    )


def check_outputs(checked: Dict[str, float]) -> None:
    """The float32 runs that must compute timm's outputs (compiled, OpenVINO f32): within 1e-4 of them."""
    for name, difference in checked.items():
        assert difference < 1e-4, name


TORCH_HEADER = [
    "### Inference in PyTorch, ours vs timm at equal weights",
    "",
    "Speed-ups over timm eager. Compiled: `torch.compile` with inductor's freezing (weights folded and "
    "prepacked). GMAC/s counts the multiply-adds of `hrnet.complexity` (the paper's convention), as a fraction "
    "of the large convolution's rate in the same dtype (above). Δ: max |difference| / max |timm| (float32); "
    "L2: relative L2 difference from timm (bfloat16).",
    "",
    "| task | arch | batch | timm eager ms | ours eager | fast | fast bf16 | fast + compile | fast bf16 + compile "
    "| timm + compile | fast GMAC/s (of f32 conv) | fast bf16 GMAC/s (of bf16 conv) | Δ fast | L2 fast bf16 |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]
OPENVINO_HEADER = [
    "### Inference against OpenVINO, same runs",
    "",
    "OpenVINO on our `hrnet.export_openvino` IR (dynamic batch / height / width) and on timm's model converted "
    "by OpenVINO's PyTorch frontend at the fixed input size; one stream, the same thread count. Speed-ups over "
    "timm eager; the last columns compare our fast path with the faster OpenVINO model of each precision.",
    "",
    "| task | arch | batch | OV f32 timm | OV f32 ours | OV bf16 timm | OV bf16 ours | fast / OV f32 | "
    "fast bf16 / OV bf16 | L2 OV bf16 |",
    "|---|---|---|---|---|---|---|---|---|---|",
]


def row_key(record: InferenceRecord) -> str:
    return f"| {record.task} {record.size[0]}×{record.size[1]} | {record.arch.upper()} | {record.batch} |"


def speedup_cell(record: InferenceRecord, name: str) -> str:
    speedups = record.speedups
    return f"{speedups[name]:.2f}×" if name in speedups else "—"


def torch_row(record: InferenceRecord, figure: Dict[str, float]) -> str:
    """A row of the PyTorch table: timm eager's median, the speed-ups, the fast paths' rates and accuracy."""
    rate, low_rate = record.rate("fast"), record.rate("fast bf16")
    return (
        f"{row_key(record)} {record.median('timm eager') * 1e3:.0f} | "
        + " | ".join(speedup_cell(record, name) for name in ("ours eager", "fast", "fast bf16"))
        + f" | {speedup_cell(record, 'fast + compile')} | {speedup_cell(record, 'fast bf16 + compile')} | "
        f"{speedup_cell(record, 'timm + compile')} | "
        f"{rate:.1f} ({rate / figure['float32']:.2f}) | {low_rate:.1f} ({low_rate / figure['bfloat16']:.2f}) | "
        f"{record.difference:.1e} | {record.low_l2:.2%} |"
    )


def versus_openvino(record: InferenceRecord, ours_name: str, precision: str) -> str:
    """Speed-up of one of our runs over the faster of OpenVINO's two models in ``precision``."""
    names = [f"OV {precision} {source}" for source in ("ours", "timm")]
    if not all(name in record.times for name in names):
        return "—"
    best = min(names, key=record.median)
    return f"{median_ratio(record.times[best], record.times[ours_name]):.2f}×"


def openvino_row(record: InferenceRecord) -> str:
    """A row of the OpenVINO table: its speed-ups over timm eager and our fast paths against the faster model."""
    return (
        f"{row_key(record)} "
        + " | ".join(speedup_cell(record, f"OV {p} {s}") for p in OPENVINO_PRECISIONS for s in ("timm", "ours"))
        + f" | {versus_openvino(record, 'fast', 'f32')} | {versus_openvino(record, 'fast bf16', 'bf16')} | "
        f"{record.ov_l2:.2%} |"
    )


def inference_lines(records: List[InferenceRecord], figure: Dict[str, float], with_openvino: bool) -> list[str]:
    """The PyTorch table, the first-call (compile) seconds and, with OpenVINO, its table."""
    compile_notes = sorted(
        {
            f"{r.arch} {r.task} b{r.batch}: fast {seconds['fast']:.0f} s, fast bf16 {seconds['fast bf16']:.0f} s, "
            f"timm {seconds['timm']:.0f} s"
            for r in records
            if (seconds := r.compile_seconds)
        }
    )
    lines = TORCH_HEADER + [torch_row(record, figure) for record in records]
    if compile_notes:
        lines += ["", "First-call (compile) seconds: " + "; ".join(compile_notes) + "."]
    if with_openvino:
        lines += [""] + OPENVINO_HEADER + [openvino_row(record) for record in records]
    return lines


def inference_table(
    archs: List[str],
    batches: List[int],
    repeats: Dict[int, int],
    compile_archs: List[str],
    figure: Dict[str, float],
    threads: int,
    with_openvino: bool,
) -> tuple[list[str], List[InferenceRecord]]:
    """The inference tables' lines and records; each row printed as soon as it is measured."""
    records = []
    for record in measure_inference(archs, batches, repeats, compile_archs, threads, with_openvino):
        print(torch_row(record, figure), flush=True)
        if with_openvino:
            print(openvino_row(record), flush=True)
        records.append(record)
    return inference_lines(records, figure, with_openvino), records


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
        "… + bfloat16 (dtype=torch.bfloat16)": hrnet.optimize_for_inference(ours, dtype=torch.bfloat16),
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
    models = {
        "timm eager": timm_twin(ours, arch, features=True),
        "fast": hrnet.optimize_for_inference(ours),
        "fast bf16": hrnet.optimize_for_inference(ours, dtype=torch.bfloat16),
    }
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
def write_chart(records: List[InferenceRecord], path: Path, title: str) -> None:
    """Grouped bars: speed-up over timm eager of each variant, per (task, arch, batch)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [record.key for record in records]
    variants = [v for v in VARIANTS[1:] if any(v in record.speedups for record in records)]
    width = 0.8 / max(len(variants), 1)
    figure, axes = plt.subplots(figsize=(max(6.0, 1.1 * len(keys)), 4.0))
    for i, variant in enumerate(variants):
        values = [record.speedups.get(variant, 0.0) for record in records]
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
    with_openvino = not args.no_openvino
    figure_lines, figure = conv_figure(repeats[1] * 2, threads, with_openvino)
    lines += figure_lines + [""]
    table, records = inference_table(archs, batches, repeats, compile_archs, figure, threads, with_openvino)
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
    write_chart(records, RESULTS / f"speed_{tag}.png", f"HRNet CPU inference, {threads} thread(s)")
    lines += ["", f"![speed-ups]({f'speed_{tag}.png'})", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="W18 only, batch 1, fewer repeats")
    parser.add_argument("--threads", type=int, nargs="+", default=[2], help="torch intra-op thread counts")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (slow to compile)")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime table")
    parser.add_argument("--no-openvino", action="store_true", help="skip the OpenVINO columns")
    args = parser.parse_args(argv)
    if any(t < 1 for t in args.threads):
        parser.error(f"--threads must be >= 1, got {args.threads}")
    warnings.filterwarnings("ignore", category=UserWarning)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for threads in args.threads:
        lines = ["# HRNet CPU speed: `hrnet` (eager, fast path, compiled) vs timm at equal weights", ""]
        text = "\n".join(lines + run(args, threads)) + "\n"
        publish(text, RESULTS / f"speed_{'quick' if args.quick else 'full'}_{threads}t.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
