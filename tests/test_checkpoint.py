"""Checkpoint loading and conversion against the public layouts, and every way a checkpoint can be wrong.

Source state dicts come from the installed timm HRNet (timm = the official ImageNet layout); the official
pose / segmentation, OpenMMLab and mmpretrain files are built from it by the key layouts of those projects'
code (pose_hrnet.py, seg_hrnet.py / seg_hrnet_ocr.py + FullModel, mmdet's hrfpn.py, mmseg's fcn_hr18 config,
mmpretrain's hrnet.py / hr_fuse.py / linear_head.py), with their extra head tensors at the right shapes.
"""

from __future__ import annotations

import argparse
import re

import pytest
import torch
from helpers import NEEDS_TIMM, import_or_skip_on_use, max_rel_diff, randomize_norm_stats

import hrnet
from hrnet.checkpoint import CheckpointError, convert
from hrnet.cli import main as cli_main

# Without timm every test built on its network (the timm_model fixture) skips; the others run. numpy comes with timm.
np = import_or_skip_on_use("numpy", NEEDS_TIMM)
timm_hrnet = import_or_skip_on_use("timm.models.hrnet", NEEDS_TIMM)

ARCH = "w18_small"
BRANCHES = (16, 32, 64, 128)  # C, 2C, 4C, 8C of W18-small (official w18_small_v1 config)
V2_WIDTH = sum(BRANCHES)
CLS_HEAD = re.compile(r"^(incre_modules|downsamp_modules|final_layer|classifier)\.")
LAST_FUSION_ROWS = re.compile(r"^stage4\.0\.fuse_layers\.[123]\.")  # W18-small's stage 4 has one module
HEAD_CONVS = ("downsamp_modules.0.0", "downsamp_modules.1.0", "downsamp_modules.2.0", "final_layer.0")
NUM_JOINTS, NUM_CLASSES = 17, 19


# ------------------------------------------------------------------------------------------- sources
@pytest.fixture(scope="module")
def timm_model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = timm_hrnet.HighResolutionNet(timm_hrnet.cfg_cls[f"hrnet_{ARCH}"])
    for module in model.modules():  # non-zero conv biases, so bias handling is visible
        if isinstance(module, torch.nn.Conv2d) and module.bias is not None:
            torch.nn.init.normal_(module.bias, std=0.1)
    return randomize_norm_stats(model).eval()


@pytest.fixture(scope="module")
def timm_state(timm_model) -> dict:
    return {k: v.clone() for k, v in timm_model.state_dict().items()}


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def timm_logits(timm_model, image) -> torch.Tensor:
    with torch.no_grad():
        return timm_model(image)


GENERATOR = torch.Generator().manual_seed(2)


def tensors(**shapes: tuple) -> dict:
    """Random tensors (all different) for extra head keys; ``a__b`` spells ``a.b``."""
    return {k.replace("__", "."): torch.randn(*s, generator=GENERATOR) for k, s in shapes.items()}


def bn(prefix: str, channels: int) -> dict:
    out = tensors(**{f"{prefix}__{p}": (channels,) for p in ("weight", "bias", "running_mean")})
    out[f"{prefix}.running_var"] = torch.rand(channels) + 0.5
    out[f"{prefix}.num_batches_tracked"] = torch.tensor(7)
    return out


def trunk(state: dict) -> dict:
    return {k: v for k, v in state.items() if not CLS_HEAD.match(k)}


def official_pose(state: dict) -> dict:
    """pose_hrnet.py: the last module fuses only into branch 0; a 1×1 keypoint conv ``final_layer``."""
    body = {k: v for k, v in trunk(state).items() if not LAST_FUSION_ROWS.match(k)}
    return {**body, **tensors(final_layer__weight=(NUM_JOINTS, BRANCHES[0], 1, 1), final_layer__bias=(NUM_JOINTS,))}


