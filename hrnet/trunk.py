"""The trunk of every HRNet: the stem and the four stages of parallel streams (§3.1), up to the branch maps.

Training controls live here because they concern the trunk alone: frozen stages, BN in eval mode, zero-init
residuals, gradient checkpointing. The module names keep the state-dict layout shared by the official code,
timm and OpenMMLab (``conv1 bn1 conv2 bn2 layer1 transition{1,2,3} stage{2,3,4}``).
"""

from typing import List, Union

import torch
import torch.nn.functional as F
from torch import nn

from .fusion import DOWNSAMPLE_MODES, FUSION_OPS, UPSAMPLE_MODES, check_choice
from .module import HighResolutionModule, Stage, Transition, run_units
from .specs import ArchSpec, StageSpec, get_arch
from .units import UNITS, NormLayer, ResidualUnit, branch_dilations, make_units, resolve_norm_layer

FUSION_SCOPES: tuple[str, ...] = ("within", "across", "final")  # Table 12 (c), (b), (a)
STREAM_LAYOUTS: tuple[str, ...] = ("progressive", "parallel")


def parallel_streams(spec: ArchSpec) -> ArchSpec:
    """The §7 variant: all four streams from stage 2 on, each stage with equal depth on every stream."""
    widths = spec.branch_channels
    stages = [spec.stages[0]] + [
        StageSpec(s.num_modules, (s.num_blocks[0],) * len(widths), widths, s.block) for s in spec.stages[1:]
    ]
    return ArchSpec(f"{spec.name}_parallel", tuple(stages), spec.stem_width)  # type: ignore[arg-type]


def fused_modules(spec: ArchSpec, scope: str) -> set[tuple[int, int]]:
    """Which (stage, module) pairs end in a fusion: all (``within``), stage ends (``across``), or the last."""
    if scope == "within":
        return {(s, m) for s in (1, 2, 3) for m in range(spec.stages[s].num_modules)}
    if scope == "across":
        return {(s, spec.stages[s].num_modules - 1) for s in (1, 2, 3)}
    return {(3, spec.stages[3].num_modules - 1)}


class HRNetTrunk(nn.Module):
    """Stem (two stride-2 3×3 convs to 1/4), stage 1 (bottlenecks), stages 2-4 (parallel streams + fusions).

    ``forward_trunk`` returns the branch maps, highest resolution first: C, 2C, 4C, 8C channels at strides
    ``branch_strides`` (4, 8, 16, 32; with ``output_stride`` 16 or 8 the lowest branches stay at that stride,
    their 3×3 convs dilated so every weight keeps its shape). ``single_output`` ends the last fusion in the
    high-resolution map alone (HRNetV1). Subclasses add one head and call :meth:`init_weights`.
    """

    def __init__(
        self,
        arch: Union[str, ArchSpec] = "w32",
        in_chans: int = 3,
        upsample: str = "nearest",
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
        output_stride: int = 32,
        single_output: bool = False,
    ) -> None:
        super().__init__()
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
        dilations = branch_dilations(output_stride)
        self.spec = spec
        self.in_chans = in_chans
        self.output_stride = output_stride
        self.align_corners = align_corners
        self.dilations: List[int] = list(dilations)
        self.branch_strides: List[int] = [4 * 2**i // d for i, d in enumerate(dilations)]
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        self.grad_checkpointing = False

        self.conv1 = nn.Conv2d(in_chans, spec.stem_width, 3, 2, 1, bias=False)
        self.bn1 = norm(spec.stem_width)
        self.conv2 = nn.Conv2d(spec.stem_width, 64, 3, 2, 1, bias=False)
        self.bn2 = norm(64)

        stage1 = spec.stages[0]
        self.layer1 = make_units(stage1.block, 64, stage1.num_channels[0], stage1.num_blocks[0], norm)
        channels = [stage1.num_channels[0] * UNITS[stage1.block].expansion]
        fused = fused_modules(spec, fusion)
        for index, stage in enumerate(spec.stages[1:], start=1):
            widths = [c * UNITS[stage.block].expansion for c in stage.num_channels]
            branch_dil = list(dilations[: len(widths)])
            self.add_module(f"transition{index}", Transition(channels, widths, norm, branch_dil))
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
                        norm_layer=norm,
                        upsample=upsample,
                        downsample=fusion_downsample,
                        op=fusion_op,
                        align_corners=align_corners,
                        upsample_by_factor=upsample_by_factor,
                        dilations=branch_dil,
                    )
                )
            self.add_module(f"stage{index + 1}", Stage(*modules))
            channels = widths
        self.branch_channels: List[int] = list(channels)

    # ------------------------------------------------------------------ training state
    def init_weights(self) -> None:
        """He init (fan-out) for convs, unit scale for norms; zero last norms of units with ``zero_init_residual``."""
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

    def freeze_stages(self) -> None:
        """No gradients and BN in eval mode for the stem and stages 1 … ``frozen_stages``."""
        for index in range(self.frozen_stages + 1):
            for module in self.stage_modules(index):
                module.eval()
                for param in module.parameters():
                    param.requires_grad_(False)

    def train(self, mode: bool = True) -> "HRNetTrunk":
        super().train(mode)
        self.freeze_stages()
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

    def stem_stride2(self, x: torch.Tensor) -> torch.Tensor:
        """The first stem conv + BN + ReLU (stride 2)."""
        return F.relu(self.bn1(self.conv1(x)))

    def stem_stride4(self, x: torch.Tensor) -> torch.Tensor:
        """The second stem conv + BN + ReLU, from stride 2 to the input of stage 1 (stride 4)."""
        return F.relu(self.bn2(self.conv2(x)))

    def forward_stages(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Stage 1 to stage 4 from the stem's output; returns the branch maps."""
        if self.grad_checkpointing and not torch.jit.is_scripting() and torch.is_grad_enabled():
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
        return self.forward_stages(self.stem_stride4(self.stem_stride2(x)))
