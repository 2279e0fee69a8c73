"""hrnet: High-Resolution Networks, exact to the paper, native to timm and OpenMMLab."""

from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec

from .checkpoint import CheckpointError, LoadReport, convert_state_dict, load_checkpoint
from .complexity import complexity
from .export import export_onnx, export_openvino, export_program, min_export_side
from .fast import optimize_for_inference
from .model import HRNet
from .specs import ARCHS, ArchSpec, StageSpec, get_arch

__all__ = [
    "ARCHS",
    "ArchSpec",
    "CheckpointError",
    "HRNet",
    "LoadReport",
    "StageSpec",
    "complexity",
    "convert_state_dict",
    "export_onnx",
    "export_openvino",
    "export_program",
    "get_arch",
    "load_checkpoint",
    "min_export_side",
    "optimize_for_inference",
]
try:
    __version__ = version("hrnet")  # one place: the package metadata (pyproject.toml)
except PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"

if find_spec("timm") is not None:  # timm.create_model('hrnet_w32', ...) then builds hrnet.HRNet
    from . import timm_models  # noqa: F401
