"""Table 7 of the paper: #params and GFLOPs of the detection networks, each built by mmdet from a config — the
baselines from mmdet's own configs, HRNetV2p from this package's (one per paper row) — and counted under the paper's
conventions: ``CONVENTIONS`` for #params, ``GFLOPS_CONVENTIONS`` for GFLOPs (one per source of the printed numbers).

Both GFLOPs conventions build the networks on the meta device and count through forward hooks on shape-only passes;
the RoI heads take RoI features of the extractors' output shape directly, as neither convention counts RoI Align.

How the conventions were found, what each gives, and the alternatives tried: docs/complexity.md, "Table 7".
"""

from __future__ import annotations

import copy
import os
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.pooling import _AdaptiveAvgPoolNd, _AdaptiveMaxPoolNd, _AvgPoolNd, _MaxPoolNd

from ..complexity import multiply_adds
from ..specs import get_arch
from ..tables import equal_at_precision

ConvertedCount = Callable[[nn.Module], float]


def conv_and_linear_binary_millions(model: nn.Module) -> float:
    weights = (p for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) for p in m.parameters(False))
    return sum(p.numel() for p in weights) / 2**20


def all_millions(model: nn.Module) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e6


def trainable_millions(model: nn.Module) -> float:
    return sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6


CONVENTIONS: Dict[str, Tuple[str, ConvertedCount]] = {
    "Faster R-CNN": ("conv + fc parameters / 2^20 (inferred)", conv_and_linear_binary_millions),
    "Cascade R-CNN": ("all parameters / 10^6", all_millions),
    "Mask R-CNN": ("all parameters / 10^6", all_millions),
    "Cascade Mask R-CNN": ("all parameters / 10^6", all_millions),
    "Hybrid Task Cascade": ("all parameters / 10^6", all_millions),
    "FCOS": ("trainable parameters / 10^6", trainable_millions),
}


@dataclass(frozen=True)
class DetectionRow:
    """One column of Table 7: framework, backbone, the config that builds it, the printed #params (M) and GFLOPs."""

    framework: str
    backbone: str
    config: str  # 'mmdet::<path>' (mmdet's own) or a path under this package's configs/
    printed: str
    printed_gflops: str
    known_difference: str = ""
    known_gflops_difference: str = ""


X101_FASTER = (
    "X-101-64x4d Faster R-CNN counts 94.85 under the convention that gives every other Faster R-CNN value; "
    "the printed 94.9 is 0.05 higher"
)
CASCADE_FAMILY_GFLOPS = (
    "Mask R-CNN, Cascade R-CNN, Cascade Mask R-CNN and HTC count 0.55-1.60 GFLOPs under the printed values with "
    "mmdetection v1's get_flops; the differences between these frameworks match, the shared part does not "
    "(see hrnet.mm.table7)"
)
FCOS_RESNET_GFLOPS = (
    "FCOS ResNet-50 / 101 (printed from the FCOS authors' implementation) count 0.54 / 1.61 GFLOPs over the "
    "printed values under the convention that gives FCOS HRNetV2p-W18 / W32 exactly"
)


