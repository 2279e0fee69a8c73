"""timm drop-in: the eleven timm HRNet names build :class:`hrnet.HRNet` (through :class:`HighResolutionNet`).

Importing this module (``import hrnet`` does when timm is installed) replaces timm's own HRNet entries in
timm's model registry, so ``timm.create_model('hrnet_w32', ...)`` returns this package's model with the
same state-dict keys, the same pretrained configs and weights, ``features_only`` and the feature API, and
in addition any input size, gradient checkpointing and TorchScript. This is the only module that imports
timm.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from timm.layers import create_classifier
from timm.models import FeatureInfo, build_model_with_cfg, register_model
from timm.models import hrnet as timm_hrnet
from timm.models._builder import pretrained_cfg_for_features
from timm.models._features import feature_take_indices
from torch import nn

from ..fusion import check_choice
from ..heads import CLASSIFICATION_FEATURES, INCRE_CHANNELS
from ..model import HRNet
from ..module import Stage, Transition
from ..specs import ARCHS
from ..units import batch_norm

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


def core_head(head: Optional[str]) -> Optional[str]:
    """``head`` as :class:`hrnet.HRNet` names it (timm's spellings mapped, ours kept)."""
    return TIMM_HEAD_NAMES.get(head, head) if isinstance(head, str) else head


# timm's own pretrained configs of these names (the ImageNet weights the models load, their preprocessing), copied
# so that re-registering the names keeps them; ``name`` → DefaultCfg, a name's first tag is its default weights.
default_cfgs = {name: copy.deepcopy(timm_hrnet.default_cfgs[name]) for name in MODEL_ARCHS}


class HighResolutionNet(HRNet):
    """:class:`hrnet.HRNet` with timm's model interface: what ``timm.create_model('hrnet_w32', ...)`` returns.

    The classifier and its pooling come from timm's own factory (every ``global_pool`` timm accepts: ``'avg'``,
    ``'max'``, ``'avgmax'``, ``'catavgmax'``, ``''``); feature taps follow timm's HRNet: tap 0 is the stem
    after its first conv (stride 2), taps 1 … 4 the branch maps leaving stage 4, widened by ``incre_modules``
    when the model has them. ``head`` may be any head of :class:`hrnet.HRNet` (timm's ``'classification'``
    and ``''`` included).
    """

    def __init__(
        self,
        arch: str = "w32",
        head: Optional[str] = "cls",
        num_classes: int = 1000,
        global_pool: str = "avg",
        drop_rate: float = 0.0,
        **options: Any,
    ) -> None:
        # the core's classifier is not built (num_classes=0): timm's factory makes pooling and classifier below
        super().__init__(arch, core_head(head), num_classes=0, drop_rate=drop_rate, **options)
        self.num_features = self.head_hidden_size = self.out_channels[0]
        if self.final_layer is not None:
            self.num_classes = num_classes
            reference = self.final_layer[0].weight
            self.global_pool, self.head_drop, self.classifier = create_classifier(
                CLASSIFICATION_FEATURES,
                num_classes,
                pool_type=global_pool,
                drop_rate=drop_rate,
                device=reference.device,
                dtype=reference.dtype,
            )
            self.head_hidden_size = self.num_features * self.global_pool.feat_mult()
        widths = INCRE_CHANNELS if self.incre_modules is not None else self.branch_channels
        self.feature_info: List[Dict[str, Any]] = [dict(num_chs=self.spec.stem_width, reduction=2, module="stem")]
        self.feature_info += [
            dict(num_chs=c, reduction=r, module=f"stage{i + 1}")
            for i, (c, r) in enumerate(zip(widths, self.branch_strides))
        ]
        self.stem_only = False  # set by ``prune_intermediate_layers`` when only tap 0 is kept

    # ------------------------------------------------------------------ features and head
    def tap_count(self) -> int:
        """The stem plus every branch leaving the last stage (one for V1 / V1h)."""
        return 2 if self.head_type in ("v1", "v1h") else 1 + len(self.branch_channels)

    @torch.jit.ignore
    def forward_features(self, x: torch.Tensor) -> Union[torch.Tensor, List[torch.Tensor]]:
        """Classification: the 2048-channel map before pooling; otherwise the branch maps (the stem map after
        a stem-only prune)."""
        xs = self.forward_trunk(x)
        if self.stem_only:
            return xs[0]
        if self.final_layer is not None:
            return self.merge_branches(self.widen_branches(xs))
        return xs

    @torch.jit.ignore
    def forward_head(self, x: Union[torch.Tensor, List[torch.Tensor]], pre_logits: bool = False):
        """Pool, dropout and classifier (skipped with ``pre_logits``); branch maps pass through unchanged."""
        if isinstance(x, list):
            return x
        return self.classify(x, pre_logits)

    @torch.jit.ignore
    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: Union[int, Sequence[int], None] = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[Any, List[torch.Tensor]]]:
        """The taps at ``indices`` (timm's convention, through timm's ``feature_take_indices``) and, unless
        ``intermediates_only``, the final features: the 2048-channel map when the whole classification head
        ran, else the branch maps (or the stem after a stem-only prune). There is no final norm to apply."""
        if output_fmt != "NCHW":
            raise ValueError(f"output_fmt must be 'NCHW', got {output_fmt!r}")
        taken, last = take_taps(self.tap_count(), indices)
        self.check_input(x)
        x = self.stem_stride2(x)
        intermediates = [x] if 0 in taken else []
        if last == 0 and (stop_early or self.stem_only):
            return intermediates if intermediates_only else (x, intermediates)
        xs = self.forward_stages(self.stem_stride4(x))
        taps = xs if self.incre_modules is None else self.widen_branches(xs, last if stop_early else None)
        intermediates += [tap for i, tap in enumerate(taps, start=1) if i in taken]
        if intermediates_only:
            return intermediates
        head_complete = self.downsamp_modules is not None and len(taps) == len(self.downsamp_modules) + 1
        return (self.merge_branches(taps) if head_complete else xs), intermediates

    @torch.jit.ignore
    def drop_head(self) -> None:
        """Remove everything after the taps (merging, pooling, classifier, dense heads)."""
        self.head = None
        self.downsamp_modules = None
        self.final_layer = None
        self.num_classes = 0
        self.global_pool, self.head_drop, self.classifier = nn.Identity(), nn.Identity(), nn.Identity()

    @torch.jit.ignore
    def prune_intermediate_layers(
        self, indices: Union[int, Sequence[int]] = 1, prune_norm: bool = False, prune_head: bool = True
    ) -> List[int]:
        """Drop the layers the taps at ``indices`` do not need; returns their absolute indices.

        The branch taps all leave the fused last stage together, so the trunk goes only when tap 0 alone
        is kept; ``incre_modules`` past the last tap go; the head goes with ``prune_head`` or whenever a
        branch it needs is not kept.
        """
        taken, last = take_taps(self.tap_count(), indices)
        if last == 0:
            width = self.conv1.out_channels
            self.conv2, self.bn2, self.layer1 = nn.Identity(), nn.Identity(), nn.Sequential()
            for index in (1, 2, 3):  # one-branch identity transitions and empty stages pass tap 0 through
                setattr(self, f"transition{index}", Transition([width], [width], batch_norm))
                setattr(self, f"stage{index + 1}", Stage())
            self.stem_only = True
            self.num_features = self.head_hidden_size = width
        if self.incre_modules is not None:
            self.incre_modules = self.incre_modules[:last]
        if prune_head or last < self.tap_count() - 1:
            self.drop_head()
        return taken

    # ------------------------------------------------------------------ classifier
    @torch.jit.ignore
    def get_classifier(self) -> Optional[nn.Module]:
        return self.classifier

    @torch.jit.ignore
    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        """A new classifier for ``num_classes`` (0: none) through timm's factory; pooling kept unless given."""
        if self.final_layer is None:
            raise ValueError("reset_classifier needs the classification head (head='cls', not pruned)")
        if not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"num_classes must be an int >= 0, got {num_classes!r}")
        if global_pool is None:
            global_pool = getattr(self.global_pool, "pool_type", "avg")
        reference = self.final_layer[0].weight
        self.num_classes = num_classes
        self.global_pool, self.classifier = create_classifier(
            self.num_features, num_classes, pool_type=global_pool, device=reference.device, dtype=reference.dtype
        )
        self.head_hidden_size = self.num_features * self.global_pool.feat_mult()
        self.global_pool.train(self.training)
        self.classifier.train(self.training)

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> Dict[str, Any]:
        """Parameter groups for layer-wise learning-rate decay: the stem, then stage by stage (fine: module
        by module, each transition after the stage it leaves); the head falls in the last group."""
        stages = r"^(?:layer|stage|transition)(\d+)"
        fine = [(r"^layer(\d+)\.(\d+)", None), (r"^stage(\d+)\.(\d+)", None), (r"^transition(\d+)", (99999,))]
        return dict(stem=r"^(?:conv|bn)[12]\.", blocks=stages if coarse else fine)


