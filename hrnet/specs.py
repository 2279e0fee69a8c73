"""Architecture specs: the single source of truth for every HRNet width.

Each architecture is a frozen :class:`ArchSpec`. The timm names, the OpenMMLab adapters, the complexity
tables and the docs all read these objects; nothing else restates a stage layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BlockType = Literal["basic", "bottleneck"]
BLOCK_TYPES: tuple[str, ...] = ("basic", "bottleneck")


@dataclass(frozen=True)
class StageSpec:
    """One stage: ``num_modules`` repetitions of parallel branches followed by a fusion."""

    num_modules: int
    num_blocks: tuple[int, ...]
    num_channels: tuple[int, ...]
    block: BlockType = "basic"

    def __post_init__(self) -> None:
        if self.block not in BLOCK_TYPES:
            raise ValueError(f"block must be one of {BLOCK_TYPES}, got {self.block!r}")
        if len(self.num_blocks) != len(self.num_channels):
            raise ValueError(
                f"num_blocks {self.num_blocks} and num_channels {self.num_channels} must have one entry per branch"
            )
        if self.num_modules < 1 or min(self.num_blocks) < 1 or min(self.num_channels) < 1:
            raise ValueError(f"stage sizes must be positive, got {self}")

    @property
    def num_branches(self) -> int:
        return len(self.num_channels)


@dataclass(frozen=True)
class ArchSpec:
    """A whole network body: stem width, stage 1 (single branch, bottlenecks) and stages 2-4."""

    name: str
    stages: tuple[StageSpec, StageSpec, StageSpec, StageSpec]
    stem_width: int = 64

    @property
    def width(self) -> int:
        """The paper's C: channels of the high-resolution branch in stages 2-4."""
        return self.stages[-1].num_channels[0]

    @property
    def branch_channels(self) -> tuple[int, ...]:
        """Channels of the four output branches (C, 2C, 4C, 8C)."""
        return self.stages[-1].num_channels

    def as_mm_extra(self) -> dict:
        """The ``extra`` dict of the OpenMMLab / official HRNet configs for this spec."""
        extra: dict = {}
        for index, stage in enumerate(self.stages, start=1):
            extra[f"stage{index}"] = dict(
                num_modules=stage.num_modules,
                num_branches=stage.num_branches,
                block="BOTTLENECK" if stage.block == "bottleneck" else "BASIC",
                num_blocks=stage.num_blocks,
                num_channels=stage.num_channels,
            )
        return extra


def spec_from_mm_extra(extra: dict, name: str = "custom") -> ArchSpec:
    """Read the ``extra`` dict of OpenMMLab / official HRNet configs (``stage1`` … ``stage4``)."""
    stages = []
    for index in range(1, 5):
        key = f"stage{index}"
        if key not in extra:
            raise ValueError(f"extra must hold stage1 … stage4, missing {key!r} in {sorted(extra)}")
        stage = extra[key]
        block = str(stage.get("block", "BASIC")).lower()
        if int(stage.get("num_branches", len(stage["num_channels"]))) != len(stage["num_channels"]):
            raise ValueError(f"{key}: num_branches does not match num_channels {stage['num_channels']}")
        stages.append(
            StageSpec(int(stage["num_modules"]), tuple(stage["num_blocks"]), tuple(stage["num_channels"]), block)
        )
    spec = ArchSpec(name, tuple(stages))  # type: ignore[arg-type]
    for known in ARCHS.values():
        if known.stages == spec.stages:
            return known
    return spec


def _pyramid(width: int, branches: int) -> tuple[int, ...]:
    return tuple(width * 2**i for i in range(branches))


def _hrnet(
    name: str,
    width: int,
    stage1_blocks: int,
    stage1_width: int,
    modules: tuple[int, int, int],
    blocks: int,
) -> ArchSpec:
    """The HRNet formula: stage 1 of bottlenecks, then stages of 2, 3, 4 branches of widths C·2^i."""
    stage1 = StageSpec(1, (stage1_blocks,), (stage1_width,), "bottleneck")
    later = tuple(
        StageSpec(num_modules, (blocks,) * branches, _pyramid(width, branches), "basic")
        for num_modules, branches in zip(modules, (2, 3, 4))
    )
    return ArchSpec(name, (stage1, *later))


ARCHS: dict[str, ArchSpec] = {
    spec.name: spec
    for spec in (
        _hrnet("w18_small", 16, stage1_blocks=1, stage1_width=32, modules=(1, 1, 1), blocks=2),
        _hrnet("w18_small_v2", 18, stage1_blocks=2, stage1_width=64, modules=(1, 3, 2), blocks=2),
        *(
            _hrnet(f"w{width}", width, stage1_blocks=4, stage1_width=64, modules=(1, 4, 3), blocks=4)
            for width in (18, 30, 32, 40, 44, 48, 64)
        ),
    )
}


def get_arch(arch: str | ArchSpec) -> ArchSpec:
    """Look an architecture up by name (or pass a spec through)."""
    if isinstance(arch, ArchSpec):
        return arch
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; expected one of {sorted(ARCHS)}")
    return ARCHS[arch]
