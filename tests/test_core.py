"""The core network against the paper's definition: specs, heads, any input size, errors, controls."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from helpers import frozen_prefixes, max_rel_diff, randomize_norm_stats
from torch import nn

import hrnet
from hrnet.fusion import MultiResolutionFusion
from hrnet.module import HighResolutionModule

# --------------------------------------------------------------------------------------------- specs
# (stage-1 bottlenecks, stage-1 width, modules of stages 2-4, units per branch, C), from the paper (§3.4) and the
# official small-model configurations (reference.md).
PAPER_SPECS = {
    "w18_small": (1, 32, (1, 1, 1), 2, 16),
    "w18_small_v2": (2, 64, (1, 3, 2), 2, 18),
    **{f"w{c}": (4, 64, (1, 4, 3), 4, c) for c in (18, 30, 32, 40, 44, 48, 64)},
}


@pytest.mark.parametrize("name", sorted(PAPER_SPECS))
def test_spec_matches_paper(name: str) -> None:
    blocks1, width1, modules, blocks, c = PAPER_SPECS[name]
    spec = hrnet.ARCHS[name]
    s1, *later = spec.stages
    assert (s1.num_modules, s1.num_blocks, s1.num_channels, s1.block) == (1, (blocks1,), (width1,), "bottleneck")
    for stage, num_modules, branches in zip(later, modules, (2, 3, 4)):
        assert stage.block == "basic"
        assert stage.num_modules == num_modules
        assert stage.num_blocks == (blocks,) * branches
        assert stage.num_channels == tuple(c * 2**i for i in range(branches))
    assert spec.width == c and spec.stem_width == 64


def test_specs_are_frozen_and_complete() -> None:
    assert sorted(hrnet.ARCHS) == sorted(PAPER_SPECS)
    with pytest.raises(AttributeError):
        hrnet.ARCHS["w32"].stem_width = 32  # type: ignore[misc]


# --------------------------------------------------------------------------------------------- heads and sizes
def halved(size: int, times: int) -> int:
    for _ in range(times):
        size = math.ceil(size / 2)
    return size


def expected_shapes(head: str | None, arch: str, h: int, w: int) -> list[tuple[int, ...]]:
    c = hrnet.ARCHS[arch].width
    branches = [(c * 2**i, halved(h, i + 2), halved(w, i + 2)) for i in range(4)]
    if head is None:
        return branches
    if head == "v1":
        return branches[:1]
    if head in ("v1h", "v2"):
        return [(15 * c, branches[0][1], branches[0][2])]
    if head == "v2p":
        h4, w4 = branches[0][1:]
        return [(256, max(1, h4 // 2**i), max(1, w4 // 2**i)) for i in range(5)]
    raise AssertionError(head)


@pytest.fixture(scope="module")
def small_models() -> dict:
    torch.manual_seed(0)
    return {
        (head, up): randomize_norm_stats(hrnet.HRNet("w18_small", head=head, upsample=up)).eval()
        for head in (None, "v1", "v1h", "v2", "v2p", "cls")
        for up in ("nearest", "bilinear")
    }


SIZES = [(32, 32), (97, 131), (473, 473), (64, 48), (33, 65)]


@pytest.mark.parametrize("upsample", ["nearest", "bilinear"])
@pytest.mark.parametrize("head", [None, "v1", "v1h", "v2", "v2p", "cls"])
def test_every_head_any_size(small_models: dict, head: str | None, upsample: str) -> None:
    model = small_models[(head, upsample)]
    for h, w in SIZES:
        with torch.no_grad():
            out = model(torch.randn(1, 3, h, w))
        if head == "cls":
            assert out.shape == (1, 1000)
            assert torch.isfinite(out).all()
            continue
        assert [tuple(t.shape[1:]) for t in out] == expected_shapes(head, "w18_small", h, w), (h, w)
        assert all(torch.isfinite(t).all() for t in out)


def test_v1_last_module_fuses_only_into_high_resolution() -> None:
    v1 = hrnet.HRNet("w32", head="v1")
    full = hrnet.HRNet("w32")
    assert len(v1.stage4[-1].fuse_layers) == 1 and len(full.stage4[-1].fuse_layers) == 4
    assert all(len(m.fuse_layers) == 4 for m in v1.stage4[:-1])


def test_v2_head_is_bilinear_concat_then_1x1_bn_relu(small_models: dict) -> None:
    """Whatever the fusion upsampling, V2's concat is bilinear (align_corners=False), as in the paper."""
    model = small_models[("v2", "nearest")]
    x = torch.randn(2, 3, 97, 131)
    with torch.no_grad():
        branches = model.forward_trunk(x)
        size = branches[0].shape[-2:]
        cat = torch.cat(
            [branches[0]] + [F.interpolate(b, size=size, mode="bilinear", align_corners=False) for b in branches[1:]],
            dim=1,
        )
        conv, bn = model.head.proj[0], model.head.proj[1]
        expected = F.relu(F.batch_norm(conv(cat), bn.running_mean, bn.running_var, bn.weight, bn.bias, eps=bn.eps))
        (out,) = model(x)
    assert max_rel_diff(out, expected) <= 1e-5


