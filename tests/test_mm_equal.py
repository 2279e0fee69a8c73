"""The OpenMMLab adapters against the frameworks' own HRNets at equal weights, registry resolution from
each framework, checkpoints through configs, and backbone controls inside framework models."""

from __future__ import annotations

import copy
import re

import pytest
import torch
from helpers import NEEDS_OPENMMLAB, frozen_prefixes, max_rel_diff, randomize_norm_stats
from torch import nn

pytest.importorskip("mmdet", reason=NEEDS_OPENMMLAB)
pytest.importorskip("mmpose", reason=NEEDS_OPENMMLAB)
pytest.importorskip("mmseg", reason=NEEDS_OPENMMLAB)

from mmdet.models.backbones import HRNet as MMDetHRNet  # noqa: E402
from mmdet.models.necks import HRFPN  # noqa: E402
from mmdet.registry import MODELS as MMDET_MODELS  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import load_checkpoint as mmengine_load_checkpoint  # noqa: E402
from mmpose.models.backbones import HRNet as MMPoseHRNet  # noqa: E402
from mmpose.registry import MODELS as MMPOSE_MODELS  # noqa: E402
from mmseg.models.backbones import HRNet as MMSegHRNet  # noqa: E402
from mmseg.registry import MODELS as MMSEG_MODELS  # noqa: E402

import hrnet  # noqa: E402
import hrnet.mm  # noqa: E402, F401  (registers the hrnet scope)
from hrnet.mm.backbone import MMHRNet  # noqa: E402

# The frameworks' own way of writing an HRNet (W18-small v2 keeps the tests quick; every stage kind is there).
EXTRA = hrnet.ARCHS["w18_small_v2"].as_mm_extra()
BRANCHES = list(hrnet.ARCHS["w18_small_v2"].branch_channels)
EVEN, ODD = (96, 128), (97, 131)


def equal_outputs(ours, theirs) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert max_rel_diff(a, b) <= 1e-5


def copy_weights(theirs: nn.Module, ours: nn.Module) -> None:
    """Their state dict into ours, strictly: the layouts must be the same."""
    randomize_norm_stats(theirs)
    ours.load_state_dict(theirs.state_dict(), strict=True)


def run(model: nn.Module, size: tuple[int, int], seed: int = 0):
    x = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(seed))
    model.eval()  # (mmpose's HRNet.train returns None, so no chaining)
    with torch.no_grad():
        return model(x)


def build_in_scope(scope: str, registry, cfg: dict) -> nn.Module:
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg)


# --------------------------------------------------------------------------------------------- registry
@pytest.mark.parametrize(
    "scope, registry, mode",
    [("mmpose", MMPOSE_MODELS, "nearest"), ("mmseg", MMSEG_MODELS, "bilinear"), ("mmdet", MMDET_MODELS, "nearest")],
)
def test_type_resolves_from_every_framework(scope: str, registry, mode: str) -> None:
    model = build_in_scope(scope, registry, dict(type="hrnet.HRNet", extra=EXTRA, framework=scope))
    assert isinstance(model, MMHRNet)
    up = model.stage2[0].fuse_layers[0][1]
    assert up.mode == mode  # follows the framework it names
    explicit = build_in_scope(
        scope, registry, dict(type="hrnet.HRNet", arch="w18_small", upsample_cfg=dict(mode="bilinear"))
    )
    assert explicit.stage2[0].fuse_layers[0][1].mode == "bilinear"
    outputs = run(model, EVEN)
    assert isinstance(outputs, tuple)
    # mmpose's HRNet gives one output unless extra['stage4'] asks for more; mmseg's and mmdet's give four.
    assert len(outputs) == (1 if scope == "mmpose" else 4)


