"""OpenMMLab adapters, imported by configs through ``custom_imports=dict(imports=['hrnet.mm'])``.

Everything registers into the ``hrnet`` scope (a child of mmengine's root registry): ``hrnet.HRNet``
(backbone), ``hrnet.V2Head`` (mmseg decode head), ``hrnet.V2pNeck`` (mmdet neck), ``hrnet.LIPDataset``
(mmseg dataset), ``hrnet.FlipSwapTTAModel`` (mmseg's flip test for mirrored classes), ``hrnet.SafeLoadHook``
(the Runner reads its own checkpoints under torch's safe loader; see ``compat``). Importing it changes nothing
outside these registries and mmengine's config-scope table. The framework adapters load only when their framework
is installed.
"""

from importlib.util import find_spec

from . import compat  # noqa: F401  (hrnet.SafeLoadHook, hrnet.LoggerHook, the hrnet:: config scope)
from .backbone import MMHRNet
from .registry import MODELS

if find_spec("mmseg") is not None:
    from .datasets import LIPDataset  # noqa: F401
    from .seg import FlipSwapTTAModel, V2DecodeHead  # noqa: F401
if find_spec("mmdet") is not None:
    from .det import V2pNeck  # noqa: F401

__all__ = ["MMHRNet", "MODELS"]
