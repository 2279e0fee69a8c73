"""timm drop-in: the eleven timm HRNet names build :class:`hrnet.HRNet`.

Importing this module (``import hrnet`` does when timm is installed) replaces timm's own HRNet entries in
timm's model registry, so ``timm.create_model('hrnet_w32', ...)`` returns this package's model with the
same state-dict keys, the same pretrained configs and weights, ``features_only`` and the feature API, and
in addition any input size, gradient checkpointing and TorchScript. This is the only module that imports
timm.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, Dict, List, Sequence, Union

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import FeatureInfo, build_model_with_cfg, generate_default_cfgs, register_model
from timm.models._builder import pretrained_cfg_for_features

from .backbone import HRNet
from .fusion import check_choice
from .specs import ARCHS

# timm model name → architecture in hrnet.ARCHS; the SSLD (distilled) weights use the W18 / W48 bodies.
MODEL_ARCHS: Dict[str, str] = {
    **{f"hrnet_{arch}": arch for arch in ARCHS},
    "hrnet_w18_ssld": "w18",
    "hrnet_w48_ssld": "w48",
}
# Constructor defaults that differ per name: the SSLD checkpoints have no bias in the head convs.
MODEL_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "hrnet_w18_ssld": dict(head_conv_bias=False),
    "hrnet_w48_ssld": dict(head_conv_bias=False),
}
FEATURE_LOCATIONS: tuple = ("incre", "")
TIMM_HEAD_NAMES: Dict[str, Any] = {"classification": "cls", "": None}  # timm's spellings of ``head``


def _pretrained(**changes: Any) -> Dict[str, Any]:
    """A pretrained config of the ImageNet-1k weights hosted under timm's Hugging Face namespace."""
    base = dict(
        url="",
        hf_hub_id="timm/",
        num_classes=1000,
        input_size=(3, 224, 224),
        pool_size=(7, 7),
        crop_pct=0.875,
        interpolation="bilinear",
        mean=IMAGENET_DEFAULT_MEAN,
        std=IMAGENET_DEFAULT_STD,
        first_conv="conv1",
        classifier="classifier",
        license="mit",
    )
    base.update(changes)
    return base


_GLUON = dict(interpolation="bicubic", license="apache-2.0")  # MXNet GluonCV ports
_SSLD = dict(crop_pct=0.95, test_crop_pct=1.0, test_input_size=(3, 288, 288))  # PaddleClas distilled

# ``name.tag`` → config; a name's first tag is its default weights.
default_cfgs = generate_default_cfgs(
    {
        "hrnet_w18_small.gluon_in1k": _pretrained(**_GLUON),
        "hrnet_w18_small.ms_in1k": _pretrained(),
        "hrnet_w18_small_v2.gluon_in1k": _pretrained(**_GLUON),
        "hrnet_w18_small_v2.ms_in1k": _pretrained(),
        "hrnet_w18.ms_aug_in1k": _pretrained(crop_pct=0.95),
        **{f"hrnet_w{width}.ms_in1k": _pretrained() for width in (18, 30, 32, 40, 44, 48, 64)},
        "hrnet_w18_ssld.paddle_in1k": _pretrained(**_SSLD),
        "hrnet_w48_ssld.paddle_in1k": _pretrained(**_SSLD),
    }
)


class HRNetFeatures(HRNet):
    """``features_only=True``: the taps at ``out_indices`` as a list, in increasing order.

    ``feature_location='incre'`` widens the branch taps by the classification head's ``incre_modules``
    (128 … 1024 channels), ``''`` returns the raw branch maps; tap 0 is the stride-2 stem either way.
    """

    def __init__(
        self,
        arch: str = "w32",
        feature_location: str = "incre",
        out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3, 4),
        **kwargs: Any,
    ) -> None:
        check_choice("feature_location", feature_location, FEATURE_LOCATIONS)
        super().__init__(arch, head="cls" if feature_location == "incre" else None, **kwargs)
        self.drop_head()  # keeps incre_modules
        taken, _ = self.take_taps(self.tap_count(), out_indices)
        self.feature_info = FeatureInfo(copy.deepcopy(self.feature_info), out_indices)
        self.out_indices = sorted(set(taken))

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        if not torch.jit.is_scripting():
            self.check_input(x)
        stem = self.stem_stride2(x)
        if self.out_indices[-1] == 0:
            return [stem]
        taps = [stem] + self.branch_taps(self.forward_stages(self.stem_stride4(stem)))
        return [taps[i] for i in self.out_indices]


def create_hrnet(name: str, pretrained: bool = False, **kwargs: Any) -> HRNet:
    """Build timm model ``name`` through timm's builder (pretrained configs, weight loading, feature wrappers).

    ``features_only=True`` gives :class:`HRNetFeatures` (or timm's generic wrapper over
    ``forward_intermediates`` when ``feature_cls`` is given, e.g. ``'getter'``). ``head`` may be any head of
    :class:`hrnet.HRNet` (default ``'cls'``).
    """
    if name not in MODEL_ARCHS:
        raise ValueError(f"unknown timm HRNet name {name!r}; expected one of {sorted(MODEL_ARCHS)}")
    for key, value in MODEL_DEFAULTS.get(name, {}).items():
        kwargs.setdefault(key, value)
    output_stride = kwargs.pop("output_stride", 32)
    if output_stride != 32:
        raise ValueError(f"output_stride must be 32 (HRNet's lowest branch is at 1/32), got {output_stride!r}")
    placement = {key: kwargs.pop(key) for key in ("device", "dtype") if key in kwargs}
    features_only = kwargs.pop("features_only", False)
    via_getter = features_only and ("feature_cls" in kwargs or "feature_cls" in kwargs.get("feature_cfg", {}))
    if features_only and not via_getter:
        model_cls, kwargs_filter = HRNetFeatures, ("num_classes", "global_pool")
        strict = kwargs.pop("pretrained_strict", False)  # the checkpoints also hold the classification head
    else:
        head = kwargs.pop("head", "cls")
        kwargs["head"] = TIMM_HEAD_NAMES.get(head, head) if isinstance(head, str) else head
        model_cls, kwargs_filter = HRNet, None
        strict = kwargs.pop("pretrained_strict", kwargs["head"] == "cls" and not via_getter)
    model = build_model_with_cfg(
        model_cls,
        name,
        pretrained,
        arch=MODEL_ARCHS[name],
        pretrained_strict=strict,
        kwargs_filter=kwargs_filter,
        features_only=via_getter,
        **kwargs,
    )
    if model_cls is HRNetFeatures:
        model.pretrained_cfg = model.default_cfg = pretrained_cfg_for_features(model.pretrained_cfg)
    if placement:
        model.to(**placement)
    return model


def _entrypoint(name: str):
    """The registry entry for ``name`` (timm registers a function under its ``__name__``)."""

    def create(pretrained: bool = False, **kwargs: Any) -> HRNet:
        return create_hrnet(name, pretrained, **kwargs)

    create.__name__ = create.__qualname__ = name
    create.__doc__ = f"HRNet-{MODEL_ARCHS[name].upper()} ImageNet classifier (``hrnet.HRNet``), as timm's {name}."
    return create


def _register() -> None:
    """Put every name into timm's registry, replacing timm's entries without its overwrite warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Overwriting hrnet_\w+ in registry", category=UserWarning)
        for name in MODEL_ARCHS:
            globals()[name] = register_model(_entrypoint(name))


__all__ = ["FEATURE_LOCATIONS", "HRNetFeatures", "MODEL_ARCHS", "create_hrnet", "default_cfgs"]
_register()
