"""The one place where the OpenMMLab stack (mmengine 0.10.7) is adapted to current torch and to CPU machines.

Nothing inside an installed package is edited; each adaptation is a documented function or class here:

* **Safe loading of mmengine's own checkpoints.** torch >= 2.6 loads with ``weights_only=True`` by default and
  mmengine calls ``torch.load`` without the argument, so resuming fails on what its Runner saves: numpy arrays,
  scalars and dtypes in ``meta`` (mmpose's ``dataset_meta`` holds ``uint8`` arrays) and ``HistoryBuffer``
  objects in ``message_hub``, whose statistics methods are pickled as ``getattr(HistoryBuffer, 'mean')``. The
  numpy types and ``HistoryBuffer`` join torch's allow-list. ``builtins.getattr`` itself is *not* allowed: the
  name is mapped to :func:`history_buffer_getattr`, which resolves exactly the statistics methods of
  ``HistoryBuffer`` and refuses every other attribute, so a hostile file that reaches for ``getattr(os,
  'system')``-style calls is still rejected by torch's safe loader.
* **Configs that inherit ours by scope** (``_base_ = 'hrnet::pose/<file>.py'``). mmengine resolves
  ``scope::path`` only for the packages named in its table ``mmengine.config.utils.MODULE2PACKAGE``, then reads
  ``<package>/.mim/configs/<path>`` of the installed package (a wheel of hrnet carries its configs there).
  :func:`register_config_scope` adds the one entry ``'hrnet'`` to that table, and changes nothing else in it.
  mmengine reads a config's ``_base_`` files before its ``custom_imports``, so the process must have imported
  ``hrnet.mm`` first (``hrnet reproduce`` does).
* **Distributed training on machines without a GPU** (torchrun / srun on CPU, e.g. to test a launch): mmengine
  calls ``torch.cuda.set_device`` while initialising the process group and wraps the model in DDP with
  ``device_ids``; both fail without CUDA. :func:`prepare_distributed` starts the gloo process group itself
  (mmengine then skips its own initialisation) and selects :class:`CPUDistributedDataParallel`, which wraps a
  CPU model without device ids and converts ``SyncBatchNorm`` (which torch runs only on GPUs) to BatchNorm, with
  a message. :func:`teardown_distributed` destroys the process group before the interpreter exits.
* **Test results of a distributed run.** mmengine's ``LoggerHook`` writes the test metrics to
  ``<timestamp>/<timestamp>.json`` from *every* process, into the same file at once: two ranks whose lines
  differ in length (their timings do) leave a file that is not valid JSON. :class:`LoggerHook` writes it from the
  first process only; :func:`prepare_distributed` selects it for every distributed run.
"""

from __future__ import annotations

import datetime
import os
import pickle
import subprocess
import warnings
from typing import Any

import numpy as np
import torch
import torch.distributed as torch_dist
from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook as MMEngineLoggerHook
from mmengine.logging import HistoryBuffer, print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm

from .registry import HOOKS, MODEL_WRAPPERS

# ------------------------------------------------------------------------------------------ safe loading
NUMPY_DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
)  # fmt: skip


def _numpy_globals() -> list:
    """What numpy pickles for arrays, scalars and dtypes (numpy 1.x module paths)."""
    types: list = [np.ndarray, np.dtype, np.core.multiarray._reconstruct, np.core.multiarray.scalar]
    types += [type(np.dtype(name)) for name in NUMPY_DTYPES]
    return types


def history_buffer_getattr(owner: Any, name: str) -> Any:
    """Stands in for ``builtins.getattr`` while torch's safe loader reads a checkpoint: only the statistics
    methods of mmengine's ``HistoryBuffer`` (``min``, ``max``, ``mean``, ``current`` and registered ones)."""
    if owner is HistoryBuffer and isinstance(name, str) and name in HistoryBuffer._statistics_methods:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f"refusing getattr({owner!r}, {name!r}) while loading with weights_only=True: only the statistics "
        f"methods of mmengine's HistoryBuffer ({sorted(HistoryBuffer._statistics_methods)}) are allowed"
    )


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read what mmengine 0.10's Runner saves, and nothing more."""
    HistoryBuffer()  # registers the built-in statistics methods on the class
    torch.serialization.add_safe_globals(
        [*_numpy_globals(), HistoryBuffer, (history_buffer_getattr, "builtins.getattr")]
    )


