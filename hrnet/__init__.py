"""hrnet: High-Resolution Networks, exact to the paper, native to timm and OpenMMLab."""

from .backbone import HRNet
from .registry import MODELS, build
from .specs import ARCHS, ArchSpec, StageSpec, get_arch

__all__ = ["ARCHS", "ArchSpec", "HRNet", "MODELS", "StageSpec", "build", "get_arch"]
__version__ = "0.1.0"