def official_seg(state: dict, prefix: str = "model.", ocr: bool = False) -> dict:
    """seg_hrnet.py (``last_layer`` 0: conv, 1: BN, 3: class conv) or seg_hrnet_ocr.py, saved via FullModel."""
    if ocr:
        head = {
            **tensors(conv3x3_ocr__0__weight=(64, V2_WIDTH, 3, 3), conv3x3_ocr__0__bias=(64,)),
            **bn("conv3x3_ocr.1", 64),
            **tensors(
                ocr_distri_head__object_context_block__f_pixel__0__weight=(32, 64, 1, 1),
                ocr_distri_head__conv_bn_dropout__0__weight=(64, 128, 1, 1),
                cls_head__weight=(NUM_CLASSES, 64, 1, 1),
                cls_head__bias=(NUM_CLASSES,),
                aux_head__0__weight=(V2_WIDTH, V2_WIDTH, 1, 1),
                aux_head__3__weight=(NUM_CLASSES, V2_WIDTH, 1, 1),
            ),
        }
    else:
        head = {
            **tensors(last_layer__0__weight=(V2_WIDTH, V2_WIDTH, 1, 1), last_layer__0__bias=(V2_WIDTH,)),
            **bn("last_layer.1", V2_WIDTH),
            **tensors(last_layer__3__weight=(NUM_CLASSES, V2_WIDTH, 1, 1), last_layer__3__bias=(NUM_CLASSES,)),
        }
    model = {prefix + k: v for k, v in {**trunk(state), **head}.items()}
    return {**model, **tensors(loss__criterion__weight=(NUM_CLASSES,))}


def mm_file(backbone: dict, **parts: torch.Tensor) -> dict:
    """An mmengine checkpoint: the backbone under ``backbone.``, the framework's own heads beside it."""
    return {
        "meta": {"mmengine_version": "0.10.7"},
        "state_dict": {**{f"backbone.{k}": v for k, v in backbone.items()}, **parts},
    }


def hrfpn(level_name: str, levels: int = 5) -> dict:
    """mmdet's HRFPN: ConvModule (no norm: conv with bias) ``reduction_conv``, 3×3 convs per level named
    ``fpn_convs.{i}.conv`` (mmdet 2.x / 3.x ConvModule) or ``fpn_conv.{i}`` (mmdet 1.x plain conv)."""
    shapes = {"neck__reduction_conv__conv__weight": (256, V2_WIDTH, 1, 1), "neck__reduction_conv__conv__bias": (256,)}
    for i in range(levels):
        level = "neck__" + level_name.format(i=i).replace(".", "__")
        shapes.update({f"{level}__weight": (256, 256, 3, 3), f"{level}__bias": (256,)})
    return tensors(**shapes)


MMPRETRAIN_NAMES = (  # timm name -> mmpretrain name (hr_fuse.py HRFuseScales as neck 0, linear_head.py fc)
    (r"^incre_modules\.", "neck.0.increase_layers."),
    (r"^downsamp_modules\.(\d+)\.0\.", r"neck.0.downsample_layers.\1.conv."),
    (r"^downsamp_modules\.(\d+)\.1\.", r"neck.0.downsample_layers.\1.bn."),
    (r"^final_layer\.0\.", "neck.0.final_layer.conv."),
    (r"^final_layer\.1\.", "neck.0.final_layer.bn."),
    (r"^classifier\.", "head.fc."),
)


def mmpretrain_file(state: dict) -> dict:
    """mmpretrain ImageClassifier: backbone, HRFuseScales neck (ConvModule convs without bias), LinearClsHead."""
    out = {}
    for key, value in state.items():
        name = next((re.sub(p, r, key) for p, r in MMPRETRAIN_NAMES if re.match(p, key)), f"backbone.{key}")
        if not name.endswith(".conv.bias"):
            out[name] = value
    return {"meta": {"dataset_meta": {"classes": ["a", "b"]}}, "state_dict": out}