def test_v2p_head_follows_the_detection_pyramid(small_models: dict) -> None:
    """Bilinear concat, 1×1 reduction, average pooling by 2^i (floored), one 3×3 conv per level."""
    model = small_models[("v2p", "nearest")]
    x = torch.randn(1, 3, 256, 320)
    with torch.no_grad():
        branches = model.forward_trunk(x)
        size = branches[0].shape[-2:]
        cat = torch.cat([branches[0]] + [F.interpolate(b, size=size, mode="bilinear") for b in branches[1:]], 1)
        reduced = model.head.reduction_conv(cat)
        levels = [reduced] + [F.avg_pool2d(reduced, 2**i, 2**i) for i in range(1, 5)]
        expected = [conv(level) for conv, level in zip(model.head.fpn_convs, levels)]
        out = model(x)
    assert len(out) == 5
    for ours, ref in zip(out, expected):
        assert ours.shape == ref.shape and max_rel_diff(ours, ref) <= 1e-5


def test_v1h_is_15c_projection_of_v1() -> None:
    torch.manual_seed(0)
    v1h = hrnet.HRNet("w18_small", head="v1h").eval()
    v1 = hrnet.HRNet("w18_small", head="v1").eval()
    missing, unexpected = v1.load_state_dict(v1h.state_dict(), strict=False)
    assert not missing and set(unexpected) == {k for k in v1h.state_dict() if k.startswith("head.")}
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        (high,) = v1(x)
        (out,) = v1h(x)
        expected = v1h.head.proj(high)
    assert out.shape[1] == 15 * 16 and max_rel_diff(out, expected) <= 1e-6


def test_fusion_resizes_to_the_exact_target_size() -> None:
    """Lower branches of odd-sized maps (e.g. 4 → 7) are upsampled to the target size, not by 2×."""
    fusion = MultiResolutionFusion([4, 8], upsample="nearest").eval()
    high, low = torch.randn(1, 4, 7, 9), torch.randn(1, 8, 4, 5)
    with torch.no_grad():
        out_high, out_low = fusion([high, low])
        up = fusion[0][1]
        expected_high = F.relu(high + F.interpolate(up[1](up[0](low)), size=(7, 9), mode="nearest"))
        down = fusion[1][0]
        expected_low = F.relu(down[0][1](down[0][0](high)) + low)
    assert max_rel_diff(out_high, expected_high) <= 1e-6
    assert max_rel_diff(out_low, expected_low) <= 1e-6