def _rows() -> Tuple[DetectionRow, ...]:
    ours = "det/mmdet_{}_hrnetv2p-w{}_{}_coco-800x1333.py"
    # framework: (baselines: name, mmdet config, printed #params and GFLOPs; our stem and schedule; ours printed)
    table = {
        "Faster R-CNN": (
            [("R-50", "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py", "39.8", "172.3"),
             ("R-101", "faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py", "57.8", "239.4"),
             ("X-101", "faster_rcnn/faster-rcnn_x101-64x4d_fpn_1x_coco.py", "94.9", "381.8")],
            ("faster-rcnn", "1x"), (("26.2", "159.1"), ("45.0", "245.3"), ("79.4", "399.1")),
        ),
        "Cascade R-CNN": (
            [("R-50", "cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py", "69.4", "226.2"),
             ("R-101", "cascade_rcnn/cascade-rcnn_r101_fpn_1x_coco.py", "88.4", "298.7"),
             ("X-101", "cascade_rcnn/cascade-rcnn_x101-64x4d_fpn_1x_coco.py", "127.3", "448.3")],
            ("cascade-rcnn", "20e"), (("55.1", "207.8"), ("74.9", "300.8"), ("111.0", "466.5")),
        ),
        "Mask R-CNN": (
            [("R-50", "mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py", "44.4", "266.5"),
             ("R-101", "mask_rcnn/mask-rcnn_r101_fpn_1x_coco.py", "63.4", "338.8")],
            ("mask-rcnn", "1x"), (("30.1", "247.9"), ("49.9", "341.0")),
        ),
        "Cascade Mask R-CNN": (
            [("R-50", "cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py", "77.3", "431.7"),
             ("R-101", "cascade_rcnn/cascade-mask-rcnn_r101_fpn_1x_coco.py", "96.3", "504.1"),
             ("X-101", "cascade_rcnn/cascade-mask-rcnn_x101-64x4d_fpn_1x_coco.py", "135.2", "653.7")],
            ("cascade-mask-rcnn", "20e"), (("63.1", "413.1"), ("82.9", "506.2"), ("118.9", "671.9")),
        ),
        "Hybrid Task Cascade": (
            [("R-50", "htc/htc_r50_fpn_1x_coco.py", "80.3", "476.9"),
             ("R-101", "htc/htc_r101_fpn_20e_coco.py", "99.3", "549.2"),
             ("X-101", "htc/htc_x101-64x4d_fpn_16xb1-20e_coco.py", "138.2", "698.9")],
            ("htc", "20e"), (("66.1", "458.3"), ("85.9", "551.4"), ("121.9", "717.0")),
        ),
        "FCOS": (
            [("R-50", "fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py", "32.0", "190.0"),
             ("R-101", "fcos/fcos_r101-caffe_fpn_gn-head-1x_coco.py", "51.0", "261.2")],
            ("fcos", "2x"), (("17.5", "180.3"), ("37.3", "273.3")),
        ),
    }  # fmt: skip
    rows: List[DetectionRow] = []
    for framework, (baselines, (stem, schedule), printed_ours) in table.items():
        gap = "" if framework in ("Faster R-CNN", "FCOS") else CASCADE_FAMILY_GFLOPS
        for baseline, width, (our_params, our_gflops) in zip(baselines, (18, 32, 48), printed_ours):
            name, config, params, gflops = baseline
            known = X101_FASTER if (framework, name) == ("Faster R-CNN", "X-101") else ""
            baseline_gap = FCOS_RESNET_GFLOPS if framework == "FCOS" else gap
            rows.append(DetectionRow(framework, name, f"mmdet::{config}", params, gflops, known, baseline_gap))
            config_ours = ours.format(stem, width, schedule)
            rows.append(DetectionRow(framework, f"HRNetV2p-W{width}", config_ours, our_params, our_gflops, "", gap))
    return tuple(rows)


ROWS: Tuple[DetectionRow, ...] = _rows()

# The paper's CenterNet is Duan et al.'s keypoint-triplet detector, which no OpenMMLab package has
# (docs/reproduction.md, "CenterNet (Tables 7, 9 and 11): what is missing"); its columns are listed with the
# printed values only.
CENTERNET_MISSING = "the keypoint-triplet CenterNet of Duan et al. is not in mmdet (docs/reproduction.md: 'CenterNet')"
CENTERNET_PRINTED = (("Hourglass-52", "104.8", "227.0"), ("HRNetV2p-W48", "73.6", "217.1"),
                     ("Hourglass-104", "210.1", "388.4"), ("HRNetV2p-W64", "127.7", "318.5"))  # fmt: skip


def config_path(config: str, configs_dir: str) -> str:
    """The file of a config: ``package::path`` where mmengine finds a scoped ``_base_`` (under ``.mim/configs`` of
    the installed package), any other name under ``configs_dir``."""
    if "::" not in config:
        return os.path.join(configs_dir, config)
    from mmengine.config.utils import MODULE2PACKAGE, _get_external_cfg_base_path, _get_package_and_cfg_path
    from mmengine.utils import get_installed_path, is_installed

    scope = config.partition("::")[0]
    if scope not in MODULE2PACKAGE:
        known = ", ".join(MODULE2PACKAGE)
        raise ValueError(f"expected a package mmengine reads configs from ({known}) before '::', got {config!r}")
    package, relative = _get_package_and_cfg_path(config)
    if not is_installed(package):
        raise ModuleNotFoundError(f"expected {package} installed: {config} is one of its configs")
    return _get_external_cfg_base_path(get_installed_path(package), relative)


