"""The inference fast path, ``hrnet.optimize_for_inference``: the same outputs as the plain network and as timm,
with less work."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from helpers import as_list, max_rel_diff, needs_timm, randomize_norm_stats, relative_l2
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

import hrnet
from hrnet import fast
from hrnet.complexity import GIGA
from hrnet.fast import batched_fusion, packing

HEADS = [None, "v1", "v1h", "v2", "v2p", "cls"]
SIZES = [(64, 64), (97, 131), (33, 47)]
TOLERANCE = 1e-5  # max |fused − plain| / max |plain|, float32 (measured: at most 3.1e-6)


def assert_same_outputs(fused: nn.Module, reference: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        ours, ref = as_list(fused(x)), as_list(reference(x))
    assert len(ours) == len(ref)
    for mine, theirs in zip(ours, ref):
        assert mine.shape == theirs.shape
        assert max_rel_diff(mine, theirs) <= TOLERANCE


@pytest.fixture(scope="module")
def plain_models() -> dict:
    torch.manual_seed(0)
    return {
        (head, up): randomize_norm_stats(hrnet.HRNet("w18_small", head=head, upsample=up)).eval()
        for head in HEADS
        for up in ("nearest", "bilinear")
    }


# --------------------------------------------------------------------------------------------- equal outputs
@pytest.mark.parametrize("upsample", ["nearest", "bilinear"])
@pytest.mark.parametrize("head", HEADS)
def test_fused_equals_plain_model_at_any_size(plain_models: dict, head: str | None, upsample: str) -> None:
    model = plain_models[(head, upsample)]
    fused = hrnet.optimize_for_inference(model)
    for h, w in SIZES:
        assert_same_outputs(fused, model, torch.randn(2, 3, h, w))


@pytest.mark.parametrize("output_stride", [16, 8])
@pytest.mark.parametrize("head", [None, "v2", "cls"])
def test_optimized_equals_plain_model_at_output_stride(head: str | None, output_stride: int) -> None:
    """Dilated lowest branches: their batched first down steps are stride-1 and dilated, sizes no longer halve."""
    torch.manual_seed(0)
    model = randomize_norm_stats(hrnet.HRNet("w18_small", head=head, output_stride=output_stride)).eval()
    optimized = hrnet.optimize_for_inference(model)
    for h, w in [(64, 64), (97, 131)]:
        assert_same_outputs(optimized, model, torch.randn(2, 3, h, w))


@pytest.mark.parametrize(
    "options",
    [
        dict(batch=False),
        dict(channels_last=False),
        dict(pack=False),
        dict(batch=False, channels_last=False),
    ],
)
@pytest.mark.parametrize("head", ["v2p", "cls"])
def test_each_step_alone_keeps_outputs(plain_models: dict, head: str, options: dict) -> None:
    model = plain_models[(head, "bilinear")]
    assert_same_outputs(hrnet.optimize_for_inference(model, **options), model, torch.randn(1, 3, 97, 131))


def timm_twin(model: hrnet.HRNet, features: bool) -> nn.Module:
    """timm's own class (not the registry entry this package replaces), loaded with the same weights."""
    from timm.models import hrnet as timm_hrnet

    cfg = timm_hrnet.cfg_cls["hrnet_w18_small"]
    if features:
        twin = timm_hrnet.HighResolutionNetFeatures(cfg, feature_location="", out_indices=(1, 2, 3, 4))
    else:
        twin = timm_hrnet.HighResolutionNet(cfg)
    twin.load_state_dict(model.state_dict(), strict=True)
    return twin.eval()


@needs_timm
@pytest.mark.parametrize("head", [None, "cls"])
def test_fused_equals_timm(plain_models: dict, head: str | None) -> None:
    """At sizes timm supports (multiples of 32), the fused network computes timm's outputs."""
    model = plain_models[(head, "nearest")]
    fused, twin = hrnet.optimize_for_inference(model), timm_twin(model, features=head is None)
    for h, w in [(224, 224), (256, 192)]:
        assert_same_outputs(fused, twin, torch.randn(2, 3, h, w))


@pytest.mark.parametrize(
    "variant",
    [dict(fusion="across"), dict(fusion_op="mul"), dict(fusion_downsample="bilinear"), dict(streams="parallel")],
)
def test_fused_ablations_keep_outputs(variant: dict) -> None:
    torch.manual_seed(0)
    model = randomize_norm_stats(hrnet.HRNet("w18_small", head="v1", **variant)).eval()
    assert_same_outputs(hrnet.optimize_for_inference(model), model, torch.randn(1, 3, 97, 131))


