"""``HRNet``: stem, the four stages of parallel streams, and one of the paper's heads.

The module tree keeps the state-dict layout shared by the official code, timm and OpenMMLab
(``conv1 bn1 conv2 bn2 layer1 transition{1,2,3} stage{2,3,4}``, classification head ``incre_modules
downsamp_modules final_layer classifier``), so their checkpoints load without renaming.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from .fusion import DOWNSAMPLE_MODES, FUSION_OPS, UPSAMPLE_MODES, check_choice
from .heads import (
    CLASSIFICATION_FEATURES,
    CLASSIFICATION_WIDTHS,
    HEADS,
    GlobalPool,
    V1hHead,
    V2Head,
    V2pHead,
    make_classification_head,
)
from .module import HighResolutionModule, Stage, Transition, run_units
from .registry import MODELS
from .specs import ArchSpec, StageSpec, get_arch
from .units import UNITS, NormLayer, ResidualUnit, batch_norm, make_units

FUSION_SCOPES: tuple[str, ...] = ("within", "across", "final")  # Table 12 (c), (b), (a)
STREAM_LAYOUTS: tuple[str, ...] = ("progressive", "parallel")
NORM_LAYERS: dict[str, NormLayer] = {
    "bn": batch_norm,
    "syncbn": lambda c: nn.SyncBatchNorm(c, eps=1e-5, momentum=0.1),
}


def resolve_norm_layer(norm_layer: Union[str, NormLayer, None]) -> NormLayer:
    """Accept a norm-layer callable (e.g. ``nn.SyncBatchNorm``) or one of the names in ``NORM_LAYERS``."""
    if norm_layer is None:
        return batch_norm
    if isinstance(norm_layer, str):
        if norm_layer not in NORM_LAYERS:
            raise ValueError(f"norm_layer must be a callable or one of {sorted(NORM_LAYERS)}, got {norm_layer!r}")
        return NORM_LAYERS[norm_layer]
    if not callable(norm_layer):
        raise ValueError(f"norm_layer must be a callable or one of {sorted(NORM_LAYERS)}, got {norm_layer!r}")
    return norm_layer


def parallel_streams(spec: ArchSpec) -> ArchSpec:
    """The §7 variant: all four streams from stage 2 on, each stage with equal depth on every stream."""
    widths = spec.branch_channels
    stages = [spec.stages[0]] + [
        StageSpec(s.num_modules, (s.num_blocks[0],) * len(widths), widths, s.block) for s in spec.stages[1:]
    ]
    return ArchSpec(f"{spec.name}_parallel", tuple(stages), spec.stem_width)  # type: ignore[arg-type]


def fused_modules(spec: ArchSpec, scope: str) -> set[tuple[int, int]]:
    """Which (stage, module) pairs fuse: all (``within``), stage ends (``across``), or the last (``final``)."""
    if scope == "within":
        return {(s, m) for s in (1, 2, 3) for m in range(spec.stages[s].num_modules)}
    if scope == "across":
        return {(s, spec.stages[s].num_modules - 1) for s in (1, 2, 3)}
    return {(3, spec.stages[3].num_modules - 1)}


@MODELS.register
class HRNet(nn.Module):
    """High-Resolution Network (Wang et al., TPAMI): one implementation for every task head.

    Args:
        arch: a name from ``hrnet.ARCHS`` (``w18_small`` … ``w64``) or an ``ArchSpec``.
        head: ``None`` → the four branch maps (C, 2C, 4C, 8C at 1/4 … 1/32); ``'v1'`` → [high-res map];
            ``'v1h'`` → [15C 1×1 projection of it]; ``'v2'`` → [15C concat representation]; ``'v2p'`` →
            pyramid of ``pyramid_levels`` maps (strides 4 … 64); ``'cls'`` → ImageNet logits.
        upsample: fusion upsampling, ``'nearest'`` (classification / pose / detection weights) or
            ``'bilinear'`` (segmentation weights); always to the exact target size.
        align_corners: bilinear corner alignment (the official OCR models use ``True``).
        upsample_by_factor: upsample by the power of two first, then resize to the exact size when that
            differs (mmseg's order; the same as the default direct resize on sides that are multiples of 32).
        frozen_stages: freeze the stem (0) and stages 1 … n (no gradients, BN in eval); -1 freezes nothing.
        norm_eval: keep every BN in eval mode while training (frozen statistics for small batches).
        fusion / fusion_downsample / fusion_op / streams: the §7 ablations (Table 12 and text).
    """

    __jit_unused_properties__ = ["out_channels", "out_strides"]

    def __init__(
        self,
        arch: Union[str, ArchSpec] = "w32",
        head: Optional[str] = None,
        upsample: str = "nearest",
        in_chans: int = 3,
        num_classes: int = 1000,
        global_pool: str = "avg",
        drop_rate: float = 0.0,
        head_conv_bias: bool = True,
        head_channels: Optional[int] = None,
        pyramid_levels: int = 5,
        align_corners: bool = False,
        upsample_by_factor: bool = False,
        frozen_stages: int = -1,
        norm_eval: bool = False,
        zero_init_residual: bool = False,
        norm_layer: Union[str, NormLayer, None] = None,
        fusion: str = "within",
        fusion_downsample: str = "conv",
        fusion_op: str = "sum",
        streams: str = "progressive",
    ) -> None:
        super().__init__()
        check_choice("head", head, HEADS)
        check_choice("upsample", upsample, UPSAMPLE_MODES)
        check_choice("fusion", fusion, FUSION_SCOPES)
        check_choice("fusion_downsample", fusion_downsample, DOWNSAMPLE_MODES)
        check_choice("fusion_op", fusion_op, FUSION_OPS)
        check_choice("streams", streams, STREAM_LAYOUTS)
        if not isinstance(in_chans, int) or in_chans < 1:
            raise ValueError(f"in_chans must be a positive int, got {in_chans!r}")
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= 4:
            raise ValueError(f"frozen_stages must be an int in [-1, 4], got {frozen_stages!r}")
        spec = get_arch(arch)
        if streams == "parallel":
            spec = parallel_streams(spec)
        norm = resolve_norm_layer(norm_layer)
        self.spec = spec
        self.head_type = head
        self.in_chans = in_chans
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.grad_checkpointing = False

        # Stem: two stride-2 3×3 convs to 1/4.
        self.conv1 = nn.Conv2d(in_chans, spec.stem_width, 3, 2, 1, bias=False)
        self.bn1 = norm(spec.stem_width)
        self.conv2 = nn.Conv2d(spec.stem_width, 64, 3, 2, 1, bias=False)
        self.bn2 = norm(64)

        stage1 = spec.stages[0]
        self.layer1 = make_units(stage1.block, 64, stage1.num_channels[0], stage1.num_blocks[0], norm)
        channels = [stage1.num_channels[0] * UNITS[stage1.block].expansion]

        fused = fused_modules(spec, fusion)
        single_output = head in ("v1", "v1h")
        fusion_kwargs = dict(
            norm_layer=norm,
            upsample=upsample,
            downsample=fusion_downsample,
            op=fusion_op,
            align_corners=align_corners,
            upsample_by_factor=upsample_by_factor,
        )
        for index, stage in enumerate(spec.stages[1:], start=1):
            widths = [c * UNITS[stage.block].expansion for c in stage.num_channels]
            self.add_module(f"transition{index}", Transition(channels, widths, norm))
            modules = []
            for m in range(stage.num_modules):
                last_of_net = index == 3 and m == stage.num_modules - 1
                modules.append(
                    HighResolutionModule(
                        widths,
                        stage.num_blocks,
                        stage.num_channels,
                        stage.block,
                        num_outputs=1 if (single_output and last_of_net) else None,
                        fuse=(index, m) in fused,
                        **fusion_kwargs,
                    )
                )
            self.add_module(f"stage{index + 1}", Stage(*modules))
            channels = widths
        self.branch_channels: List[int] = list(channels)

        # Heads. The classification head keeps its official top-level names.
        self.head: Optional[nn.Module] = None
        self.incre_modules: Optional[nn.ModuleList] = None
        self.downsamp_modules: Optional[nn.ModuleList] = None
        self.final_layer: Optional[nn.Sequential] = None
        self.global_pool: Optional[nn.Module] = None
        self.head_drop: Optional[nn.Module] = None
        self.classifier: Optional[nn.Module] = None
        self.num_classes = 0
        if head == "v1h":
            self.head = V1hHead(channels[0], head_channels, norm)
        elif head == "v2":
            self.head = V2Head(channels, head_channels, norm, align_corners)
        elif head == "v2p":
            self.head = V2pHead(channels, head_channels or 256, pyramid_levels, align_corners)
        elif head == "cls":
            self.incre_modules, self.downsamp_modules, self.final_layer = make_classification_head(
                channels, norm, head_conv_bias
            )
            self.global_pool = GlobalPool(global_pool)
            self.head_drop = nn.Dropout(drop_rate)
            self.num_classes = num_classes
            self.classifier = nn.Linear(CLASSIFICATION_FEATURES, num_classes) if num_classes > 0 else nn.Identity()
        self.num_features = CLASSIFICATION_FEATURES if head == "cls" else self.out_channels[0]
        self.head_hidden_size = self.num_features
        # timm-style taps: the stem (stride 2), then the branches (through ``incre_modules`` if any).
        tap_channels = [w * 4 for w in CLASSIFICATION_WIDTHS] if head == "cls" else self.branch_channels
        self.feature_info: List[Dict[str, Any]] = [dict(num_chs=spec.stem_width, reduction=2, module="bn1")] + [
            dict(num_chs=c, reduction=4 * 2**i, module=f"stage{i + 1}") for i, c in enumerate(tap_channels)
        ]

        self.zero_init_residual = zero_init_residual
        self.init_weights()
        self._freeze_stages()

    # ------------------------------------------------------------------ description
    @property
    def out_channels(self) -> List[int]:
        """Channels of each output of ``forward`` (classification: the pre-logits width)."""
        if self.head_type == "cls":
            return [CLASSIFICATION_FEATURES]
        if self.head is not None:
            levels = self.head.num_levels if isinstance(self.head, V2pHead) else 1
            return [self.head.out_channels] * levels
        return self.branch_channels[:1] if self.head_type == "v1" else list(self.branch_channels)

    @property
    def out_strides(self) -> List[int]:
        """Stride of each output of ``forward`` relative to the input."""
        if self.head_type == "v2p":
            return [4 * 2**i for i in range(len(self.out_channels))]
        if self.head_type == "cls":
            return [32]
        return [4 * 2**i for i in range(len(self.out_channels))]

    # ------------------------------------------------------------------ training state
    def init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, (nn.BatchNorm2d, nn.SyncBatchNorm, nn.GroupNorm)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if self.zero_init_residual:  # each residual unit starts as its shortcut
            for module in self.modules():
                if isinstance(module, ResidualUnit):
                    nn.init.zeros_(module.last_norm().weight)

    def stage_modules(self, index: int) -> List[nn.Module]:
        """The modules of stage ``index`` as ``frozen_stages`` counts them (0: stem; i: stage i and the
        transition that leaves it, as in OpenMMLab)."""
        if index == 0:
            return [self.conv1, self.bn1, self.conv2, self.bn2]
        body = self.layer1 if index == 1 else getattr(self, f"stage{index}")
        return [body, getattr(self, f"transition{index}")] if index < 4 else [body]

    def _freeze_stages(self) -> None:
        for index in range(self.frozen_stages + 1):
            for module in self.stage_modules(index):
                module.eval()
                for param in module.parameters():
                    param.requires_grad_(False)

    def train(self, mode: bool = True) -> "HRNet":
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute every residual unit and every fusion in backward instead of storing activations."""
        self.grad_checkpointing = enable
        for module in self.modules():
            if isinstance(module, HighResolutionModule):
                module.grad_checkpointing = enable

    @torch.jit.ignore
    def fuse(self, **options: Any) -> "HRNet":
        """The inference fast path of this model, ``hrnet.fuse(self, **options)``: a fused copy by default."""
        from .fast import fuse

        return fuse(self, **options)

    # ------------------------------------------------------------------ forward
    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` naming what was expected when ``x`` cannot be an image batch. A ``torch.fx``
        proxy (symbolic tracing, e.g. torchvision's ``create_feature_extractor``) has no values to check."""
        if isinstance(x, torch.fx.Proxy):
            return
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"expected a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(f"expected a 4-D tensor (N, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_chans:
            raise ValueError(f"expected {self.in_chans} input channels, got {x.shape[1]} (shape {tuple(x.shape)})")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point tensor, got {x.dtype}")

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(x)))

    def forward_stages(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Stage 1 to stage 4 from the 1/4 stem output; returns the branch maps."""
        checkpointed = self.grad_checkpointing and not torch.jit.is_scripting() and torch.is_grad_enabled()
        if checkpointed:
            x = self._checkpointed_layer1(x)
        else:
            x = self.layer1(x)
        xs = self.stage2(self.transition1([x]))
        xs = self.stage3(self.transition2(xs))
        return self.stage4(self.transition3(xs))

    @torch.jit.unused
    def _checkpointed_layer1(self, x: torch.Tensor) -> torch.Tensor:
        return run_units(self.layer1, x, True)

    def forward_trunk(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Input checks, stem and stages: the branch maps the heads read."""
        if not torch.jit.is_scripting():
            self.check_input(x)
        return self.forward_stages(self.forward_stem(x))

    def aggregate(self, xs: List[torch.Tensor]) -> torch.Tensor:
        """Classification head body: increase widths, merge high → low, project to 2048 channels."""
        assert self.incre_modules is not None and self.downsamp_modules is not None and self.final_layer is not None
        y = torch.empty(0)
        for i, incre in enumerate(self.incre_modules):
            z = incre(xs[i])
            if i == 0:
                y = z
            else:
                for j, down in enumerate(self.downsamp_modules):
                    if j == i - 1:
                        y = down(y)
                y = z + y
        return self.final_layer(y)

    @torch.jit.ignore
    def forward_features(self, x: torch.Tensor):
        """Classification: the 2048-channel map before pooling; otherwise the list of branch maps."""
        xs = self.forward_trunk(x)
        if self.final_layer is not None:
            return self.aggregate(xs)
        return xs

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Classification: pool, dropout, classifier (skipped with ``pre_logits``)."""
        assert self.global_pool is not None and self.head_drop is not None and self.classifier is not None
        x = self.head_drop(self.global_pool(x))
        return x if pre_logits else self.classifier(x)

    @torch.jit.ignore
    def forward_dense_head(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        """The V1h / V2 / V2p head on branch maps (identity for ``None`` and ``'v1'``)."""
        return xs if self.head is None else self.head(xs)

    def forward(self, x: torch.Tensor):
        xs = self.forward_trunk(x)
        if self.final_layer is not None:  # resolved statically under TorchScript (None or a module)
            return self.forward_head(self.aggregate(xs))
        if self.head is not None:
            return self.head(xs)
        return xs

    # ================================================================== timm model interface
    # The methods timm's models share (feature taps, pruning, classifier reset, parameter groups),
    # written without importing timm. Tap 0 is the stem after conv1/bn1/ReLU (stride 2); taps 1 … 4
    # are the branch maps leaving stage 4, widened by ``incre_modules`` when the model has them.
    stem_only: bool = False  # set by ``prune_intermediate_layers`` when only tap 0 is kept

    def tap_count(self) -> int:
        """Number of taps: the stem plus every branch leaving the last stage (one for V1 / V1h)."""
        return 2 if self.head_type in ("v1", "v1h") else 1 + len(self.branch_channels)

    @staticmethod
    def take_taps(count: int, indices: Union[int, Sequence[int], None]) -> Tuple[List[int], int]:
        """timm's index convention: ``None`` → every tap, ``n`` → the last n, a sequence → those taps
        (negative ones counted from the end). Returns the absolute indices and the largest one."""
        if indices is None:
            indices = count
        if isinstance(indices, int):
            if not 0 < indices <= count:
                raise ValueError(f"expected a number of last taps in [1, {count}], got {indices}")
            taken = list(range(count - indices, count))
        else:
            taken = []
            for index in indices:
                if not isinstance(index, int) or not -count <= index < count:
                    raise ValueError(f"expected tap indices in [{-count}, {count - 1}], got {list(indices)}")
                taken.append(index % count)
            if not taken:
                raise ValueError("expected at least one tap index, got an empty sequence")
        return taken, max(taken)

    def stem_stride2(self, x: torch.Tensor) -> torch.Tensor:
        """Tap 0: the first stem conv + BN + ReLU."""
        return F.relu(self.bn1(self.conv1(x)))

    def stem_stride4(self, x: torch.Tensor) -> torch.Tensor:
        """The second stem conv + BN + ReLU, from tap 0 to the input of stage 1."""
        return F.relu(self.bn2(self.conv2(x)))

    def branch_taps(self, xs: List[torch.Tensor], count: Optional[int] = None) -> List[torch.Tensor]:
        """Taps 1 … n from the branch maps: through ``incre_modules`` when present (the first ``count``)."""
        if self.incre_modules is None:
            return xs
        taps: List[torch.Tensor] = []
        for i, incre in enumerate(self.incre_modules):
            if count is None or i < count:
                taps.append(incre(xs[i]))
        return taps

    @torch.jit.ignore
    def merge_taps(self, taps: List[torch.Tensor]) -> torch.Tensor:
        """The classification head after ``incre_modules``: merge high → low, then project to 2048."""
        assert self.downsamp_modules is not None and self.final_layer is not None
        merged = taps[0]
        for down, tap in zip(self.downsamp_modules, taps[1:]):
            merged = tap + down(merged)
        return self.final_layer(merged)

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
        """The taps at ``indices`` (in increasing order) and, unless ``intermediates_only``, the final
        features: the 2048-channel map when the whole classification head ran, else the branch maps (or
        the stem after a stem-only prune). ``norm`` is accepted for timm's API; there is no final norm."""
        if output_fmt != "NCHW":
            raise ValueError(f"output_fmt must be 'NCHW', got {output_fmt!r}")
        taken, last = self.take_taps(self.tap_count(), indices)
        self.check_input(x)
        x = self.stem_stride2(x)
        intermediates = [x] if 0 in taken else []
        if last == 0 and (stop_early or self.stem_only):
            return intermediates if intermediates_only else (x, intermediates)
        xs = self.forward_stages(self.stem_stride4(x))
        taps = self.branch_taps(xs, last if stop_early else None)
        intermediates += [tap for i, tap in enumerate(taps, start=1) if i in taken]
        if intermediates_only:
            return intermediates
        head_complete = (
            self.incre_modules is not None
            and self.downsamp_modules is not None
            and len(taps) == len(self.downsamp_modules) + 1
        )
        return (self.merge_taps(taps) if head_complete else xs), intermediates

    @torch.jit.ignore
    def drop_head(self) -> None:
        """Remove everything after the taps (aggregation, pooling, classifier, dense heads)."""
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
        branch it needs is not kept. ``prune_norm`` is accepted for timm's API (there is no final norm).
        """
        taken, last = self.take_taps(self.tap_count(), indices)
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

    @torch.jit.ignore
    def get_classifier(self) -> Optional[nn.Module]:
        return self.classifier

    @torch.jit.ignore
    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        """New classifier for ``num_classes`` (0: none, the pooled features come out); pooling kept unless given."""
        if self.final_layer is None:
            raise ValueError("reset_classifier needs the classification head (head='cls', not pruned)")
        if not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"num_classes must be an int >= 0, got {num_classes!r}")
        if global_pool is None:
            global_pool = self.global_pool.pool_type if isinstance(self.global_pool, GlobalPool) else "avg"
        reference = self.final_layer[0].weight
        self.global_pool = GlobalPool(global_pool).train(self.training)
        self.num_classes = num_classes
        self.classifier = (
            nn.Linear(self.num_features, num_classes, device=reference.device, dtype=reference.dtype)
            if num_classes > 0
            else nn.Identity()
        ).train(self.training)

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> Dict[str, Any]:
        """Parameter groups for layer-wise learning-rate decay: the stem, then stage by stage (fine: module
        by module, each transition after the stage it leaves); the head falls in the last group."""
        stages = r"^(?:layer|stage|transition)(\d+)"
        fine = [(r"^layer(\d+)\.(\d+)", None), (r"^stage(\d+)\.(\d+)", None), (r"^transition(\d+)", (99999,))]
        return dict(stem=r"^(?:conv|bn)[12]\.", blocks=stages if coarse else fine)

    # ================================================================== end of timm model interface