def assert_arrived(model: torch.nn.Module, expected: dict) -> None:
    """Every (our name → tensor) pair of ``expected`` is in the model, bit for bit."""
    state = model.state_dict()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key


# ------------------------------------------------------------------------------------------- timm / official ImageNet
def test_timm_file_is_the_classification_network(timm_state, image, timm_logits) -> None:
    model = hrnet.HRNet(ARCH, head="cls").eval()
    report = hrnet.load_checkpoint(model, timm_state)
    assert report.layout == "timm"
    assert sorted(report.loaded) == sorted(timm_state)
    assert report.missing == report.unexpected == report.ignored == report.adapted == []
    assert_arrived(model, timm_state)
    with torch.no_grad():
        assert max_rel_diff(model(image), timm_logits) < 1e-6
    assert "552 tensors loaded" in str(report) and "0 missing" in str(report)


@pytest.mark.parametrize("head", [None, "v1", "v2"])
def test_imagenet_head_is_ignored_not_an_error(timm_state, head) -> None:
    model = hrnet.HRNet(ARCH, head=head)
    report = hrnet.load_checkpoint(model, timm_state, strict=head != "v2")
    not_needed = {k for k in timm_state if CLS_HEAD.match(k) or (head == "v1" and LAST_FUSION_ROWS.match(k))}
    assert set(report.ignored) == not_needed
    assert set(report.loaded) == set(timm_state) - not_needed
    assert report.unexpected == []
    assert set(report.missing) == (
        {n for n in model.state_dict() if n.startswith("head.")} - {"head.proj.1.num_batches_tracked"}
    )
    assert_arrived(model, {k: timm_state[k] for k in report.loaded})
    assert f"{len(not_needed)} ignored (" in str(report)


# ------------------------------------------------------------------------------------------- official pose / seg
def test_official_pose_file_loads_into_v1(timm_state) -> None:
    source = official_pose(timm_state)
    model = hrnet.HRNet(ARCH, head="v1")
    # train.py's checkpoint.pth: a DataParallel state dict among training entries
    training = {"epoch": torch.tensor(210), "state_dict": {f"module.{k}": v for k, v in source.items()}}
    assert hrnet.load_checkpoint(hrnet.HRNet(ARCH, head="v1"), training).loaded == list(trunk(source))
    report = hrnet.load_checkpoint(model, source)
    assert report.layout == "official-pose"
    assert sorted(report.ignored) == ["final_layer.bias", "final_layer.weight"]
    assert report.missing == report.unexpected == []
    assert_arrived(model, {k: v for k, v in source.items() if not k.startswith("final_layer.")})


def test_official_pose_file_lacks_the_full_last_fusion(timm_state) -> None:
    source = official_pose(timm_state)
    with pytest.raises(CheckpointError, match=r"missing: stage4\.0\.fuse_layers\.1\.0\.0\.0\.weight"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH), source)
    report = hrnet.load_checkpoint(hrnet.HRNet(ARCH), source, strict=False)
    expected = {k for k in timm_state if LAST_FUSION_ROWS.match(k) and not k.endswith("num_batches_tracked")}
    assert set(report.missing) == expected


@pytest.mark.parametrize("prefix", ["model.", ""])
def test_official_segmentation_file_gives_the_v2_head(timm_state, prefix) -> None:
    source = official_seg(timm_state, prefix)
    model = hrnet.HRNet(ARCH, head="v2")
    report = hrnet.load_checkpoint(model, source)
    assert report.layout == "official-seg"
    assert sorted(report.ignored) == sorted(k for k in source if "last_layer.3." in k or k.startswith("loss."))
    assert report.missing == report.unexpected == []
    head = {
        "head.proj." + k[len(prefix + "last_layer.") :]: v
        for k, v in source.items()
        if "last_layer.0." in k or "last_layer.1." in k
    }
    assert len(head) == 7
    assert_arrived(model, {**trunk(timm_state), **head})
    assert report.renamed[prefix + "last_layer.0.weight"] == "head.proj.0.weight"