# --------------------------------------------------------------------------------------------- less work
def conv_calls(model: nn.Module, x: torch.Tensor) -> int:
    """Number of convolution layers that run in one forward."""
    calls = 0

    def count(*_: object) -> None:
        nonlocal calls
        calls += 1

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return calls


@pytest.mark.parametrize("head", [None, "v1"])
def test_fused_network_has_no_norm_and_fewer_convolutions(head: str | None) -> None:
    """§3.2's fusion of n branches runs n(n-1)/2 1×1 convs (x > r) and Σ_{x<r} (r − x) 3×3 convs (x < r).
    Batched per source branch, it runs n − 1 up convs, n − 1 first down steps and the Σ_{x<r} (r − x − 1) later
    steps: (n − 1)(n − 2) fewer. The last V1 module fuses into one output, where batching saves nothing."""
    model = hrnet.HRNet("w32", head=head).eval()
    fused = hrnet.optimize_for_inference(model)
    assert not any(isinstance(m, _BatchNorm) for m in fused.modules())
    assert any(isinstance(m, _BatchNorm) for m in model.modules()), "the original model must stay untouched"
    spec = hrnet.ARCHS["w32"]
    saved = 0
    for index, stage in enumerate(spec.stages[1:], start=1):
        n = stage.num_branches
        full_modules = stage.num_modules - (1 if head == "v1" and index == 3 else 0)
        saved += full_modules * (n - 1) * (n - 2)
    x = torch.randn(1, 3, 64, 64)
    assert conv_calls(model, x) - conv_calls(fused, x) == saved