def model_config(path: str) -> ConfigDict:
    """The config's ``model``, without its pretrained backbone (counts only)."""
    model_cfg = Config.fromfile(path).model
    if model_cfg.get("backbone", {}).get("init_cfg"):
        model_cfg.backbone.init_cfg = None
    return model_cfg


def build_model(model_cfg: ConfigDict) -> nn.Module:
    """A model config built by mmdet on the meta device (shape-only: no memory, same counts), in eval mode."""
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope("mmdet"), torch.device("meta"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Default ``avg_non_ignore``")  # mmdet's loss notice, not ours
        return MODELS.build(model_cfg).eval()


def build_detector(path: str, framework: str = "") -> nn.Module:
    """The config's model as mmdet builds it, without loading its pretrained backbone (counts only)."""
    model_cfg = model_config(path)
    if framework == "Hybrid Task Cascade":  # the first stage's conv_res, built (unused) by the code of the time
        model_cfg.roi_head.mask_head[0].with_conv_res = True
    return build_model(model_cfg)


def count_table7(configs_dir: str, rows: Tuple[DetectionRow, ...] = ROWS) -> List[float]:
    """Our #params (M, in the framework's convention) of each row."""
    counts = []
    for row in rows:
        model = build_detector(config_path(row.config, configs_dir), row.framework)
        counts.append(CONVENTIONS[row.framework][1](model))
    return counts


# GFLOPs --------------------------------------------------------------------------------------------------------------

TEST_INPUT = (800, 1216)  # the paper's 800×1200, padded to a multiple of 32
FASTER_RCNN_ROIS = 512  # "512 proposals fed into R-CNN"
DUMMY_BOX_ROIS = 1000  # mmdetection v1's forward_dummy: 1000 random proposals through every box head ...
DUMMY_MASK_ROIS = 100  # ... and the first 100 of them through every mask head

OperationRule = Callable[[nn.Module, Tuple[Any, ...], Any], int]


def count_operations(model: nn.Module, run: Callable[[], None], rule: OperationRule) -> int:
    """The sum of ``rule(module, inputs, output)`` over every module call while ``run()`` runs (no autograd)."""
    total = 0

    def hook(module: nn.Module, inputs: Tuple[Any, ...], output: Any) -> None:
        nonlocal total
        total += rule(module, inputs, output)

    handles = [module.register_forward_hook(hook) for module in model.modules()]
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return total


def conv_and_linear_multiply_adds(module: nn.Module, inputs: Tuple[Any, ...], output: Any) -> int:
    """The paper's multiply-adds (``hrnet.complexity``): conv and linear weights per output position."""
    return multiply_adds(module, output) if isinstance(module, (_ConvNd, nn.Linear)) else 0


POOLING = (_AvgPoolNd, _MaxPoolNd, _AdaptiveAvgPoolNd, _AdaptiveMaxPoolNd)
ACTIVATIONS = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6)