def test_official_ocr_file_gives_the_backbone(timm_state) -> None:
    source = official_seg(timm_state, ocr=True)
    model = hrnet.HRNet(ARCH)
    report = hrnet.load_checkpoint(model, source)
    assert report.layout == "official-seg"
    assert set(report.ignored) == {k for k in source if not k.startswith("model.") or "ocr" in k or "_head." in k}
    assert_arrived(model, trunk(timm_state))


# ------------------------------------------------------------------------------------------- OpenMMLab
def test_mm_backbone_file_ignores_the_imagenet_head(timm_state) -> None:
    model = hrnet.HRNet(ARCH)
    report = hrnet.load_checkpoint(model, mm_file(timm_state))
    assert report.layout == "mm"
    assert set(report.ignored) == {f"backbone.{k}" for k in timm_state if CLS_HEAD.match(k)}
    assert report.missing == report.unexpected == []
    assert_arrived(model, trunk(timm_state))


@pytest.mark.parametrize("level_name", ["fpn_convs.{i}.conv", "fpn_conv.{i}"])
def test_mmdet_hrfpn_is_the_v2p_head(timm_state, level_name) -> None:
    neck = hrfpn(level_name)
    detector = tensors(rpn_head__rpn_conv__weight=(256, 256, 3, 3), roi_head__bbox_head__fc_cls__weight=(81, 1024))
    model = hrnet.HRNet(ARCH, head="v2p")
    report = hrnet.load_checkpoint(model, mm_file(trunk(timm_state), **neck, **detector))
    assert sorted(report.ignored) == sorted(detector)
    assert report.missing == report.unexpected == []
    ours = {
        re.sub(r"fpn_convs?\.(\d)\.(conv\.)?", r"fpn_convs.\1.", k.replace("neck.", "head.")): v
        for k, v in neck.items()
    }
    ours = {k.replace("reduction_conv.conv.", "reduction_conv."): v for k, v in ours.items()}
    assert_arrived(model, {**trunk(timm_state), **ours})


def test_mmseg_fcn_head_is_the_v2_head_with_a_zero_bias(timm_state) -> None:
    decode = {
        **tensors(decode_head__convs__0__conv__weight=(V2_WIDTH, V2_WIDTH, 1, 1)),
        **bn("decode_head.convs.0.bn", V2_WIDTH),
        **tensors(
            decode_head__conv_seg__weight=(NUM_CLASSES, V2_WIDTH, 1, 1), decode_head__conv_seg__bias=(NUM_CLASSES,)
        ),
    }
    model = hrnet.HRNet(ARCH, head="v2")
    report = hrnet.load_checkpoint(model, mm_file(trunk(timm_state), **decode))
    assert sorted(report.ignored) == ["decode_head.conv_seg.bias", "decode_head.conv_seg.weight"]
    assert len(report.adapted) == 1 and report.adapted[0].startswith("head.proj.0.bias: zeros")
    ours = {
        k.replace("decode_head.convs.0.conv.", "head.proj.0.").replace("decode_head.convs.0.bn.", "head.proj.1."): v
        for k, v in decode.items()
        if "convs.0" in k
    }
    assert_arrived(model, {**ours, "head.proj.0.bias": torch.zeros(V2_WIDTH)})


def test_mmpose_head_keys_are_not_ours(timm_state) -> None:
    pose_head = tensors(
        head__final_layer__weight=(NUM_JOINTS, BRANCHES[0], 1, 1), head__final_layer__bias=(NUM_JOINTS,)
    )
    body = {k: v for k, v in trunk(timm_state).items() if not LAST_FUSION_ROWS.match(k)}
    model = hrnet.HRNet(ARCH, head="v1")
    report = hrnet.load_checkpoint(model, mm_file(body, **pose_head))
    assert sorted(report.ignored) == sorted(pose_head)
    assert_arrived(model, body)


