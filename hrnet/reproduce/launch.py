"""The command that runs one row's worker: plain ``python``, torchrun (one machine or several) or ``srun``
(Slurm), with the arguments and environment the frameworks' own ``tools/dist_train.sh`` and
``tools/slurm_train.sh`` use. The worker then hands over to mmengine's launcher of the same name.

torchrun is started as ``python -m torch.distributed.run`` (what the ``torchrun`` script runs) with the
interpreter that runs ``hrnet``, so the processes see this environment whatever ``PATH`` holds."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .rows import ReproduceError

LAUNCHERS = ("none", "pytorch", "slurm")


@dataclass(frozen=True)
class Launch:
    """How to start a row: ``gpus`` processes on each of ``nodes`` machines (CPU processes where there is no
    GPU). Defaults follow the frameworks' scripts: ``PORT`` / ``MASTER_ADDR`` / ``NODE_RANK`` from the
    environment for torchrun, 5 CPUs per task for srun."""

    launcher: str = "none"
    gpus: int = 1
    nodes: int = 1
    partition: str | None = None
    job_name: str = "hrnet"
    cpus_per_task: int = 5
    port: int = 29500
    master_addr: str = "127.0.0.1"
    node_rank: int = 0
    srun_args: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.launcher not in LAUNCHERS:
            raise ReproduceError(f"--launcher must be one of {', '.join(LAUNCHERS)}, got {self.launcher!r}")
        if self.gpus < 1 or self.nodes < 1:
            raise ReproduceError(f"--gpus and --nodes must be at least 1, got {self.gpus} and {self.nodes}")
        if self.launcher == "none" and (self.gpus > 1 or self.nodes > 1):
            raise ReproduceError(
                "--launcher none runs one process: use --launcher pytorch or slurm for --gpus/--nodes > 1"
            )
        if self.launcher == "slurm" and not self.partition:
            raise ReproduceError("--launcher slurm needs --partition (the Slurm partition to run on)")

    @classmethod
    def from_environment(cls, **options) -> Launch:
        """Options as given, with the torchrun rendezvous settings the frameworks' scripts read from the
        environment (PORT, MASTER_ADDR, NODE_RANK) where not given."""
        env = dict(
            port=int(os.environ.get("PORT", 29500)),
            master_addr=os.environ.get("MASTER_ADDR", "127.0.0.1"),
            node_rank=int(os.environ.get("NODE_RANK", 0)),
            srun_args=tuple(os.environ.get("SRUN_ARGS", "").split()),
        )
        return cls(**{**env, **{k: v for k, v in options.items() if v is not None}})

    def check_installed(self) -> None:
        """Slurm's ``srun`` must be on PATH (torchrun comes with torch)."""
        if self.launcher == "slurm" and shutil.which("srun") is None:
            raise ReproduceError("--launcher slurm runs 'srun', which is not on PATH: run on a Slurm login node")


def worker_args(config: Path, work_dir: Path, launcher: str, cfg_options: list[str], test_only: bool) -> list[str]:
    args = ["-m", "hrnet.reproduce.worker", str(config), "--work-dir", str(work_dir), "--launcher", launcher]
    if test_only:
        args.append("--test-only")
    if cfg_options:
        args += ["--cfg-options", *cfg_options]
    return args


def command(
    launch: Launch, config: Path, work_dir: Path, cfg_options: list[str] = (), test_only: bool = False
) -> tuple[list[str], dict[str, str]]:
    """The argv and the extra environment that run the worker for one config under ``launch``."""
    args = worker_args(config, work_dir, launch.launcher, list(cfg_options), test_only)
    env = {"PYTHONUNBUFFERED": "1"}
    if launch.launcher == "none":
        return [sys.executable, *args], env
    if launch.launcher == "pytorch":
        rendezvous = [
            f"--nnodes={launch.nodes}",
            f"--node_rank={launch.node_rank}",
            f"--master_addr={launch.master_addr}",
            f"--nproc_per_node={launch.gpus}",
            f"--master_port={launch.port}",
        ]
        return [sys.executable, "-m", "torch.distributed.run", *rendezvous, *args], env
    slurm = [
        "srun",
        f"--partition={launch.partition}",
        f"--job-name={launch.job_name}",
        f"--gres=gpu:{launch.gpus}",
        f"--nodes={launch.nodes}",
        f"--ntasks={launch.gpus * launch.nodes}",
        f"--ntasks-per-node={launch.gpus}",
        f"--cpus-per-task={launch.cpus_per_task}",
        "--kill-on-bad-exit=1",
        *launch.srun_args,
    ]
    return [*slurm, sys.executable, "-u", *args], env