def test_unknown_arguments_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="exactly one of arch"):
        MMHRNet()
    with pytest.raises(ValueError, match="norm_cfg type must be one of"):
        MMHRNet(arch="w18_small", norm_cfg=dict(type="LN"))
    with pytest.raises(ValueError, match="missing 'stage4'"):
        MMHRNet(extra={k: v for k, v in EXTRA.items() if k != "stage4"})
    with pytest.raises(ValueError, match=r"framework must be one of 'mmdet', 'mmpose', 'mmseg' or None, got 'mmcls'"):
        MMHRNet(arch="w18_small", framework="mmcls")


def fusion_defaults(model: nn.Module) -> tuple:
    """How the model's first fusion upsamples, and how many maps the model returns."""
    up = model.stage2[0].fuse_layers[0][1]
    return up.mode, up.align_corners, up.by_factor, len(run(model, EVEN))


# mmseg: bilinear in two steps (×2^k, then to the branch size); mmpose: nearest, the high-resolution output only.
@pytest.mark.parametrize(
    "framework, expected",
    [(None, ("nearest", False, False, 4)), ("mmdet", ("nearest", False, False, 4)),
     ("mmpose", ("nearest", False, False, 1)), ("mmseg", ("bilinear", False, True, 4))],
)  # fmt: skip
def test_framework_sets_the_defaults_of_its_hrnet(framework, expected) -> None:
    for source in (dict(extra=EXTRA), dict(arch="w18_small_v2")):
        assert fusion_defaults(MMHRNet(**source, framework=framework)) == expected, source
    # what the config writes wins over the framework's defaults
    explicit = MMHRNet(
        extra=EXTRA, framework=framework, multiscale_output=True, upsample_cfg=dict(mode="bilinear", align_corners=True)
    )
    mode, align_corners, _, outputs = fusion_defaults(explicit)
    assert (mode, align_corners, outputs) == ("bilinear", True, 4)


@pytest.mark.parametrize("cfg", [dict(extra=EXTRA), dict(arch="w18_small_v2"), dict(extra=EXTRA, head="v2")])
def test_a_config_without_framework_builds_the_same_network_under_every_scope(cfg) -> None:
    cfg = dict(type="hrnet.HRNet", **cfg)
    built = [
        build_in_scope("mmseg", MMSEG_MODELS, cfg),
        build_in_scope("mmpose", MMPOSE_MODELS, cfg),
        build_in_scope("mmdet", MMDET_MODELS, cfg),
        MMHRNet(**{k: v for k, v in cfg.items() if k != "type"}),
    ]
    reference = randomize_norm_stats(built[0])
    for model in built[1:]:
        model.load_state_dict(reference.state_dict(), strict=True)
        assert fusion_defaults(model) == fusion_defaults(reference)
        for size in (EVEN, ODD):  # odd sides: bilinear or two-step resizes would differ here
            outputs, expected = run(model, size), run(reference, size)
            assert [o.shape for o in outputs] == [e.shape for e in expected]
            assert all(torch.equal(o, e) for o, e in zip(outputs, expected))


# --------------------------------------------------------------------------------------------- mmpose
@pytest.mark.parametrize("multiscale", [False, True])
def test_equals_mmpose_hrnet(multiscale: bool) -> None:
    extra = copy.deepcopy(EXTRA)
    extra["stage4"]["multiscale_output"] = multiscale
    theirs = MMPoseHRNet(extra=copy.deepcopy(extra))
    ours = build_in_scope("mmpose", MMPOSE_MODELS, dict(type="hrnet.HRNet", extra=extra, framework="mmpose"))
    copy_weights(theirs, ours)
    equal_outputs(run(ours, EVEN), run(theirs, EVEN))
    assert len(run(ours, EVEN)) == (4 if multiscale else 1)
    # theirs upsamples by a fixed factor and fails on odd sizes; ours resizes to the branch size
    with pytest.raises(RuntimeError):
        run(theirs, ODD)
    assert run(ours, ODD)[0].shape[-2:] == (25, 33)


