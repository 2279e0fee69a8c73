"""The one place where the OpenMMLab stack (mmengine 0.10.7) is adapted to current torch and to CPU machines.

Nothing inside an installed package is edited; each adaptation is a documented function or class here:

* **Safe loading of mmengine's own checkpoints.** torch >= 2.6 loads with ``weights_only=True`` by default and
  mmengine calls ``torch.load`` without the argument, so resuming fails on what its Runner saves: numpy arrays,
  scalars and dtypes in ``meta`` (mmpose's ``dataset_meta`` holds ``uint8`` arrays) and ``HistoryBuffer``
  objects in ``message_hub``, whose statistics methods are pickled as ``getattr(HistoryBuffer, 'mean')``.
  Importing this package changes nothing in torch's allow-list. :func:`mmengine_checkpoints` widens it for the
  duration of a block only, by the numpy types (``hrnet.checkpoint.numpy_globals``, the definition
  ``hrnet.load_checkpoint`` uses too) and ``HistoryBuffer``; ``builtins.getattr`` itself is *not* allowed: the
  name is mapped to :func:`history_buffer_getattr`, which resolves exactly the statistics methods of
  ``HistoryBuffer`` and refuses every other attribute, so a hostile file that reaches for ``getattr(os,
  'system')``-style calls is still rejected by torch's safe loader. :class:`SafeLoadHook` (``custom_hooks`` of
  every config of ours) runs the Runner's ``load_checkpoint`` (what ``resume`` and ``load_from`` call) inside
  that block: it works with any Runner, also the one mmpose's ``tools/train.py`` and ``tools/test.py`` build
  with ``Runner.from_cfg`` whatever ``runner_type`` says. The block changes the allow-list of the whole process
  while it lasts (torch keeps one); the loads it wraps run in the Runner's main thread.
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

import contextlib
import datetime
import functools
import os
import pickle
import subprocess
import warnings
from typing import Any, Callable, Iterator

import torch
import torch.distributed as torch_dist
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.hooks import LoggerHook as MMEngineLoggerHook
from mmengine.logging import HistoryBuffer, print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm

from ..checkpoint import allowed_globals, numpy_globals
from .registry import HOOKS, MODEL_WRAPPERS


# ------------------------------------------------------------------------------------------ safe loading
def history_buffer_getattr(owner: Any, name: str) -> Any:
    """Stands in for ``builtins.getattr`` while torch's safe loader reads a checkpoint: only the statistics
    methods of mmengine's ``HistoryBuffer`` (``min``, ``max``, ``mean``, ``current`` and registered ones)."""
    if owner is HistoryBuffer and isinstance(name, str) and name in HistoryBuffer._statistics_methods:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f"refusing getattr({owner!r}, {name!r}) while loading with weights_only=True: only the statistics "
        f"methods of mmengine's HistoryBuffer ({sorted(HistoryBuffer._statistics_methods)}) are allowed"
    )


def mmengine_checkpoint_globals() -> list:
    """What mmengine 0.10's Runner saves beyond tensors, as entries of torch's safe-loader allow-list: numpy's
    arrays, scalars and dtypes (``hrnet.checkpoint.numpy_globals``), ``HistoryBuffer``, and ``builtins.getattr``
    mapped to :func:`history_buffer_getattr`."""
    HistoryBuffer()  # registers the built-in statistics methods on the class
    return [*numpy_globals(), HistoryBuffer, (history_buffer_getattr, "builtins.getattr")]


@contextlib.contextmanager
def mmengine_checkpoints() -> Iterator[None]:
    """Within the block, ``torch.load(weights_only=True)`` also reads what mmengine's Runner saves, and nothing
    more; after it, torch's allow-list is what it was before."""
    with allowed_globals(mmengine_checkpoint_globals()):
        yield


def _loads_mmengine_checkpoints(load_checkpoint: Callable) -> Callable:
    """``load_checkpoint`` (a Runner's bound method) run inside :func:`mmengine_checkpoints`."""

    @functools.wraps(load_checkpoint)
    def scoped(*args: Any, **kwargs: Any) -> Any:
        with mmengine_checkpoints():
            return load_checkpoint(*args, **kwargs)

    scoped.loads_mmengine_checkpoints = True  # type: ignore[attr-defined]
    return scoped


@HOOKS.register_module()
class SafeLoadHook(Hook):
    """Lets the Runner read its own checkpoints under torch's safe loader: from ``before_run`` on, this runner's
    ``load_checkpoint`` (what ``resume`` and ``load_from`` call) runs inside :func:`mmengine_checkpoints`. Nothing
    else changes: no other load, no other runner, and torch's allow-list outside those loads."""

    priority = "VERY_HIGH"

    def before_run(self, runner: Any) -> None:
        if not getattr(runner.load_checkpoint, "loads_mmengine_checkpoints", False):
            runner.load_checkpoint = _loads_mmengine_checkpoints(runner.load_checkpoint)


SAFE_LOAD_HOOK = dict(type="hrnet.SafeLoadHook")


def load_checkpoints_safely(cfg: Any) -> None:
    """Add :class:`SafeLoadHook` to a config's ``custom_hooks`` (in place) unless it is there already."""
    hooks = list(cfg.get("custom_hooks") or [])
    kinds = [hook.get("type") if isinstance(hook, dict) else type(hook) for hook in hooks]
    if not any(kind in (SAFE_LOAD_HOOK["type"], SafeLoadHook) for kind in kinds):
        cfg.custom_hooks = [*hooks, dict(SAFE_LOAD_HOOK)]


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