allow_mmengine_checkpoints()


# ------------------------------------------------------------------------------------------ scoped configs
CONFIG_SCOPE = "hrnet"  # hrnet::<task>/<file>.py, from the wheel's hrnet/.mim/configs


def register_config_scope() -> None:
    """Let mmengine resolve ``hrnet::<path>`` configs: our own entry in its scope → package table."""
    from mmengine.config.utils import MODULE2PACKAGE

    MODULE2PACKAGE.setdefault(CONFIG_SCOPE, "hrnet")


register_config_scope()


# ------------------------------------------------------------------------------------------ CPU distributed
@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper for a model on the CPU (gloo): no ``device_ids``, and ``SyncBatchNorm`` converted
    to BatchNorm, since torch's SyncBatchNorm runs only on GPUs."""

    def __init__(self, module: torch.nn.Module, device_ids: list | None = None, **kwargs: Any) -> None:
        if any(isinstance(m, torch.nn.SyncBatchNorm) for m in module.modules()):
            print_log(
                "SyncBatchNorm runs only on GPUs: converted to BatchNorm for CPU distributed training "
                "(statistics are computed per process)",
                logger="current",
                level=30,
            )
            module = revert_sync_batchnorm(module)
        super().__init__(module=module, device_ids=None, **kwargs)


def _slurm_environment() -> None:
    """RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT from srun's variables, as mmengine derives
    them for its slurm launcher."""
    os.environ.setdefault("RANK", os.environ["SLURM_PROCID"])
    os.environ.setdefault("WORLD_SIZE", os.environ["SLURM_NTASKS"])
    os.environ.setdefault("LOCAL_RANK", os.environ.get("SLURM_LOCALID", "0"))
    if "MASTER_ADDR" not in os.environ:
        nodes = os.environ["SLURM_NODELIST"]
        first = subprocess.run(["scontrol", "show", "hostname", nodes], capture_output=True, text=True, check=True)
        os.environ["MASTER_ADDR"] = first.stdout.splitlines()[0]
    os.environ.setdefault("MASTER_PORT", "29500")


@HOOKS.register_module()
class LoggerHook(MMEngineLoggerHook):
    """mmengine's LoggerHook, with the test results written by the first process only."""

    def after_test_epoch(self, runner: Any, metrics: dict | None = None) -> None:
        if is_main_process():
            super().after_test_epoch(runner, metrics)


def prepare_distributed(cfg: Any, launcher: str) -> None:
    """Adapt a config (in place) and the process for distributed training: the test results written once;
    and, on a machine without CUDA, the gloo process group and a CPU DDP wrapper. With ``launcher='none'``
    nothing changes."""
    if launcher == "none":
        return
    logger = cfg.get("default_hooks", {}).get("logger")
    if logger is not None and logger.get("type") in ("LoggerHook", "mmengine.LoggerHook"):
        logger.type = "hrnet.LoggerHook"
    if torch.cuda.is_available() or torch_dist.is_initialized():
        return
    if launcher == "slurm":
        _slurm_environment()
    elif launcher != "pytorch":
        raise ValueError(f"CPU distributed training supports the launchers 'pytorch' and 'slurm', got {launcher!r}")
    timeout = cfg.get("env_cfg", {}).get("dist_cfg", {}).get("timeout")
    options = {} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))
    torch_dist.init_process_group(backend="gloo", **options)
    wrapper = dict(cfg.get("model_wrapper_cfg") or {})
    if wrapper.get("type", "MMDistributedDataParallel") != "MMDistributedDataParallel":
        warnings.warn(f"model_wrapper_cfg type {wrapper['type']!r} kept on CPU; it may expect a GPU", stacklevel=2)
        return
    wrapper.setdefault("broadcast_buffers", False)
    wrapper.setdefault("find_unused_parameters", cfg.get("find_unused_parameters", False))
    cfg.model_wrapper_cfg = dict(wrapper, type="hrnet.CPUDistributedDataParallel")


def teardown_distributed(wait: bool = True) -> None:
    """Destroy the process group (after all processes arrive, with ``wait``), so no communication thread
    outlives the interpreter: left alone it can abort the process at exit, after the work is done."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        if wait:
            torch_dist.barrier()
        torch_dist.destroy_process_group()