@pytest.mark.parametrize("head_conv_bias", [False, True])
def test_mmpretrain_file_renames_the_head(timm_state, head_conv_bias) -> None:
    source = mmpretrain_file(timm_state)
    model = hrnet.HRNet(ARCH, head="cls", head_conv_bias=head_conv_bias)
    report = hrnet.load_checkpoint(model, source)
    assert report.layout == "mmpretrain"
    assert report.missing == report.unexpected == report.ignored == []
    assert report.renamed["neck.0.downsample_layers.1.bn.running_mean"] == "downsamp_modules.1.1.running_mean"
    assert report.renamed["head.fc.weight"] == "classifier.weight"
    expected = {k: v for k, v in timm_state.items() if not (k.endswith(".0.bias") and k[: -len(".bias")] in HEAD_CONVS)}
    assert_arrived(model, expected)
    if head_conv_bias:
        assert len(report.adapted) == len(HEAD_CONVS)
        assert_arrived(model, {f"{conv}.bias": torch.zeros_like(timm_state[f"{conv}.bias"]) for conv in HEAD_CONVS})


def test_bias_folding_is_exact_against_timm(timm_state, image, timm_logits) -> None:
    """timm's head convs have biases, mmpretrain's none: folded into BN, the network computes the same."""
    folded = convert(timm_state, "mmpretrain")
    assert len(folded.adapted) == len(HEAD_CONVS)
    assert not any(k.endswith("conv.bias") for k in folded.state_dict)
    model = hrnet.HRNet(ARCH, head="cls", head_conv_bias=False).eval()
    hrnet.load_checkpoint(model, folded.state_dict)
    with torch.no_grad():
        assert max_rel_diff(model(image), timm_logits) < 1e-5


# ------------------------------------------------------------------------------------------- failure modes
def test_strict_missing_and_unexpected(timm_state) -> None:
    missing = "stage3.0.branches.1.1.conv2.weight"
    partial = {k: v for k, v in timm_state.items() if k != missing}
    with pytest.raises(CheckpointError, match=rf"1 missing: {re.escape(missing)}"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH, head="cls"), partial)
    assert hrnet.load_checkpoint(hrnet.HRNet(ARCH, head="cls"), partial, strict=False).missing == [missing]

    extra = {**timm_state, "stage2.0.branches.0.7.conv1.weight": torch.zeros(16, 16, 3, 3)}
    with pytest.raises(CheckpointError, match=r"1 unexpected: stage2\.0\.branches\.0\.7\.conv1\.weight"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH, head="cls"), extra)
    report = hrnet.load_checkpoint(hrnet.HRNet(ARCH, head="cls"), extra, strict=False)
    assert report.unexpected == ["stage2.0.branches.0.7.conv1.weight"] and len(report.loaded) == len(timm_state)


def test_nothing_matching_raises_even_when_not_strict() -> None:
    foreign = {"encoder.layers.0.weight": torch.zeros(3), "decoder.bias": torch.zeros(3)}
    with pytest.raises(CheckpointError, match="no key of the checkpoint fits the model"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH), foreign, strict=False)


def test_forced_layout_is_obeyed(timm_state) -> None:
    mm = mm_file(timm_state)
    with pytest.raises(CheckpointError, match=r"no key of the checkpoint fits the model \(timm layout\)"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH), mm, strict=False, layout="timm")
    assert hrnet.load_checkpoint(hrnet.HRNet(ARCH), mm, layout="mm").layout == "mm"


def test_shape_mismatch_names_key_and_both_shapes(timm_state) -> None:
    wider = timm_hrnet.HighResolutionNet(timm_hrnet.cfg_cls["hrnet_w18"]).state_dict()
    first = next(k for k, v in timm_state.items() if k in wider and v.shape != wider[k].shape)
    shapes = [re.escape(str(tuple(state[first].shape))) for state in (timm_state, wider)]
    pattern = rf"{re.escape(first)}.*{shapes[0]}.*{shapes[1]}"
    with pytest.raises(CheckpointError, match=pattern):
        hrnet.load_checkpoint(hrnet.HRNet("w18", head="cls"), timm_state, strict=False)
    with pytest.raises(CheckpointError, match=r"conv1\.weight.*\(64, 3, 3, 3\).*\(64, 1, 3, 3\)"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH, in_chans=1), timm_state, strict=False)