def reference_fusion(fusion: MultiResolutionFusion, xs: list[torch.Tensor], mode: str, align_corners: bool) -> list:
    """§3.2 written out from the fusion's weights (eval-mode BN): output r = ReLU(Σ_x f_xr(x)); for x > r a 1×1
    conv + BN, then one resize straight to r's size; for x < r, r − x stride-2 3×3 conv + BN, ReLU between."""

    def norm(y: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
        return F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)

    outputs = []
    for r, row in enumerate(fusion):
        size = xs[r].shape[-2:]
        total = torch.zeros_like(xs[r])
        for x, transform in enumerate(row):
            if x == r:
                term = xs[x]
            elif x > r:
                term = norm(F.conv2d(xs[x], transform[0].weight), transform[1])
                options = {} if mode == "nearest" else dict(align_corners=align_corners)
                term = F.interpolate(term, size=tuple(size), mode=mode, **options)
            else:
                term = xs[x]
                for step, (conv, bn, *_) in enumerate(transform):
                    term = norm(F.conv2d(term, conv.weight, stride=2, padding=1), bn)
                    term = term if step == len(transform) - 1 else F.relu(term)
            total = total + term
        outputs.append(F.relu(total))
    return outputs


@pytest.mark.parametrize(
    "mode, align_corners", [("nearest", False), ("bilinear", False), ("bilinear", True)], ids=["nearest", "bilinear",
    "bilinear-align-corners"],
)  # fmt: skip
def test_fusion_at_odd_sizes_equals_the_paper_formula(mode: str, align_corners: bool) -> None:
    """The branches of a 193×261 input (49×66, 25×33, 13×17, 7×9): no side halves exactly, so any shortcut (a fixed
    scale factor and a crop, stepwise doubling, ignoring align_corners) changes the values."""
    torch.manual_seed(0)
    channels = [4, 8, 16, 32]
    fusion = MultiResolutionFusion(channels, upsample=mode, align_corners=align_corners)
    fusion = randomize_norm_stats(fusion).eval()
    sizes = [(49, 66), (25, 33), (13, 17), (7, 9)]
    xs = [torch.randn(1, c, *size) for c, size in zip(channels, sizes)]
    with torch.no_grad():
        ours, expected = fusion(xs), reference_fusion(fusion, xs, mode, align_corners)
    for a, b in zip(ours, expected):
        assert a.shape == b.shape and max_rel_diff(a, b) <= 1e-6


def test_align_corners_reaches_every_resize_of_the_network() -> None:
    """``align_corners=True`` (the official OCR models) changes the outputs of a bilinear network at equal weights,
    in the fusions and in the V2 head's concatenation."""
    torch.manual_seed(0)
    plain = randomize_norm_stats(hrnet.HRNet("w18_small", head="v2", upsample="bilinear")).eval()
    aligned = hrnet.HRNet("w18_small", head="v2", upsample="bilinear", align_corners=True).eval()
    aligned.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 97, 131)
    with torch.no_grad():
        branches_plain, branches_aligned = plain.forward_trunk(x), aligned.forward_trunk(x)
        assert max_rel_diff(branches_aligned[0], branches_plain[0]) > 1e-3  # the fusions
        head_plain, head_aligned = plain.head(branches_aligned), aligned.head(branches_aligned)
        assert max_rel_diff(head_aligned[0], head_plain[0]) > 1e-3  # the head, on the same branch maps


# --------------------------------------------------------------------------------------------- the §7 ablations
def count_fusions(model: hrnet.HRNet) -> int:
    return sum(1 for m in model.modules() if isinstance(m, HighResolutionModule) and m.fuse_layers is not None)


def test_fusion_scopes_of_table_12() -> None:
    """(c) within: all 8 fusions; (b) across: the 3 at stage ends; (a) final: only the last one."""
    assert count_fusions(hrnet.HRNet("w32", fusion="within")) == 8
    assert count_fusions(hrnet.HRNet("w32", fusion="across")) == 3
    final = hrnet.HRNet("w32", fusion="final")
    assert count_fusions(final) == 1 and final.stage4[-1].fuse_layers is not None
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert [t.shape for t in final.eval()(x)] == [t.shape for t in hrnet.HRNet("w32").eval()(x)]