# --------------------------------------------------------------------------------------------- mmseg
def test_equals_mmseg_hrnet_on_even_and_odd_sizes() -> None:
    theirs = MMSegHRNet(extra=copy.deepcopy(EXTRA))
    ours = build_in_scope("mmseg", MMSEG_MODELS, dict(type="hrnet.HRNet", extra=EXTRA, framework="mmseg"))
    copy_weights(theirs, ours)
    for size in (EVEN, ODD, (473, 473)):
        equal_outputs(run(ours, size), run(theirs, size))


# --------------------------------------------------------------------------------------------- mmdet
def test_equals_mmdet_hrnet_and_hrfpn() -> None:
    their_backbone = MMDetHRNet(extra=copy.deepcopy(EXTRA))
    their_neck = HRFPN(in_channels=BRANCHES, out_channels=64)
    ours = build_in_scope("mmdet", MMDET_MODELS, dict(type="hrnet.HRNet", extra=EXTRA, framework="mmdet"))
    our_neck = MMDET_MODELS.build(dict(type="hrnet.V2pNeck", in_channels=BRANCHES, out_channels=64))
    copy_weights(their_backbone, ours)
    our_neck.load_state_dict(their_neck.state_dict(), strict=True)  # HRFPN's ConvModule keys, read as ours
    for size in ((256, 320), (224, 288)):  # 1/4 maps divisible by 16, and not (pooling floors like HRFPN)
        theirs = their_neck.eval()(list(run(their_backbone, size)))
        equal_outputs(our_neck.eval()(run(ours, size)), theirs)
    with pytest.raises(RuntimeError):  # HRNet + HRFPN crash on sides that are not multiples of 32
        their_neck(run(their_backbone, (97, 131)))
    assert len(our_neck(run(ours, (97, 131)))) == 5


