"""``hrnet reproduce``: the paper's rows trained and tested through the frameworks' own Runners and launchers.

rows (table, config, the paper's number) → launch (python / torchrun / srun command) → worker (mmengine Runner:
train, then test, resuming from the last checkpoint) → workdir (what a run leaves, read back) → collect
(results.md / .csv / .png); smoke: the same path on synthetic data, small enough for a laptop.
"""

from .rows import PaperMetric, ReproduceError, Row, all_rows, select_rows

__all__ = ["PaperMetric", "ReproduceError", "Row", "all_rows", "select_rows"]