def test_v2_heads_project_before_resizing() -> None:
    """V2's 15C → 15C 1×1 conv at 1/4 becomes C, 2C, 4C, 8C → 15C at 1/4 … 1/32 (V2p: → 256); batching the
    fusions keeps every multiply-add of the trunk."""
    c, h, w = 16, 64, 64
    areas = [(h // 4 >> i) * (w // 4 >> i) for i in range(4)]
    for head, out_channels in (("v2", 15 * c), ("v2p", 256)):
        model = hrnet.HRNet("w18_small", head=head).eval()
        _, plain = hrnet.complexity(model, (h, w))
        _, fused = hrnet.complexity(hrnet.optimize_for_inference(model), (h, w))
        concat = 15 * c * out_channels * areas[0]
        per_branch = sum(c * 2**i * out_channels * area for i, area in enumerate(areas))
        assert (plain - fused) * GIGA == pytest.approx(concat - per_branch, rel=1e-9)
    trunk = hrnet.HRNet("w18_small").eval()
    optimized = hrnet.optimize_for_inference(trunk)
    assert hrnet.complexity(optimized, (h, w))[1] == pytest.approx(hrnet.complexity(trunk, (h, w))[1])


def test_nearest_terms_are_summed_from_the_lowest_resolution_where_exact(
    plain_models: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When every branch is exactly half the one above, each resize in a fusion doubles (and outputs stay
    equal); otherwise terms are resized straight to the output size, as in the plain network."""
    model = plain_models[(None, "nearest")]
    fused = hrnet.optimize_for_inference(model)
    calls: list[tuple[int, int]] = []

    def recording_resize(x: torch.Tensor, size: list[int], mode: str, align_corners: bool = False) -> torch.Tensor:
        calls.append((size[0] // x.shape[-2], size[1] // x.shape[-1]))
        return fast_resize(x, size, mode, align_corners)

    fast_resize = batched_fusion.resize
    monkeypatch.setattr(batched_fusion, "resize", recording_resize)
    for (h, w), nested in (((64, 128), True), ((97, 131), False)):
        calls.clear()
        assert_same_outputs(fused, model, torch.randn(1, 3, h, w))
        assert calls and all(ratio == (2, 2) for ratio in calls) == nested


# --------------------------------------------------------------------------------------------- packed oneDNN
def operator_names(model: nn.Module, x: torch.Tensor) -> set[str]:
    from torch.profiler import profile

    with torch.inference_mode(), profile() as prof:
        model(x)
    return {event.name for event in prof.events()}


def test_packed_convolutions_run_in_onednn_with_fused_relu_and_shortcut(plain_models: dict) -> None:
    """Every convolution of the packed network is one oneDNN call (no aten convolution, no separate ReLU after
    a convolution); residual units end in one call that also adds the shortcut."""
    assert fast.onednn_pointwise_available(), "this PyTorch lacks oneDNN's fused convolution (torch.ops.mkldnn)"
    model = plain_models[(None, "nearest")]
    x = torch.randn(1, 3, 64, 48)
    names = operator_names(hrnet.optimize_for_inference(model), x)
    assert "mkldnn::_convolution_pointwise" in names
    assert not {"aten::convolution", "aten::_convolution", "aten::mkldnn_convolution"} & names
    assert "aten::convolution" in operator_names(hrnet.optimize_for_inference(model, pack=False), x)
    fused = hrnet.optimize_for_inference(model)
    units = [m for m in fused.modules() if isinstance(m, fast.PackedUnit)]
    assert len(units) == sum(s.num_modules * sum(s.num_blocks) for s in hrnet.ARCHS["w18_small"].stages)
    for unit in units:  # ReLU inside every conv but the last, which adds the shortcut (and then applies ReLU)
        convs = [unit.conv1, unit.conv2] + ([unit.conv3] if unit.conv3 is not None else [])
        assert all(conv.relu for conv in convs[:-1]) and not convs[-1].relu


def test_packed_weights_follow_batch_size_layout_and_weight_changes(plain_models: dict) -> None:
    """The reordered weight is made on the first call; other batch sizes and sizes reuse it, and it is made
    again when the weight changes in place. Maps stay channels-last."""
    model = plain_models[("v1", "nearest")]
    packed, unpacked = hrnet.optimize_for_inference(model), hrnet.optimize_for_inference(model, pack=False)
    for batch, (h, w) in [(1, (64, 48)), (3, (97, 131)), (2, (33, 47))]:
        x = torch.randn(batch, 3, h, w)
        assert_same_outputs(packed, model, x)
        assert packed(x)[0].is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        for fused in (packed, unpacked):
            fused.transition1[0][0].weight.mul_(1.5)
    x = torch.randn(1, 3, 64, 48)
    assert_same_outputs(packed, unpacked, x)
    assert max_rel_diff(packed(x)[0], model(x)[0]) > 10 * TOLERANCE
    with pytest.raises(ValueError, match="channels_last"):
        hrnet.optimize_for_inference(model, channels_last=False, pack=True)
    unpacked = hrnet.optimize_for_inference(model, channels_last=False)
    assert not any(isinstance(m, fast.PackedConv2d) for m in unpacked.modules())


def test_packed_model_copies_pickles_and_scripts(plain_models: dict) -> None:
    import copy
    import io

    model = plain_models[("v2p", "nearest")]
    packed = hrnet.optimize_for_inference(model)
    x = torch.randn(1, 3, 97, 131)
    assert_same_outputs(packed, model, x)  # packs every weight
    buffer = io.BytesIO()
    torch.save(packed, buffer)
    buffer.seek(0)
    for twin in (copy.deepcopy(packed), torch.load(buffer, weights_only=False), torch.jit.script(packed)):
        assert_same_outputs(twin, model, x)
        assert_same_outputs(twin, model, torch.randn(1, 3, 64, 128))  # sizes that halve exactly: nested sums
    assert set(packed.state_dict()) == set(hrnet.optimize_for_inference(model, pack=False).state_dict())


def test_packed_model_falls_back_where_onednn_cannot_serve(plain_models: dict) -> None:
    """Autocast, gradients w.r.t. the input and float64 run the same network as ordinary convolutions."""
    model = plain_models[("v2", "bilinear")]
    packed = hrnet.optimize_for_inference(model)
    x = torch.randn(1, 3, 64, 48)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = packed(x)[0]
    assert low.dtype == torch.bfloat16 and torch.isfinite(low).all()
    x.requires_grad_(True)
    packed(x)[0].sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    double = hrnet.optimize_for_inference(model.double())
    try:
        assert_same_outputs(double, model, x.detach().double())
    finally:
        model.float()


# --------------------------------------------------------------------------------------------- behaviour
def test_optimize_copies_by_default_and_freezes(plain_models: dict) -> None:
    model = plain_models[("v1", "nearest")]
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        before = model(x)[0]
    fused = hrnet.optimize_for_inference(model)
    assert fused is not model and not fused.training
    assert not any(p.requires_grad for p in fused.parameters())
    assert fused.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.equal(model(x)[0], before)
        assert max_rel_diff(fused(x)[0], before) <= TOLERANCE


def test_optimize_in_place() -> None:
    torch.manual_seed(0)
    model = randomize_norm_stats(hrnet.HRNet("w18_small", head="v2")).eval()
    reference = hrnet.optimize_for_inference(model)
    assert hrnet.optimize_for_inference(model, inplace=True) is model
    assert_same_outputs(model, reference, torch.randn(1, 3, 64, 64))


def test_optimizing_twice_changes_nothing(plain_models: dict) -> None:
    model = plain_models[("v2p", "bilinear")]
    fused = hrnet.optimize_for_inference(model)
    twice = hrnet.optimize_for_inference(fused)
    assert [type(m) for m in twice.modules()] == [type(m) for m in fused.modules()]
    assert_same_outputs(twice, model, torch.randn(1, 3, 97, 131))


def test_optimized_model_composes_with_torch_compile(plain_models: dict) -> None:
    """Traced whole (no graph breaks) and functionalized by torch.compile; eager kernels keep the test fast."""
    model = plain_models[("v2p", "nearest")]
    compiled = torch.compile(hrnet.optimize_for_inference(model), backend="aot_eager", fullgraph=True)
    assert_same_outputs(compiled, model, torch.randn(1, 3, 97, 131))


@pytest.mark.parametrize(
    "model, message",
    [
        (nn.Conv2d(3, 8, 3), "hrnet.HRNet"),
        (hrnet.HRNet("w18_small", norm_layer=lambda c: nn.GroupNorm(1, c)), "BatchNorm"),
        (hrnet.HRNet("w18_small", norm_layer=lambda c: nn.BatchNorm2d(c, track_running_stats=False)), "running"),
    ],
)
def test_optimize_rejects_what_it_cannot_fold(model: nn.Module, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hrnet.optimize_for_inference(model)


@needs_timm
def test_subclasses_with_their_own_forward_are_rewritten_module_by_module() -> None:
    """The rewrites replace modules, never a forward: timm's features_only model keeps its own forward."""
    from hrnet.timm_models import HRNetFeatures

    torch.manual_seed(0)
    model = randomize_norm_stats(HRNetFeatures("w18_small")).eval()
    assert_same_outputs(hrnet.optimize_for_inference(model), model, torch.randn(1, 3, 97, 131))


# --------------------------------------------------------------------------------------------- bfloat16
BF16_TOLERANCE = 0.02  # relative L2 of each output against float32 (measured: at most 1.2 %)
NEEDS_BF16 = pytest.mark.skipif(
    torch.bfloat16 not in packing.packed_dtypes(),
    reason="this CPU has no bfloat16 instructions for oneDNN (AVX-512 BF16)",
)


def assert_close_in_bfloat16(low: nn.Module, reference: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        ours, ref = as_list(low(x)), as_list(reference(x))
    assert len(ours) == len(ref)
    for mine, theirs in zip(ours, ref):
        assert mine.dtype == torch.float32 and mine.shape == theirs.shape
        assert relative_l2(mine, theirs) <= BF16_TOLERANCE


@pytest.mark.parametrize("up", ["nearest", "bilinear"])
@pytest.mark.parametrize("head", HEADS)
def test_bfloat16_fast_path_is_close_to_float32(plain_models: dict, head: str | None, up: str) -> None:
    """float32 in and out, bfloat16 inside: every head, both upsample modes, odd sides and sides that halve."""
    model = plain_models[(head, up)]
    low = hrnet.optimize_for_inference(model, dtype=torch.bfloat16)
    assert all(p.dtype == torch.bfloat16 for p in low.parameters())
    for batch, (h, w) in [(2, (97, 131)), (1, (64, 64)), (1, (33, 47))]:
        assert_close_in_bfloat16(low, model, torch.randn(batch, 3, h, w))


@NEEDS_BF16
def test_bfloat16_convolutions_take_the_packed_route(plain_models: dict, monkeypatch) -> None:
    """Every convolution runs once per call as one packed oneDNN call on bfloat16 maps; no aten convolution."""
    model = plain_models[("v2", "bilinear")]
    low = hrnet.optimize_for_inference(model, dtype=torch.bfloat16)
    seen: list[tuple[nn.Module, torch.dtype]] = []
    run_packed = fast.PackedConv2d.run_packed

    def recording(self, x, shortcut):
        seen.append((self, x.dtype))
        return run_packed(self, x, shortcut)

    monkeypatch.setattr(fast.PackedConv2d, "run_packed", recording)
    x = torch.randn(1, 3, 64, 48)
    names = operator_names(low, x)
    convs = [m for m in low.modules() if isinstance(m, fast.PackedConv2d)]
    assert len(seen) == len(convs) and {id(m) for m, _ in seen} == {id(m) for m in convs}
    assert {dtype for _, dtype in seen} == {torch.bfloat16}
    assert not {"aten::convolution", "aten::_convolution", "aten::mkldnn_convolution"} & names


def test_bfloat16_falls_back_to_ordinary_convolutions(plain_models: dict, monkeypatch) -> None:
    """Without oneDNN bfloat16 instructions, and under autograd, the same bfloat16 network runs unpacked."""
    model = plain_models[("v1", "nearest")]
    low = hrnet.optimize_for_inference(model, dtype=torch.bfloat16)
    x = torch.randn(1, 3, 64, 48)
    monkeypatch.setattr(packing, "packed_dtypes", lambda: (torch.float32,))
    assert "aten::convolution" in operator_names(low, x)
    assert_close_in_bfloat16(low, model, x)
    monkeypatch.undo()
    x.requires_grad_(True)
    low(x)[0].sum().backward()
    assert x.grad is not None and x.grad.dtype == torch.float32 and x.grad.abs().sum() > 0


def test_importing_the_package_probes_nothing() -> None:
    """``import hrnet`` asks neither PyTorch's private operators nor the CPU anything: the packed route's probe
    runs on the first packed call (a fresh interpreter, where no test has called it yet)."""
    code = (
        "import torch\n"
        "import hrnet\n"
        "from hrnet.fast import packing\n"
        "assert packing.packed_dtypes.cache_info().currsize == 0, 'probed at import'\n"
        "fast = hrnet.optimize_for_inference(hrnet.HRNet('w18_small', head=None).eval())\n"
        "assert packing.packed_dtypes.cache_info().currsize == 0, 'probed while optimizing'\n"
        "with torch.no_grad():\n"
        "    fast(torch.randn(1, 3, 64, 64))\n"
        "assert packing.packed_dtypes.cache_info().currsize == 1, 'the first packed call did not probe'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_without_onednn_pieces_the_packed_network_runs_ordinary_convolutions(plain_models: dict, monkeypatch) -> None:
    """Where this PyTorch lacks a private piece of the packed route (the capability probe says so), the same
    packed modules compute with aten convolutions, equal to the eager model; the probe answers from what exists."""
    assert fast.onednn_pointwise_available() == bool(packing.packed_dtypes())
    model = plain_models[("v2", "nearest")]
    packed = hrnet.optimize_for_inference(model)
    x = torch.randn(2, 3, 61, 47)
    monkeypatch.setattr(packing, "packed_dtypes", lambda: ())
    assert "mkldnn::_convolution_pointwise" not in operator_names(packed, x)
    with torch.no_grad():
        for ours, ref in zip(as_list(packed(x)), as_list(model(x)), strict=True):
            assert max_rel_diff(ours, ref) <= TOLERANCE
    monkeypatch.delattr(torch._C._nn, "mkldnn_reorder_conv2d_weight")
    assert not fast.onednn_pointwise_available()


def test_bfloat16_model_copies_pickles_and_reoptimizes(plain_models: dict) -> None:
    """The float32 boundary travels with copies and pickles, and optimizing again adds no second cast."""
    import copy
    import io

    model = plain_models[("cls", "nearest")]
    low = hrnet.optimize_for_inference(model, dtype=torch.bfloat16)
    buffer = io.BytesIO()
    torch.save(low, buffer)
    buffer.seek(0)
    x = torch.randn(2, 3, 64, 64)
    again = hrnet.optimize_for_inference(low, dtype=torch.bfloat16)
    assert len(again._forward_pre_hooks) == len(again._forward_hooks) == 1
    for twin in (copy.deepcopy(low), torch.load(buffer, weights_only=False), again):
        assert_close_in_bfloat16(twin, model, x)
    back = hrnet.optimize_for_inference(low, dtype=torch.float32)  # bfloat16-rounded weights, float32 compute
    assert not back._forward_pre_hooks and not back._forward_hooks
    assert_close_in_bfloat16(back, model, x)


def test_bfloat16_model_composes_with_torch_compile(plain_models: dict) -> None:
    model = plain_models[("v2p", "nearest")]
    low = torch.compile(hrnet.optimize_for_inference(model, dtype=torch.bfloat16), backend="aot_eager", fullgraph=True)
    assert_close_in_bfloat16(low, model, torch.randn(1, 3, 97, 131))


def test_optimize_rejects_other_dtypes(plain_models: dict) -> None:
    with pytest.raises(ValueError, match="dtype must be one of"):
        hrnet.optimize_for_inference(plain_models[("v1", "nearest")], dtype=torch.float16)