def test_bilinear_downsampling_variant() -> None:
    """Each lower target gets a bilinear resize + 1×1 conv + BN instead of a chain of strided convs."""
    fusion = MultiResolutionFusion([4, 8, 16], downsample="bilinear").eval()
    xs = [torch.randn(1, 4, 12, 12), torch.randn(1, 8, 6, 6), torch.randn(1, 16, 3, 3)]

    def down(source: int) -> torch.Tensor:
        step = fusion[2][source]
        assert len(step) == 1 and step[0][0].kernel_size == (1, 1)
        resized = F.interpolate(xs[source], size=(3, 3), mode="bilinear", align_corners=False)
        return step[0][1](step[0][0](resized))

    with torch.no_grad():
        out = fusion(xs)
        expected = F.relu(down(0) + down(1) + xs[2])
    assert max_rel_diff(out[2], expected) <= 1e-6


def test_multiplicative_fusion_variant() -> None:
    fusion = MultiResolutionFusion([4, 8], op="mul").eval()
    high, low = torch.randn(1, 4, 8, 8), torch.randn(1, 8, 4, 4)
    with torch.no_grad():
        out_high, _ = fusion([high, low])
        up = fusion[0][1]
        expected = F.relu(high * F.interpolate(up[1](up[0](low)), size=(8, 8), mode="nearest"))
    assert max_rel_diff(out_high, expected) <= 1e-6


def test_all_streams_from_the_start_variant() -> None:
    model = hrnet.HRNet("w18_small", streams="parallel").eval()
    assert len(model.transition1) == 4
    assert [len(model.stage2[0].branches), len(model.stage3[0].branches)] == [4, 4]
    assert len(model.transition1[3]) == 3  # 1/4 → 1/32 in three stride-2 steps
    x = torch.randn(1, 3, 97, 64)
    with torch.no_grad():
        assert [tuple(t.shape[1:]) for t in model(x)] == expected_shapes(None, "w18_small", 97, 64)


