"""What the benchmark scripts share: timm's own HRNet at equal weights, a line describing the machine, and
writing a results file."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch
from torch import nn


def timm_twin(ours: nn.Module, arch: str, features: bool) -> nn.Module:
    """timm's own classes (not the registry entries this package replaces) loaded with ``ours``' weights:
    the four branch maps (``features``, against ``head=None``) or the ImageNet classifier."""
    from timm.models import hrnet as timm_hrnet

    cfg = timm_hrnet.cfg_cls[f"hrnet_{arch}"]
    if features:
        twin = timm_hrnet.HighResolutionNetFeatures(cfg, feature_location="", out_indices=(1, 2, 3, 4))
    else:
        twin = timm_hrnet.HighResolutionNet(cfg)
    twin.load_state_dict(ours.state_dict(), strict=True)
    return twin.eval()


def environment() -> str:
    """Library versions, CPU, torch threads and load: the context every table is measured in."""
    import timm

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"torch {torch.__version__}, timm {timm.__version__}, Python {platform.python_version()}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{torch.get_num_threads()} torch thread(s), load average {load}"
    )


def publish(text: str, path: Path) -> None:
    """Print a results file's text and write it (its folder created if missing)."""
    print(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"written {path}", flush=True)