def take_taps(count: int, indices: Union[int, Sequence[int], None]) -> Tuple[List[int], int]:
    """timm's index convention (``None``: every tap, ``n``: the last n, a sequence: those taps, negative ones
    from the end) through timm's ``feature_take_indices``, with out-of-range indices a ``ValueError``."""
    if indices is not None:
        listed = [indices] if isinstance(indices, int) else list(indices)
        if isinstance(indices, int) and not 0 < indices <= count:
            raise ValueError(f"expected a number of last taps in [1, {count}], got {indices}")
        if not isinstance(indices, int) and (
            not listed or not all(isinstance(i, int) and -count <= i < count for i in listed)
        ):
            raise ValueError(f"expected tap indices in [{-count}, {count - 1}], got {listed}")
    taken, last = feature_take_indices(count, indices)
    return list(taken), last


class HRNetFeatures(HighResolutionNet):
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
        taken, _ = take_taps(self.tap_count(), out_indices)
        self.feature_info = FeatureInfo(copy.deepcopy(self.feature_info), out_indices)
        self.out_indices = sorted(set(taken))

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        if not torch.jit.is_scripting():
            self.check_input(x)
        stem = self.stem_stride2(x)
        if self.out_indices[-1] == 0:
            return [stem]
        xs = self.forward_stages(self.stem_stride4(stem))
        taps = [stem] + (xs if self.incre_modules is None else self.widen_branches(xs))
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
    placement = {key: kwargs.pop(key) for key in ("device", "dtype") if key in kwargs}
    features_only = kwargs.pop("features_only", False)
    via_getter = features_only and ("feature_cls" in kwargs or "feature_cls" in kwargs.get("feature_cfg", {}))
    if features_only and not via_getter:
        model_cls, kwargs_filter = HRNetFeatures, ("num_classes", "global_pool")
        strict = kwargs.pop("pretrained_strict", False)  # the checkpoints also hold the classification head
    else:
        kwargs["head"] = core_head(kwargs.pop("head", "cls"))
        model_cls, kwargs_filter = HighResolutionNet, None
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


__all__ = ["FEATURE_LOCATIONS", "HRNetFeatures", "HighResolutionNet", "MODEL_ARCHS", "create_hrnet", "default_cfgs"]
_register()
