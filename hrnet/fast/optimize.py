"""``hrnet.optimize_for_inference``: the steps of the fast path (see :mod:`hrnet.fast`) applied in order."""

import copy
from typing import Optional

import torch

from ..fusion import MultiResolutionFusion
from ..heads import V2Head, V2pHead
from ..model import HRNet
from .batched_fusion import batched_fusion
from .commuted_heads import CommutedV2Head, CommutedV2pHead
from .fold import fold_batch_norms
from .packing import pack_convolutions
from .precision import COMPUTE_DTYPES, set_compute_dtype
from .rewrite import Rewrites, replace_modules

# The rewrites of ``batch=True`` (on a folded model): the paper's fusions batched, the V2 / V2p heads commuted.
BATCH_REWRITES: Rewrites = {
    MultiResolutionFusion: batched_fusion,
    V2Head: CommutedV2Head,
    V2pHead: CommutedV2pHead,
}


def optimize_for_inference(
    model: HRNet,
    *,
    dtype: Optional[torch.dtype] = None,
    batch: bool = True,
    channels_last: bool = True,
    pack: Optional[bool] = None,
    inplace: bool = False,
) -> HRNet:
    """The inference fast path of a trained ``model``: BatchNorm folded, fusions batched, V2 / V2p heads
    commuted, channels-last weights, packed oneDNN convolutions (see :mod:`hrnet.fast`). Outputs equal
    ``model.eval()``'s up to float rounding; the result is in eval mode and its parameters do not require
    gradients.

    ``dtype=torch.bfloat16`` computes in bfloat16 with float32 in and out (:mod:`hrnet.fast.precision`);
    ``None`` keeps the model's dtype. ``batch=False`` keeps the core's fusion and head modules;
    ``channels_last=False`` keeps the contiguous layout; ``pack=False`` keeps ordinary ``nn.Conv2d`` layers
    (packing needs channels-last, the layout oneDNN's packed convolutions produce, and is on by default with it);
    ``inplace=True`` rewrites ``model`` itself instead of a copy.
    """
    if not isinstance(model, HRNet):
        raise ValueError(f"optimize_for_inference expects an hrnet.HRNet, got {type(model).__name__}")
    if dtype is not None and dtype not in COMPUTE_DTYPES:
        raise ValueError(f"dtype must be one of {COMPUTE_DTYPES} or None (the model's), got {dtype}")
    if pack is None:
        pack = channels_last
    if pack and not channels_last:
        raise ValueError("pack=True needs channels_last=True: packed oneDNN convolutions run channels-last")
    optimized = model if inplace else copy.deepcopy(model)
    fold_batch_norms(optimized)
    optimized.eval().requires_grad_(False)
    if batch:
        replace_modules(optimized, BATCH_REWRITES)
    if dtype is not None:
        set_compute_dtype(optimized, dtype)
    if channels_last:
        optimized.to(memory_format=torch.channels_last)
    if pack:
        pack_convolutions(optimized)
    return optimized
