"""Fixtures and session settings for the test suite; the helpers tests import by name are in ``helpers.py``."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)  # robust to a busy machine; the suite is many small models


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(0)
