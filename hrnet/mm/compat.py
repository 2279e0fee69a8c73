"""The one place where the OpenMMLab stack is adapted to current torch.

torch >= 2.6 loads checkpoints with ``weights_only=True`` by default; mmengine 0.10.7 calls ``torch.load``
without the argument, so its own training checkpoints (numpy scalars in ``meta``, ``HistoryBuffer`` objects
in ``message_hub``) fail to load when resuming. Rather than turning the safe loader off, the few types
mmengine writes are added to torch's allow-list of safe globals.
"""

from __future__ import annotations

import numpy as np
import torch


def _numpy_types() -> list:
    types: list = [np.ndarray, np.dtype, np.core.multiarray._reconstruct, np.core.multiarray.scalar]
    types += [type(np.dtype(name)) for name in ("float64", "float32", "int64", "int32", "bool")]
    return types


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read what mmengine 0.10's Runner saves."""
    from mmengine.logging import HistoryBuffer

    torch.serialization.add_safe_globals([*_numpy_types(), HistoryBuffer])


allow_mmengine_checkpoints()