def test_unreadable_files_name_the_path(tmp_path, timm_state) -> None:
    good = tmp_path / "good.pth"
    torch.save(timm_state, good)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[:4000])
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    for path in (truncated, text, junk, empty):
        with pytest.raises(CheckpointError, match=re.escape(repr(str(path))) + ".*not a readable PyTorch checkpoint"):
            hrnet.load_checkpoint(hrnet.HRNet(ARCH), path)
    with pytest.raises(CheckpointError, match="not found: .*absent.pth"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH), tmp_path / "absent.pth")
    with pytest.raises(CheckpointError, match="got a directory"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH), tmp_path)


def test_non_checkpoint_objects_are_refused(tmp_path) -> None:
    listed = tmp_path / "list.pth"
    torch.save([1, 2, 3], listed)
    with pytest.raises(CheckpointError, match=r"list\.pth.*expected a dict of tensors .*got a list"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH), listed)
    with pytest.raises(CheckpointError, match="entry 'epoch' is a str"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH), {"epoch": "10", "conv1.weight": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="the state dict is empty"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH), {"state_dict": {}, "meta": {}})
    with pytest.raises(CheckpointError, match="expected a checkpoint path or a state dict, got a int"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH), 3)
    with pytest.raises(CheckpointError, match="layout must be one of"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH), {"conv1.weight": torch.zeros(1)}, layout="detectron")


def test_python_objects_are_not_unpickled(tmp_path, timm_state) -> None:
    """Old training checkpoints carry ``args`` (an argparse.Namespace): refused with a way forward."""
    path = tmp_path / "train.pth"
    torch.save({"state_dict": timm_state, "args": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(
        CheckpointError, match=r"train\.pth.*objects beyond tensors \(argparse\.Namespace\).*weights_only=False"
    ):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH, head="cls"), path)


def test_numpy_metadata_of_mmengine_files_is_read(tmp_path, timm_state) -> None:
    path = tmp_path / "mmengine.pth"
    checkpoint = mm_file(timm_state)
    checkpoint["meta"].update(seed=np.int64(42), mean=np.array([123.675, 116.28, 103.53]))
    torch.save(checkpoint, path)
    report = hrnet.load_checkpoint(hrnet.HRNet(ARCH, head="cls"), path)
    assert report.layout == "mm" and len(report.loaded) == len(timm_state) and report.source == str(path)


def test_two_keys_for_one_tensor_is_an_error(timm_state) -> None:
    clash = {**mm_file(timm_state)["state_dict"], "conv1.weight": timm_state["conv1.weight"]}
    with pytest.raises(CheckpointError, match="both map to 'conv1.weight'"):
        hrnet.load_checkpoint(hrnet.HRNet(ARCH), clash)


def test_conversion_refuses_foreign_keys_and_targets(timm_state) -> None:
    with pytest.raises(CheckpointError, match="fit no HRNet module.*encoder.weight"):
        hrnet.convert_state_dict({**timm_state, "encoder.weight": torch.zeros(1)}, to="timm")
    with pytest.raises(CheckpointError, match="to must be one of"):
        hrnet.convert_state_dict(timm_state, to="onnx")


# ------------------------------------------------------------------------------------------- conversion and the CLI
CONVERTED_MARKERS = {
    "timm": "final_layer.0.bias",
    "official": "final_layer.0.bias",
    "mm": "backbone.final_layer.0.bias",
    "mmpretrain": "neck.0.final_layer.bn.running_mean",
}