def get_flops_operations(module: nn.Module, inputs: Tuple[Any, ...], output: Any) -> int:
    """What mmdetection v1's get_flops (flops-counter.pytorch's rules) counts for one call of a module.

    Convolutions, transposed ones included, count ``weight.numel()`` plus their bias per output position (the
    counter handled every ``_ConvNd`` alike); fully connected layers ``weight.numel()`` per row; normalisation 2 per
    input element (1 without affine); activations 1 per output element; pooling 1 per input element; upsampling
    modules 1 per output element. Anything else — functional calls, RoI Align, additions — counts nothing.
    """
    if isinstance(module, _ConvNd):
        per_position = module.weight.numel() + (module.out_channels if module.bias is not None else 0)
        return per_position * output.shape[0] * output[0, 0].numel()
    if isinstance(module, nn.Linear):
        return module.weight.numel() * (output.numel() // module.out_features)
    if isinstance(module, (_BatchNorm, nn.GroupNorm)):
        return inputs[0].numel() * (2 if module.affine else 1)
    if isinstance(module, ACTIVATIONS):
        return output.numel()
    if isinstance(module, POOLING):
        return inputs[0].numel()
    if isinstance(module, nn.Upsample):
        return output.numel()
    return 0


def with_caffe_style_resnet(model_cfg: ConfigDict) -> ConfigDict:
    """ResNet backbones (not ResNeXt) with the stride on the 1×1 convolution, as Faster R-CNN's printed values."""
    model_cfg = copy.deepcopy(model_cfg)
    if model_cfg.backbone.type == "ResNet":
        model_cfg.backbone.style = "caffe"
    return model_cfg


def with_module_layout_of_the_time(model_cfg: ConfigDict) -> ConfigDict:
    """``hrnet.HRNet`` / ``hrnet.V2pNeck`` swapped for mmdet's ``HRNet`` / ``HRFPN`` of the same architecture.

    Same convolutions, but ReLU and upsampling as modules, the layout that module-counting rules saw in the
    detection code of the time; other configs are returned unchanged.
    """
    if model_cfg.backbone.type != "hrnet.HRNet":
        return model_cfg
    model_cfg = copy.deepcopy(model_cfg)
    backbone = model_cfg.backbone
    if backbone.get("extra"):
        extra = backbone.extra
    elif backbone.get("arch"):
        extra = get_arch(backbone.arch).as_mm_extra()
    else:
        raise ValueError(f"expected hrnet.HRNet with `extra` or `arch`, got keys {sorted(backbone)}")
    model_cfg.backbone = ConfigDict(type="HRNet", extra=extra)
    if model_cfg.neck.type != "hrnet.V2pNeck":
        raise ValueError(f"expected hrnet.V2pNeck after hrnet.HRNet, got neck type {model_cfg.neck.type!r}")
    neck = {key: value for key, value in model_cfg.neck.items() if key not in ("type", "align_corners", "init_cfg")}
    model_cfg.neck = ConfigDict(type="HRFPN", **neck)
    return model_cfg


def roi_features(extractor: nn.Module, num_rois: int) -> torch.Tensor:
    """Meta RoI features of the shape ``extractor`` gives (neither convention counts the RoI Align itself)."""
    return torch.zeros(num_rois, extractor.out_channels, *extractor.roi_layers[0].output_size, device="meta")


def as_list(heads: Any) -> List[nn.Module]:
    return list(heads) if isinstance(heads, nn.ModuleList) else [heads]


def neck_features(model: nn.Module) -> Tuple[torch.Tensor, ...]:
    return model.neck(model.backbone(torch.zeros(1, 3, *TEST_INPUT, device="meta")))


def faster_rcnn_gflops(model_cfg: ConfigDict, resnet_style: str = "caffe") -> float:
    """Faster R-CNN's convention: conv + fc multiply-adds / 2^30 — backbone, neck, RPN head on every level — and
    ``FASTER_RCNN_ROIS`` RoIs through the box head's shared fcs (its cls / reg fcs left out). ``resnet_style``:
    'caffe' (the printed values) or 'pytorch' (as mmdet builds its ResNets)."""
    if resnet_style not in ("caffe", "pytorch"):
        raise ValueError(f"resnet_style must be 'caffe' or 'pytorch', got {resnet_style!r}")
    model = build_model(with_caffe_style_resnet(model_cfg) if resnet_style == "caffe" else model_cfg)
    image_part = count_operations(model, lambda: model.rpn_head(neck_features(model)), conv_and_linear_multiply_adds)
    per_roi = sum(fc.weight.numel() for fc in model.roi_head.bbox_head.shared_fcs)
    return (image_part + FASTER_RCNN_ROIS * per_roi) / 2**30


def forward_dummy(model: nn.Module) -> None:
    """mmdetection v1's ``forward_dummy``: the dense head on every level, then every box head on
    ``DUMMY_BOX_ROIS`` RoIs and every mask head on ``DUMMY_MASK_ROIS`` (HTC: semantic head, mask information flow)."""
    from mmdet.models.roi_heads.mask_heads import HTCMaskHead

    features = neck_features(model)
    (model.rpn_head if hasattr(model, "rpn_head") else model.bbox_head)(features)
    roi_head = getattr(model, "roi_head", None)
    if roi_head is None:
        return
    if getattr(roi_head, "with_semantic", False):
        roi_head.semantic_head(features)
    for extractor, box_head in zip(as_list(roi_head.bbox_roi_extractor), as_list(roi_head.bbox_head)):
        box_head(roi_features(extractor, DUMMY_BOX_ROIS))
    if getattr(roi_head, "with_mask", False):
        mask_features = roi_features(as_list(roi_head.mask_roi_extractor)[-1], DUMMY_MASK_ROIS)
        previous = None
        for mask_head in as_list(roi_head.mask_head):
            if isinstance(mask_head, HTCMaskHead):
                _, previous = mask_head(mask_features, previous)
            else:
                mask_head(mask_features)


def get_flops_gflops(model_cfg: ConfigDict) -> float:
    """The other frameworks' convention: mmdetection v1's get_flops, in units of 10^9."""
    model = build_model(with_module_layout_of_the_time(model_cfg))
    return count_operations(model, lambda: forward_dummy(model), get_flops_operations) / 1e9


GflopsCount = Callable[[ConfigDict], float]
GET_FLOPS = ("mmdet v1 get_flops / 10^9: 1000 RoIs, masks on 100", get_flops_gflops)
GFLOPS_CONVENTIONS: Dict[str, Tuple[str, GflopsCount]] = {
    "Faster R-CNN": ("conv + fc MACs / 2^30, 512 RoIs (inferred)", faster_rcnn_gflops),
    "Cascade R-CNN": GET_FLOPS,
    "Mask R-CNN": GET_FLOPS,
    "Cascade Mask R-CNN": GET_FLOPS,
    "Hybrid Task Cascade": GET_FLOPS,
    "FCOS": ("mmdet v1 get_flops / 10^9 (single stage: no RoIs)", get_flops_gflops),
}


def count_table7_gflops(configs_dir: str, rows: Tuple[DetectionRow, ...] = ROWS) -> List[float]:
    """Our GFLOPs (in the framework's convention, at ``TEST_INPUT``) of each row."""
    return [GFLOPS_CONVENTIONS[row.framework][1](model_config(config_path(row.config, configs_dir))) for row in rows]


def _print_column(
    title: str, unit: str, rows: Sequence[DetectionRow], counts: Sequence[float], gflops: bool, notes: List[str]
) -> int:
    print(f"| framework | backbone | {title} ours | {title} printed | convention | match |")
    print("|---|---|---|---|---|---|")
    failures = 0
    for row, ours in zip(rows, counts):
        printed = row.printed_gflops if gflops else row.printed
        known = row.known_gflops_difference if gflops else row.known_difference
        matches = equal_at_precision(ours, printed)
        mark = "yes" if matches else "NO"
        if known and not matches:
            if known not in notes:
                notes.append(known)
            mark = f"known difference [T7-{notes.index(known) + 1}]"
        elif not matches:
            failures += 1
        convention = (GFLOPS_CONVENTIONS if gflops else CONVENTIONS)[row.framework][0]
        print(f"| {row.framework} | {row.backbone} | {ours:.2f}{unit} | {printed}{unit} | {convention} | {mark} |")
    return failures


def print_table7(configs_dir: str) -> int:
    """Print Table 7's #params and GFLOPs beside the printed values; the number of cells that differ without a
    documented reason."""
    notes: List[str] = []
    print("\nTable 7 (COCO detection, #Params) — each network built by mmdet from its config")
    failures = _print_column("#Params", "M", ROWS, count_table7(configs_dir), False, notes)
    print(f"\nTable 7 (COCO detection, GFLOPs at {TEST_INPUT[0]}×{TEST_INPUT[1]}) — conventions in hrnet.mm.table7")
    failures += _print_column("GFLOPs", "", ROWS, count_table7_gflops(configs_dir), True, notes)
    print("Configs: mmdet's own for the baselines (mmdet::...), configs/det/ for HRNetV2p; see hrnet.mm.table7.")
    for index, text in enumerate(notes, start=1):
        print(f"  [T7-{index}] {text}.")
    print("\nTable 7, CenterNet columns (511×511) — not built: " + CENTERNET_MISSING)
    print("| backbone | #Params printed | GFLOPs printed |")
    print("|---|---|---|")
    for backbone, params, gflops in CENTERNET_PRINTED:
        print(f"| {backbone} | {params}M | {gflops} |")
    return failures
