"""Every checkpoint key layout of the public HRNet code, as data: read by ``hrnet.checkpoint`` (load /
convert) and by the OpenMMLab adapters (``hrnet.mm``), which read mmdet's HRFPN and mmseg's FCN-head keys
into the V2p / V2 heads. See ``hrnet.checkpoint`` for the sources of each layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, MutableMapping, Optional, Tuple

Renames = Tuple[Tuple[str, str], ...]  # (their prefix, our prefix) pairs; ``{i}`` stands for an index

# The heads' own layouts, relative to the head module: mmdet's HRFPN neck wraps each conv in a ConvModule
# (``reduction_conv.conv``, ``fpn_convs.{i}.conv``; mmdet 1.x: ``fpn_conv.{i}``); mmseg's FCN head on the
# concatenated branches names the V2 head's conv + BN ``convs.0.conv`` / ``convs.0.bn`` (its conv has no bias).
HRFPN_KEYS: Renames = (
    ("reduction_conv.conv.", "reduction_conv."),
    ("fpn_convs.{i}.conv.", "fpn_convs.{i}."),
    ("fpn_conv.{i}.", "fpn_convs.{i}."),
)
FCN_HEAD_KEYS: Renames = (("convs.0.conv.", "proj.0."), ("convs.0.bn.", "proj.1."))


def under(theirs: str, ours: str, renames: Renames) -> Renames:
    """``renames`` for a module that sits under ``theirs`` in their files and under ``ours`` in ours."""
    return tuple((theirs + a, ours + b) for a, b in renames)


CLS_HEAD_KEYS = r"^(incre_modules|downsamp_modules|final_layer|classifier)\."
CLS_HEAD_CONVS = r"^(downsamp_modules\.\d+|final_layer)$"  # Sequential(conv, BN, ReLU) of the ImageNet head
PROJ_CONV = r"^head\.proj$"  # the V1h / V2 head's Sequential(conv, BN, ReLU)
NATIVE_KEY = re.compile(
    r"^(conv1|bn1|conv2|bn2|layer1|transition[1-3]|stage[2-4]|incre_modules|downsamp_modules|final_layer"
    r"|classifier|head)\."
)
OPENMMLAB_PARTS = (
    "neck", "decode_head", "auxiliary_head", "head", "keypoint_head", "rpn_head", "roi_head", "bbox_head",
    "mask_head", "data_preprocessor",
)  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """How one family of files names the network.

    ``renames`` are (file prefix, our prefix) pairs, ``{i}`` standing for an index; the first pair whose
    prefix fits a key wins (on export: the first whose *our* prefix fits). Other keys carry ``prefix``
    (stripped on import, added on export) or already use our names. ``not_needed`` matches file keys of
    task heads and losses that no ``HRNet`` holds; ``markers`` identify the layout; ``cannot_hold`` matches
    our keys the layout has no place for; ``conv_bias`` says, per conv + BN block, whether its conv has a bias.
    """

    name: str
    files: str
    renames: Tuple[Tuple[str, str], ...] = ()
    prefix: str = ""
    not_needed: Tuple[str, ...] = ()
    markers: Tuple[str, ...] = ()
    cannot_hold: Tuple[str, ...] = ()
    conv_bias: Tuple[Tuple[str, bool], ...] = ()


# Detection tries these in order; ``timm`` (no markers) is the fallback.
LAYOUTS: Dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout(
            "mmpretrain",
            "mmpretrain / mmcls ImageClassifier (HRNet backbone + HRFuseScales neck + LinearClsHead)",
            renames=(
                ("neck.0.increase_layers.", "incre_modules."),
                ("neck.0.downsample_layers.{i}.conv.", "downsamp_modules.{i}.0."),
                ("neck.0.downsample_layers.{i}.bn.", "downsamp_modules.{i}.1."),
                ("neck.0.final_layer.conv.", "final_layer.0."),
                ("neck.0.final_layer.bn.", "final_layer.1."),
                ("head.fc.", "classifier."),
            ),
            prefix="backbone.",
            not_needed=(r"^data_preprocessor\.",),
            markers=(r"^neck\.0\.(increase_layers|downsample_layers|final_layer)\.", r"^head\.fc\."),
            cannot_hold=(r"^head\.",),
            conv_bias=((CLS_HEAD_CONVS, False),),
        ),
        Layout(
            "mm",
            "OpenMMLab model (mmpose / mmseg / mmdet / mmengine): HRNet under 'backbone.'",
            renames=under("neck.", "head.", HRFPN_KEYS) + under("decode_head.", "head.", FCN_HEAD_KEYS),
            prefix="backbone.",
            not_needed=(rf"^({'|'.join(OPENMMLAB_PARTS)})\.",),
            markers=(r"^backbone\.",),
            conv_bias=((PROJ_CONV, False),),
        ),
        Layout(
            "official-seg",
            "HRNet-Semantic-Segmentation (HRNetV2 / HRNetV2 + OCR, saved through FullModel)",
            renames=(
                ("model.last_layer.0.", "head.proj.0."),
                ("model.last_layer.1.", "head.proj.1."),
                ("last_layer.0.", "head.proj.0."),
                ("last_layer.1.", "head.proj.1."),
            ),
            prefix="model.",
            not_needed=(
                r"^loss\.",
                r"^(model\.)?(last_layer\.3|conv3x3_ocr|ocr_gather_head|ocr_distri_head|cls_head|aux_head)\.",
            ),
            markers=(r"^model\.", r"^loss\.", r"^last_layer\.", r"^(conv3x3_ocr|ocr_distri_head|cls_head|aux_head)\."),
            cannot_hold=(r"^head\.(reduction_conv|fpn_convs)\.",),
            conv_bias=((PROJ_CONV, True),),
        ),
        Layout(
            "official-pose",
            "deep-high-resolution-net (HRNetV1 pose network with its keypoint conv)",
            not_needed=(r"^final_layer\.(weight|bias)$",),
            markers=(r"^final_layer\.weight$",),
            cannot_hold=(r"^head\.",),
        ),
        Layout(
            "timm",
            "timm / official ImageNet classification (HRNet-Image-Classification) / this package",
            cannot_hold=(r"^head\.",),
            conv_bias=((CLS_HEAD_CONVS, True), (PROJ_CONV, True)),
        ),
    )
}
TARGETS: Tuple[str, ...] = ("timm", "official", "mm", "mmpretrain")  # ``convert`` destinations
WRAPPED_TARGETS: Tuple[str, ...] = ("mm", "mmpretrain")  # written as {'state_dict': ..., 'meta': ...}


def _template(prefix: str) -> re.Pattern:
    return re.compile("^" + re.escape(prefix).replace(r"\{i\}", r"(?P<i>\d+)"))


def rename_key(key: str, source: str, target: str) -> Optional[str]:
    """``key`` with prefix template ``source`` replaced by ``target``; None when it does not fit."""
    match = _template(source).match(key)
    if match is None:
        return None
    index = match.groupdict().get("i")
    return target.replace("{i}", index or "") + key[match.end() :]


def matches_any(key: str, patterns: Tuple[str, ...]) -> bool:
    return any(re.search(pattern, key) for pattern in patterns)


def rename_in_place(state_dict: MutableMapping, prefix: str, renames: Renames) -> None:
    """Rename the keys under ``prefix`` by the first fitting pair of ``renames`` (a load-state-dict pre-hook's
    job: reading another library's layout into a module of ours)."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        local = key[len(prefix) :]
        ours = next((n for n in (rename_key(local, a, b) for a, b in renames) if n is not None), None)
        if ours is not None:
            state_dict[prefix + ours] = state_dict.pop(key)