@pytest.mark.parametrize("to", sorted(CONVERTED_MARKERS))
def test_cli_convert_round_trip(tmp_path, capsys, timm_state, image, timm_logits, to) -> None:
    src, dst, back = tmp_path / "timm.pth", tmp_path / f"{to}.pth", tmp_path / "back.pth"
    torch.save(timm_state, src)
    assert cli_main(["convert", str(src), str(dst), "--to", to]) == 0
    folds = len(HEAD_CONVS) if to == "mmpretrain" else 0  # mmpretrain's head convs have no bias
    assert f"({to}): {len(timm_state) - folds} tensors" in capsys.readouterr().out
    written = torch.load(dst, weights_only=True)
    state = written["state_dict"] if to in ("mm", "mmpretrain") else written
    assert CONVERTED_MARKERS[to] in state
    if to == "mm":
        assert all(k.startswith("backbone.") for k in state)
    if to in ("timm", "official"):
        assert state.keys() == timm_state.keys()

    model = hrnet.HRNet(ARCH, head="cls", head_conv_bias=to != "mmpretrain")
    report = hrnet.load_checkpoint(model, dst)
    assert report.layout == {"official": "timm"}.get(to, to) and report.missing == report.unexpected == []
    if to != "mmpretrain":
        assert_arrived(model, timm_state)

    assert cli_main(["convert", str(dst), str(back), "--to", "timm"]) == 0
    returned = torch.load(back, weights_only=True)
    assert returned.keys() == timm_state.keys()
    if to != "mmpretrain":
        assert all(torch.equal(returned[k], timm_state[k]) for k in timm_state)
        return
    # through mmpretrain the head biases went into the BN means and came back as zeros: timm computes the same
    timm_again = timm_hrnet.HighResolutionNet(timm_hrnet.cfg_cls[f"hrnet_{ARCH}"]).eval()
    timm_again.load_state_dict(returned)
    with torch.no_grad():
        assert max_rel_diff(timm_again(image), timm_logits) < 1e-5


@pytest.mark.parametrize("to", ["official", "mm"])
def test_segmentation_file_converts_with_its_head(tmp_path, timm_state, to) -> None:
    src, dst = tmp_path / "seg.pth", tmp_path / "out.pth"
    source = official_seg(timm_state)
    torch.save(source, src)
    summary = hrnet.checkpoint.convert_file(src, dst, to=to)
    assert "left out 3 (last_layer, loss)" in summary
    written = torch.load(dst, weights_only=True)
    state = written["state_dict"] if to == "mm" else written
    if to == "official":
        assert {k for k in state if "last_layer" in k} == {
            k for k in source if re.match(r"model\.last_layer\.[01]\.", k)
        }
        assert all(torch.equal(state[k], source[k]) for k in state)
    else:  # mmseg's FCN conv has no bias: folded into its BN
        assert "decode_head.convs.0.conv.weight" in state and "decode_head.convs.0.conv.bias" not in state
        expected_mean = source["model.last_layer.1.running_mean"] - source["model.last_layer.0.bias"]
        assert torch.equal(state["decode_head.convs.0.bn.running_mean"], expected_mean)
    model = hrnet.HRNet(ARCH, head="v2")
    report = hrnet.load_checkpoint(model, dst)
    assert report.missing == report.unexpected == []


def test_convert_state_dict_warns_about_what_it_leaves_out(timm_state) -> None:
    """timm has no place for the segmentation head, class conv or loss: the trunk remains, with a warning."""
    with pytest.warns(
        UserWarning, match=r"10 keys have no place in the timm layout and were left out \(last_layer, loss\)"
    ):
        converted = hrnet.convert_state_dict(official_seg(timm_state), to="timm")
    assert converted.keys() == trunk(timm_state).keys()


def test_cli_convert_reports_a_bad_file_in_one_line(tmp_path, capsys) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("not a checkpoint")
    assert cli_main(["convert", str(src), str(tmp_path / "out.pth"), "--to", "timm"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hrnet convert: ") and str(src) in err
    assert not (tmp_path / "out.pth").exists()
