"""Inference fast path: ``hrnet.optimize_for_inference(model)`` rebuilds a trained HRNet as an equal network that
does less work (the name torch gives the same kind of rewrite: ``torch.jit.optimize_for_inference``).

The optimized model is an :class:`~hrnet.HRNet` with the same forward and outputs (equal to the eval-mode model up
to float rounding), built from a copy (or in place) by these steps, one file each, each measured in
``benchmarks/bench_speed.py``:

* **fold** (:mod:`~hrnet.fast.fold`): every BatchNorm is folded into the convolution before it, with its running
  statistics (what eval mode computes), and replaced by ``nn.Identity``;
* **batch** (``batch=True``, :mod:`~hrnet.fast.batched_fusion`): in every fusion, the 1×1 up-projections that
  read one branch run as one convolution, and so do the first stride-2 3×3 convolutions of all the down chains
  that start at that branch; with nearest upsampling and sizes that halve exactly, the upsampled terms are summed
  from the lowest resolution up, one doubling at a time;
* **commute** (also ``batch=True``, :mod:`~hrnet.fast.commuted_heads`): the V2 / V2p heads' 1×1 convolution is
  applied to each branch at its own resolution, before the (linear) bilinear resize;
* **channels-last** (``channels_last=True``): the convolution weights are stored channels-last, so every
  feature map (and each output) is channels-last, the layout oneDNN's CPU convolutions run fastest in;
* **pack** (``pack=True``, the default with channels-last, :mod:`~hrnet.fast.packing`): every convolution
  becomes a :class:`PackedConv2d`, one oneDNN call on a weight reordered once, with the following ReLU (and at
  the end of each residual unit the shortcut addition) inside the call;
* **bfloat16** (``dtype=torch.bfloat16``, :mod:`~hrnet.fast.precision`): the folded weights are rounded to
  bfloat16 once and the network runs in bfloat16 inside (the packed oneDNN convolutions, their fused post-ops,
  the fusions' sums and resizes), with float32 in and out. On CPUs with bfloat16 instructions (AVX-512 BF16,
  AMX) oneDNN runs these convolutions at about twice the float32 rate; outputs stay within about 1 % relative
  L2 of float32 (tested: ≤ 2 % for every head).

The steps are rewrites of core modules (:mod:`~hrnet.fast.rewrite`: a table from exact core type to the module
that replaces it, shared with :mod:`hrnet.export`). The result is made of ``nn.Conv2d`` layers
(:class:`PackedConv2d` is one) and the package's own containers: it runs eagerly, under ``torch.compile``,
``torch.jit.script`` / ``trace`` and ``torch.export`` (where packed convolutions run as ordinary ones). It is for
inference only: there is no BatchNorm left to train, and its parameters do not require gradients. Importing this
package probes nothing: what the CPU and this PyTorch offer is asked on the first packed call.
"""

from .batched_fusion import BatchedFusion
from .commuted_heads import CommutedV2Head, CommutedV2pHead
from .fold import fold_batch_norms
from .optimize import optimize_for_inference
from .packing import PackedConv2d, PackedUnit, onednn_pointwise_available, packed_dtypes
from .rewrite import Rewrite, Rewrites, frozen_conv, replace_modules

__all__ = [
    "BatchedFusion",
    "CommutedV2Head",
    "CommutedV2pHead",
    "PackedConv2d",
    "PackedUnit",
    "Rewrite",
    "Rewrites",
    "fold_batch_norms",
    "frozen_conv",
    "onednn_pointwise_available",
    "optimize_for_inference",
    "packed_dtypes",
    "replace_modules",
]