# --------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "x, message",
    [
        (torch.randn(3, 64, 64), "expected a 4-D tensor (N, C, H, W)"),
        (torch.randn(1, 1, 3, 64, 64), "expected a 4-D tensor (N, C, H, W)"),
        (torch.randn(1, 4, 64, 64), "expected 3 input channels"),
        (torch.randint(0, 255, (1, 3, 64, 64), dtype=torch.uint8), "expected a floating-point tensor"),
        ([1, 2, 3], "expected a torch.Tensor"),
    ],
)
def test_bad_input_is_a_clear_error(small_models: dict, x, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        small_models[(None, "nearest")](x)


def test_channel_count_follows_in_chans() -> None:
    model = hrnet.HRNet("w18_small", in_chans=1).eval()
    with torch.no_grad():
        model(torch.randn(1, 1, 64, 64))
    with pytest.raises(ValueError, match="expected 1 input channels"):
        model(torch.randn(1, 3, 64, 64))


@pytest.mark.parametrize(
    "kwargs, names",
    [
        (dict(arch="w33"), ["w18_small", "w64"]),
        (dict(head="v3"), ["v1", "v2p", "cls"]),
        (dict(upsample="bicubic"), ["nearest", "bilinear"]),
        (dict(fusion="some"), ["within", "across", "final"]),
        (dict(fusion_downsample="pool"), ["conv", "bilinear"]),
        (dict(fusion_op="max"), ["sum", "mul"]),
        (dict(streams="x"), ["progressive", "parallel"]),
        (dict(norm_layer="ln"), ["bn", "syncbn"]),
        (dict(global_pool="median", head="cls"), ["avg", "max"]),
        (dict(frozen_stages=7), ["-1, 4"]),
    ],
)
def test_bad_option_lists_the_valid_values(kwargs: dict, names: list[str]) -> None:
    kwargs.setdefault("arch", "w18_small")
    with pytest.raises(ValueError) as info:
        hrnet.HRNet(**kwargs)
    for name in names:
        assert name in str(info.value)


# --------------------------------------------------------------------------------------------- backbone controls
def batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@pytest.mark.parametrize("frozen", [0, 1, 2, 3, 4])
def test_frozen_stages_get_no_gradients_and_keep_statistics(frozen: int) -> None:
    model = hrnet.HRNet("w18_small", head="v2", frozen_stages=frozen)
    model.train()
    prefixes = frozen_prefixes(frozen)
    before = {k: v.clone() for k, v in model.state_dict().items() if "running_mean" in k}
    (out,) = model(torch.randn(2, 3, 64, 64))
    out.mean().backward()
    for name, param in model.named_parameters():
        if name.startswith(prefixes):
            assert not param.requires_grad and param.grad is None, name
        else:
            assert param.requires_grad and param.grad is not None, name
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            assert module.training == (not f"{name}.".startswith(prefixes)), name
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    frozen_keys = {k for k in before if k.startswith(prefixes)}
    assert frozen_keys and not (changed & frozen_keys)
    assert changed - frozen_keys, "unfrozen BN statistics must still update"


def test_norm_eval_keeps_every_bn_in_eval() -> None:
    model = hrnet.HRNet("w18_small", head="v1", norm_eval=True).train()
    assert model.training and all(not bn.training for bn in batch_norms(model))
    stats = [bn.running_mean.clone() for bn in batch_norms(model)]
    model(torch.randn(2, 3, 64, 64))[0].sum().backward()
    assert all(torch.equal(a, bn.running_mean) for a, bn in zip(stats, batch_norms(model)))


def test_zero_init_residual_zeroes_the_last_norm_of_every_unit() -> None:
    model = hrnet.HRNet("w18_small", zero_init_residual=True)
    units = [m for m in model.modules() if isinstance(m, (hrnet.units.BasicUnit, hrnet.units.BottleneckUnit))]
    assert len(units) == 1 + 2 * (2 + 3 + 4)  # w18_small: one bottleneck, then 2 units per branch
    assert all(torch.count_nonzero(u.last_norm().weight) == 0 for u in units)
    default = hrnet.HRNet("w18_small")
    assert all(torch.count_nonzero(m.weight) > 0 for m in batch_norms(default))


def test_sync_batch_norm_layer() -> None:
    model = hrnet.HRNet("w18_small", norm_layer=nn.SyncBatchNorm)
    assert batch_norms(model) and all(isinstance(bn, nn.SyncBatchNorm) for bn in batch_norms(model))
    by_name = hrnet.HRNet("w18_small", norm_layer="syncbn")
    assert all(isinstance(bn, nn.SyncBatchNorm) for bn in batch_norms(by_name))
    with torch.no_grad():
        by_name.eval()(torch.randn(1, 3, 64, 64))


# --------------------------------------------------------------------------------------------- checkpointing
def saved_activation_bytes(model: nn.Module, x: torch.Tensor) -> tuple[int, dict]:
    """Bytes of the activations autograd keeps for backward (unique storages; the weights it also keeps are
    not counted), and the gradients."""
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in weights:
            storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    loss = sum(o.float().pow(2).mean() for o in out)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    return sum(storages.values()), grads


@pytest.mark.parametrize("head", [None, "v2"])
def test_gradient_checkpointing_same_gradients_less_memory(head: str | None) -> None:
    torch.manual_seed(0)
    model = hrnet.HRNet("w18_small_v2", head=head).train()
    x = torch.randn(2, 3, 96, 80)
    plain_bytes, plain_grads = saved_activation_bytes(model, x)
    model.set_grad_checkpointing(True)
    assert all(m.grad_checkpointing for m in model.modules() if isinstance(m, HighResolutionModule))
    ckpt_bytes, ckpt_grads = saved_activation_bytes(model, x)
    for name, grad in plain_grads.items():
        assert max_rel_diff(ckpt_grads[name], grad) <= 1e-5, name
    # Measured 0.40 (raw branches) and 0.49 (V2); leaving stage 1 out of the checkpointing gives 0.68 and 0.73.
    assert 0 < ckpt_bytes < 0.55 * plain_bytes, (ckpt_bytes, plain_bytes)


@pytest.mark.parametrize("frozen", [0, 1])
def test_checkpointing_with_frozen_stages_trains_every_unfrozen_parameter(frozen: int) -> None:
    """A frozen stem (or stage 1) gives the first checkpointed segment an input without gradient: the units after
    it must still get theirs, equal to the plain model's."""
    torch.manual_seed(0)
    model = hrnet.HRNet("w18_small", head="v2", frozen_stages=frozen).train()
    x = torch.randn(2, 3, 64, 64)
    _, plain = saved_activation_bytes(model, x)
    model.set_grad_checkpointing(True)
    _, checkpointed = saved_activation_bytes(model, x)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any(n.startswith("layer1.") for n in trainable) == (frozen == 0)
    for name in trainable:
        assert name in checkpointed and checkpointed[name].abs().sum() > 0, name
        assert max_rel_diff(checkpointed[name], plain[name]) <= 1e-5, name


def test_checkpointing_covers_the_fusions() -> None:
    """With checkpointing, a fusion's inner activations (its 1×1 / strided conv outputs) are not stored."""
    module = HighResolutionModule([8, 16], [1, 1], [8, 16]).train()
    xs = [torch.randn(1, 8, 16, 16, requires_grad=True), torch.randn(1, 16, 8, 8, requires_grad=True)]
    counts = []
    for enable in (False, True):
        module.grad_checkpointing = enable
        saved: list[torch.Size] = []

        def pack(t: torch.Tensor, saved: list = saved) -> torch.Tensor:
            saved.append(t.shape)
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            module(xs)
        counts.append(len(saved))
    assert counts[1] < counts[0] / 3, counts


# --------------------------------------------------------------------------------------------- TorchScript
@pytest.mark.parametrize("head", [None, "v1", "v1h", "v2", "v2p", "cls"])
def test_torchscript_every_head(small_models: dict, head: str | None) -> None:
    model = small_models[(head, "bilinear")]
    scripted = torch.jit.script(model)
    x = torch.randn(1, 3, 97, 75)
    with torch.no_grad():
        ours, ref = scripted(x), model(x)
    for a, b in zip([ours] if head == "cls" else ours, [ref] if head == "cls" else ref):
        assert max_rel_diff(a, b) <= 1e-6


def test_upsampling_by_factor_first_only_differs_off_multiples_of_32() -> None:
    """mmseg's order (×2^k, then to the exact size) equals the direct resize on multiples of 32 and still runs
    on other sizes."""
    torch.manual_seed(0)
    direct = randomize_norm_stats(hrnet.HRNet("w18_small", upsample="bilinear")).eval()
    stepwise = hrnet.HRNet("w18_small", upsample="bilinear", upsample_by_factor=True).eval()
    stepwise.load_state_dict(direct.state_dict())
    with torch.no_grad():
        x = torch.randn(1, 3, 96, 128)
        assert all(max_rel_diff(a, b) == 0 for a, b in zip(stepwise(x), direct(x)))
        odd = torch.randn(1, 3, 97, 131)
        outputs = stepwise(odd)
        assert [tuple(t.shape[1:]) for t in outputs] == expected_shapes(None, "w18_small", 97, 131)
        assert max(max_rel_diff(a, b) for a, b in zip(outputs, direct(odd))) > 1e-4


# --------------------------------------------------------------------------------------------- output stride
def seeded(arch: str, seed: int = 0, **kwargs) -> hrnet.HRNet:
    torch.manual_seed(seed)
    return randomize_norm_stats(hrnet.HRNet(arch, **kwargs), seed).eval()


@pytest.mark.parametrize("output_stride", [16, 8])
@pytest.mark.parametrize("head", [None, "v1", "v2", "v2p", "cls"])
def test_output_stride_keeps_every_weight(head: str | None, output_stride: int) -> None:
    """The stride-32 network's state dict loads strictly: only strides and dilations change."""
    plain, dilated = seeded("w18_small", head=head), hrnet.HRNet("w18_small", head=head, output_stride=output_stride)
    dilated.load_state_dict(plain.state_dict(), strict=True)
    assert {k: v.shape for k, v in dilated.state_dict().items()} == {k: v.shape for k, v in plain.state_dict().items()}


@pytest.mark.parametrize("output_stride, strides", [(32, [4, 8, 16, 32]), (16, [4, 8, 16, 16]), (8, [4, 8, 8, 8])])
@pytest.mark.parametrize("size", [(96, 128), (97, 131)])
def test_output_stride_map_sizes(output_stride: int, strides: list[int], size: tuple[int, int]) -> None:
    """Each branch map is the input divided by its stride (rounded up, as stride-2 3×3 convs with padding 1)."""
    model = hrnet.HRNet("w18_small", output_stride=output_stride).eval()
    assert model.branch_strides == strides
    with torch.no_grad():
        maps = model(torch.randn(1, 3, *size))
    assert [tuple(m.shape[-2:]) for m in maps] == [tuple(math.ceil(s / stride) for s in size) for stride in strides]


def test_output_stride_16_is_the_a_trous_form_of_the_lowest_branch() -> None:
    """The stride-1 dilated lowest branch computes the stride-32 branch densely: sampled at every other position
    it equals it (the à trous identity). Checked on stage 4's new branch (transition + residual units) and on a
    fusion's three-step down chain, with the same weights in both networks."""
    plain = seeded("w18_small")
    dilated = hrnet.HRNet("w18_small", output_stride=16).eval()
    dilated.load_state_dict(plain.state_dict())
    x3 = torch.randn(1, plain.branch_channels[2], 12, 16)  # a 1/16 map
    with torch.no_grad():
        coarse = plain.stage4[0].branches[3](plain.transition3[3](x3))
        dense = dilated.stage4[0].branches[3](dilated.transition3[3](x3))
        assert dense.shape[-2:] == (12, 16) and coarse.shape[-2:] == (6, 8)
        assert max_rel_diff(dense[..., ::2, ::2], coarse) <= 1e-5
        x0 = torch.randn(1, plain.branch_channels[0], 48, 64)  # a 1/4 map, through 3 steps to the lowest branch
        size = [6, 8]
        coarse = plain.stage4[0].fuse_layers[3][0](x0, size)
        dense = dilated.stage4[0].fuse_layers[3][0](x0, [12, 16])
        assert max_rel_diff(dense[..., ::2, ::2], coarse) <= 1e-5
    dilations = [(m.stride, m.dilation) for m in dilated.stage4[0].branches[3].modules() if isinstance(m, nn.Conv2d)]
    assert set(dilations) == {((1, 1), (2, 2))}  # every 3×3 conv of the lowest branch dilated by 2


@pytest.mark.parametrize("output_stride", [16, 8])
@pytest.mark.parametrize("head", [None, "v1h", "v2", "v2p", "cls"])
def test_output_stride_every_head_at_odd_sizes(head: str | None, output_stride: int) -> None:
    model = hrnet.HRNet("w18_small", head=head, output_stride=output_stride).eval()
    with torch.no_grad():
        outputs = model(torch.randn(2, 3, 97, 75))
    outputs = outputs if isinstance(outputs, list) else [outputs]
    assert all(torch.isfinite(o).all() for o in outputs)
    if head in ("v1h", "v2", "v2p"):
        assert outputs[0].shape[-2:] == (25, 19)  # the high-resolution map (1/4) is where it was


def test_output_stride_is_checked() -> None:
    with pytest.raises(ValueError, match="output_stride must be 8, 16 or 32"):
        hrnet.HRNet("w18_small", output_stride=4)


def test_input_checks_compile_into_a_whole_graph() -> None:
    """``torch.compile(fullgraph=True)`` traces the checks without a graph break; a bad input still names what was
    expected (FX, TorchScript and torch.export are covered by their own tests)."""
    model = seeded("w18_small", head="v2")
    compiled = torch.compile(model, backend="eager", fullgraph=True)
    x = torch.randn(1, 3, 97, 75)
    with torch.no_grad():
        assert max_rel_diff(compiled(x)[0], model(x)[0]) <= 1e-6
        with pytest.raises(Exception, match="expected 3 input channels"):
            compiled(torch.randn(1, 4, 64, 64))