# --------------------------------------------------------------------------------------------- checkpoints via configs
MMSEG_FCN = dict(
    type="EncoderDecoder",
    data_preprocessor=dict(type="SegDataPreProcessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
    backbone=dict(type="HRNet", extra=EXTRA),
    decode_head=dict(
        type="FCNHead",
        in_channels=BRANCHES,
        in_index=(0, 1, 2, 3),
        channels=sum(BRANCHES),
        input_transform="resize_concat",
        kernel_size=1,
        num_convs=1,
        concat_input=False,
        dropout_ratio=-1,
        num_classes=19,
        norm_cfg=dict(type="BN"),
        align_corners=False,
    ),
    test_cfg=dict(mode="whole"),
)


def test_mmseg_fcn_hrnet_checkpoint_loads_into_our_segmentor(tmp_path) -> None:
    """mmseg's own FCN-HRNet, saved as the Runner saves it, loads through mmengine into backbone
    ``hrnet.HRNet`` + decode head ``hrnet.V2Head``; the logits are equal."""
    theirs = build_in_scope("mmseg", MMSEG_MODELS, copy.deepcopy(MMSEG_FCN))
    randomize_norm_stats(theirs)
    path = tmp_path / "fcn_hrnet.pth"
    torch.save({"meta": {"epoch": 1}, "state_dict": theirs.state_dict()}, path)

    cfg = copy.deepcopy(MMSEG_FCN)
    cfg["backbone"] = dict(type="hrnet.HRNet", extra=EXTRA, framework="mmseg")
    head = {k: v for k, v in cfg["decode_head"].items() if k not in ("kernel_size", "num_convs", "concat_input")}
    cfg["decode_head"] = dict(head, type="hrnet.V2Head", input_transform="multiple_select")
    ours = build_in_scope("mmseg", MMSEG_MODELS, cfg)
    mmengine_load_checkpoint(ours, str(path), strict=True)
    x = torch.randn(1, 3, 97, 131)
    with torch.no_grad():
        equal_outputs([ours.eval()._forward(x)], [theirs.eval()._forward(x)])


def test_imagenet_checkpoint_through_init_cfg(tmp_path) -> None:
    """An ImageNet file (classification head included) initialises a pose backbone with no noise; the
    unused head keys are reported as ignored, and a file of another width is an error naming shapes."""
    source = randomize_norm_stats(hrnet.HRNet("w18_small_v2", head="cls"))
    path = tmp_path / "imagenet.pth"
    torch.save(source.state_dict(), path)
    cfg = dict(
        type="hrnet.HRNet", extra=EXTRA, framework="mmpose", init_cfg=dict(type="Pretrained", checkpoint=str(path))
    )
    ours = build_in_scope("mmpose", MMPOSE_MODELS, cfg)
    ours.init_weights()
    for key, value in ours.state_dict().items():
        assert torch.equal(value, source.state_dict()[key]), key
    report = ours.load_report
    assert not report.unexpected and any(k.startswith("incre_modules.") for k in report.ignored)

    wrong = tmp_path / "w32.pth"
    torch.save(hrnet.HRNet("w32", head="cls").state_dict(), wrong)
    model = build_in_scope("mmpose", MMPOSE_MODELS, dict(cfg, init_cfg=dict(type="Pretrained", checkpoint=str(wrong))))
    file_state, model_state = torch.load(wrong), model.state_dict()
    mismatches = [  # any one of them may be named: the key, the file's shape, then the model's
        rf"{re.escape(key)}.*{re.escape(str(tuple(file_state[key].shape)))}.*{re.escape(str(tuple(value.shape)))}"
        for key, value in model_state.items()
        if key in file_state and file_state[key].shape != value.shape
    ]
    assert mismatches
    with pytest.raises(hrnet.CheckpointError, match="|".join(f"(?:{m})" for m in mismatches)):
        model.init_weights()


# --------------------------------------------------------------------------------------------- controls in a framework
def test_frozen_stages_inside_an_mmpose_model() -> None:
    cfg = dict(
        type="TopdownPoseEstimator",
        data_preprocessor=dict(
            type="PoseDataPreprocessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]
        ),
        backbone=dict(
            type="hrnet.HRNet", extra=EXTRA, framework="mmpose", frozen_stages=2, norm_cfg=dict(type="SyncBN")
        ),
        head=dict(
            type="HeatmapHead",
            in_channels=BRANCHES[0],
            out_channels=17,
            deconv_out_channels=None,
            loss=dict(type="KeypointMSELoss", use_target_weight=True),
            decoder=dict(type="MSRAHeatmap", input_size=(48, 64), heatmap_size=(12, 16), sigma=2),
        ),
    )
    model = build_in_scope("mmpose", MMPOSE_MODELS, cfg)
    assert isinstance(model.backbone.bn1, nn.SyncBatchNorm)  # norm_cfg honoured
    model = revert_sync_batchnorm(model)  # what the Runner does in a single process
    model.train()
    backbone = model.backbone
    prefixes = frozen_prefixes(2)
    for name, module in backbone.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            assert module.training == (not f"{name}.".startswith(prefixes)), name
    assert backbone.stage3.training and backbone.stage4.training
    feats = model.extract_feat(torch.randn(2, 3, 64, 48))
    model.head.forward(feats).sum().backward()
    for name, param in backbone.named_parameters():
        assert (param.grad is None) == name.startswith(prefixes), name


def test_with_cp_and_norm_eval_inside_a_framework_build() -> None:
    """``with_cp`` recomputes units and fusions with the same gradients; ``norm_eval`` keeps BN in eval."""
    backbone = dict(type="hrnet.HRNet", extra=EXTRA, framework="mmdet", norm_eval=True)
    plain = build_in_scope("mmdet", MMDET_MODELS, backbone)
    checkpointed = build_in_scope("mmdet", MMDET_MODELS, dict(backbone, with_cp=True))
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    grads = []
    for model in (plain, checkpointed):
        model.train()
        assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
        sum(o.square().mean() for o in model(x)).backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
    assert all(m.grad_checkpointing for m in checkpointed.modules() if hasattr(m, "branches"))
    for name, grad in grads[0].items():
        assert max_rel_diff(grads[1][name], grad) <= 1e-5, name
