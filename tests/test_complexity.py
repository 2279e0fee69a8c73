"""#Params / GFLOPs against the numbers printed in the paper and the official READMEs, and the counting
convention itself checked by hand on tiny modules."""

from __future__ import annotations

from functools import cache

import pytest
import torch
from torch import nn

import hrnet
from hrnet.complexity import complexity
from hrnet.tables import build_meta, print_tables

GIGA = 1024**3

# (task, arch, (H, W), #Params in M, GFLOPs), typed as printed.
# Paper = TPAMI Table 1 (COCO val) and Table 3 (Cityscapes val).
# ImageNet = HRNet/HRNet-Image-Classification README.md, "ImageNet pretrained models".
PRINTED = [
    # Paper Table 1 prints 7.10 for this network; the official pose README
    # (leoxiaobin/deep-high-resolution-net.pytorch) prints 7.1 for the same one.
    ("pose", "w32", (256, 192), "28.5", "7.1"),
    ("pose", "w48", (256, 192), "63.6", "14.6"),
    ("pose", "w32", (384, 288), "28.5", "16.0"),
    ("pose", "w48", (384, 288), "63.6", "32.9"),
    ("segmentation", "w48", (1024, 2048), "65.9", "696.2"),
    ("classification", "w18_small", (224, 224), "13.2", "1.49"),
    ("classification", "w18_small_v2", (224, 224), "15.6", "2.42"),
    ("classification", "w18", (224, 224), "21.3", "3.99"),
    ("classification", "w30", (224, 224), "37.7", "7.55"),
    ("classification", "w32", (224, 224), "41.2", "8.31"),
    ("classification", "w40", (224, 224), "57.6", "11.8"),
    ("classification", "w44", (224, 224), "67.1", "13.9"),
    ("classification", "w48", (224, 224), "77.5", "16.1"),
    ("classification", "w64", (224, 224), "128.1", "26.9"),
]


@cache
def network(task: str, arch: str) -> nn.Module:
    return build_meta(task, arch)


def as_printed(value: float, printed: str) -> str:
    return f"{value:.{len(printed.partition('.')[2])}f}"


ROW_IDS = [f"{task}-{arch}-{h}x{w}" for task, arch, (h, w), *_ in PRINTED]


@pytest.mark.parametrize("task, arch, size, params, gflops", PRINTED, ids=ROW_IDS)
def test_matches_printed_numbers(task, arch, size, params, gflops):
    ours_params, ours_gflops = complexity(network(task, arch), size)
    assert (as_printed(ours_params, params), as_printed(ours_gflops, gflops)) == (params, gflops)


def test_w40_segmentation_is_a_real_difference():
    """Table 3 prints 45.2M / 493.2 for HRNetV2-W40: the standard W40 (which matches the W40-C row) and the W48
    head (which matches the W48 row) do not give it, so ``hrnet tables`` flags the row rather than hiding it."""
    ours_params, ours_gflops = complexity(network("segmentation", "w40"), (1024, 2048))
    assert as_printed(ours_params, "45.2") != "45.2"
    assert as_printed(ours_gflops, "493.2") != "493.2"


def test_print_tables_flags_only_the_documented_difference(capsys):
    assert print_tables() == 0
    out = capsys.readouterr().out
    flagged = [line for line in out.splitlines() if "known difference [" in line]
    assert len(flagged) == 1 and "HRNetV2-W40" in flagged[0]
    assert "| NO |" not in out


def test_single_conv_by_hand():
    # 3→8, 3×3, stride 2, padding 1 on 10×12: output 5×6.
    # weights 8·3·3·3 = 216, bias 8 → 224 params; multiply-adds 216 · 30 = 6480.
    params, gflops = complexity(nn.Conv2d(3, 8, 3, stride=2, padding=1), (10, 12))
    assert params == pytest.approx(224 / 1e6, abs=0)
    assert gflops * GIGA == pytest.approx(6480)


def test_conv_bn_linear_by_hand():
    # conv 2→4 1×1 no bias: 8 params, 8·25 = 200 MACs on 5×5; BN(4): 8 params, no MACs;
    # pooling / ReLU: nothing; linear 4→3: 12 + 3 params, 12 MACs. Total 31 params, 212 MACs.
    model = nn.Sequential(
        nn.Conv2d(2, 4, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4, 3),
    )  # fmt: skip
    params, gflops = complexity(model, (5, 5))
    assert params * 1e6 == pytest.approx(31)
    assert gflops * GIGA == pytest.approx(212)


class ReusedConv(nn.Module):
    """One 4→4 3×3 conv applied twice, and a layer that never runs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.unused = nn.Linear(100, 100)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.conv(x))


def test_layers_counted_as_they_run():
    # 144 weights counted once; 144 · 36 MACs per call on 6×6, two calls; the unused linear not at all.
    params, gflops = complexity(ReusedConv(), (6, 6))
    assert params * 1e6 == pytest.approx(144)
    assert gflops * GIGA == pytest.approx(2 * 144 * 36)


def test_meta_and_cpu_counts_agree_and_mode_is_restored():
    model = hrnet.HRNet("w18_small", head="v2").train()
    on_cpu = complexity(model, (64, 96))
    assert model.training
    with torch.device("meta"):
        on_meta = complexity(hrnet.HRNet("w18_small", head="v2"), (64, 96))
    assert on_cpu == on_meta


@pytest.mark.parametrize(
    "model, size, in_chans, message",
    [
        ("not a model", (8, 8), None, "torch.nn.Module"),
        (nn.Conv2d(3, 3, 1), (8,), None, "(H, W)"),
        (nn.Conv2d(3, 3, 1), (0, 8), None, "(H, W)"),
        (nn.Conv2d(3, 3, 1), (8, 8.5), None, "(H, W)"),
        (nn.Conv2d(3, 3, 1), (8, 8), 0, "in_chans"),
        (nn.Identity(), (8, 8), None, "in_chans"),
    ],
)
def test_bad_input_is_a_value_error(model, size, in_chans, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        complexity(model, size, in_chans=in_chans)


def test_the_all_streams_variant_is_counted_beside_the_network_it_varies(capsys) -> None:
    """§7's all-streams variant next to Table 1's W32 pose and Table 3's W48 segmentation networks (as printed there:
    28.5M / 7.1 and 65.9M / 696.2); the variant runs four streams in every stage, so it is larger in both."""
    from hrnet.tables import count_all_streams, print_all_streams

    (pose, pose_size, pose_base, pose_all), (seg, seg_size, seg_base, seg_all) = count_all_streams()
    assert pose_size == (256, 192) and seg_size == (1024, 2048)
    assert (round(pose_base[0], 1), round(pose_base[1], 1)) == (28.5, 7.1)
    assert (round(seg_base[0], 1), round(seg_base[1], 1)) == (65.9, 696.2)
    assert pose_all[0] > pose_base[0] and pose_all[1] > pose_base[1]
    assert seg_all[0] > seg_base[0] and seg_all[1] > seg_base[1]
    print_all_streams()
    out = capsys.readouterr().out
    assert f"{pose_all[0]:.2f}M" in out and f"{seg_all[1]:.2f}" in out
