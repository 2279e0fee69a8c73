"""torch's safe loader (``weights_only=True``) and mmengine's checkpoints: importing ``hrnet.mm`` leaves torch's
allow-list as it is; ``hrnet.SafeLoadHook`` widens it only inside the Runner's own ``load_checkpoint`` (what its
``resume`` and ``load_from`` call), only by what mmengine's Runner saves, and a hostile file is still refused there.
The frameworks' ``tools/train.py --resume`` of a config of ours is in test_reproduce_runs.py."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest
import torch
from helpers import NEEDS_OPENMMLAB

pytest.importorskip("mmengine", reason=NEEDS_OPENMMLAB)

import numpy as np  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.logging import HistoryBuffer  # noqa: E402

import hrnet.mm  # noqa: E402, F401  (hrnet.SafeLoadHook)
from hrnet.checkpoint import allowed_globals, numpy_globals  # noqa: E402
from hrnet.mm.compat import SafeLoadHook, load_checkpoints_safely, mmengine_checkpoints  # noqa: E402


class Reduce:
    """Pickles as ``func(*args)``: how a checkpoint file asks the loader to call something."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def allow_list() -> list[str]:
    """torch's user allow-list by name (comparable across processes)."""
    names = (e[1] if isinstance(e, tuple) else f"{e.__module__}.{e.__qualname__}" for e in _safe_globals())
    return sorted(names)


def _safe_globals() -> list:
    return torch.serialization.get_safe_globals()


def mmengine_file(path) -> str:
    """What mmengine's Runner saves beside the weights: numpy arrays, scalars and dtypes in ``meta`` and a
    ``HistoryBuffer`` whose statistics method pickles as ``getattr(HistoryBuffer, 'mean')``."""
    buffer = HistoryBuffer()
    buffer.update(1.5)
    meta = dict(dataset_meta=dict(colors=np.array([[0, 255, 0]], np.uint8), sigmas=np.ones(17, np.float32)))
    meta.update(seed=np.int64(42), dtype=np.dtype("float32"))
    checkpoint = dict(meta=meta, state_dict={"w": torch.ones(2)}, message_hub=dict(loss=buffer))
    checkpoint["method"] = Reduce(getattr, HistoryBuffer, "mean")
    torch.save(checkpoint, path)
    return str(path)


# A fresh interpreter: load each file with weights_only=True, print what happened and torch's allow-list.
PROBE = """
import json, sys, torch
if sys.argv[1] == 'import':
    import hrnet.mm
outcomes = []
for path in sys.argv[2:]:
    try:
        torch.load(path, weights_only=True)
        outcomes.append('loaded')
    except Exception as error:
        outcomes.append(f'{type(error).__module__}.{type(error).__qualname__}')
names = [e[1] if isinstance(e, tuple) else f'{e.__module__}.{e.__qualname__}'
         for e in torch.serialization.get_safe_globals()]
print(json.dumps(dict(outcomes=outcomes, allowed=sorted(names))))
"""


def probe(importing: bool, *paths: str) -> dict:
    argv = [sys.executable, "-c", PROBE, "import" if importing else "plain", *paths]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_hrnet_mm_leaves_torchs_safe_loader_as_it_is(tmp_path) -> None:
    array = tmp_path / "array.pth"
    torch.save({"mean": np.array([123.675, 116.28, 103.53])}, array)
    files = [str(array), mmengine_file(tmp_path / "mmengine.pth")]
    plain, imported = probe(False, *files), probe(True, *files)
    assert plain["outcomes"] == ["_pickle.UnpicklingError"] * 2  # torch refuses numpy arrays, HistoryBuffer
    assert imported["outcomes"] == plain["outcomes"]  # and still does after the import
    # The only entries that appear are torch's own: its submodules (torch.distributed.tensor, torch._dynamo) allow
    # their types when the frameworks import them.
    added = set(imported["allowed"]) - set(plain["allowed"])
    assert set(plain["allowed"]) <= set(imported["allowed"]) and all(name.startswith("torch.") for name in added)
    assert not [name for name in imported["allowed"] if name.startswith(("numpy", "mmengine", "builtins.getattr"))]
    with mmengine_checkpoints():  # the files are what the scoped loads do read
        assert torch.load(array, weights_only=True)["mean"].dtype == np.float64
        assert torch.load(files[1], weights_only=True)["method"] is HistoryBuffer.mean


class MMEngineLikeRunner:
    """The two methods of mmengine's Runner the hook concerns: ``resume`` calls ``load_checkpoint``, which calls
    ``torch.load`` without ``weights_only`` (torch's default: True)."""

    def load_checkpoint(self, filename: str, map_location: str = "cpu") -> dict:
        return torch.load(filename, map_location=map_location)

    def resume(self, filename: str) -> dict:
        return self.load_checkpoint(filename, map_location="cpu")


def test_the_hook_widens_only_its_runners_loads(tmp_path) -> None:
    path = mmengine_file(tmp_path / "epoch_1.pth")
    before = allow_list()
    runner, other = MMEngineLikeRunner(), MMEngineLikeRunner()
    with pytest.raises(pickle.UnpicklingError):
        runner.resume(path)
    hook = SafeLoadHook()
    hook.before_run(runner)
    hook.before_run(runner)  # val() / test() after train(): wrapped once
    checkpoint = runner.resume(path)
    assert checkpoint["meta"]["dataset_meta"]["colors"].dtype == np.uint8 and checkpoint["meta"]["seed"] == 42
    assert checkpoint["message_hub"]["loss"].mean() == 1.5 and checkpoint["method"] is HistoryBuffer.mean
    assert runner.load_checkpoint(path)["meta"]["dtype"] == np.float32
    assert allow_list() == before  # nothing stays allowed after the load
    for load in (lambda: torch.load(path), lambda: other.resume(path)):  # other loads, other runners: refused
        with pytest.raises(pickle.UnpicklingError):
            load()


def test_a_failing_load_leaves_the_allow_list_as_it_was(tmp_path) -> None:
    before = allow_list()
    runner = MMEngineLikeRunner()
    SafeLoadHook().before_run(runner)
    with pytest.raises(FileNotFoundError):
        runner.resume(str(tmp_path / "missing.pth"))
    assert allow_list() == before


def test_blocks_nest_and_keep_what_the_process_allowed_itself(tmp_path) -> None:
    """torch's own ``safe_globals`` removes its entries on exit, also those the process had added before."""
    path = tmp_path / "array.pth"
    torch.save({"a": np.zeros(2, np.float32)}, path)
    before = _safe_globals()
    torch.serialization.add_safe_globals([np.ndarray])  # the process's own choice
    try:
        with mmengine_checkpoints():
            with allowed_globals(numpy_globals()):
                pass
            assert torch.load(path)["a"].dtype == np.float32  # the outer block still allows numpy
        assert np.ndarray in _safe_globals()
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path)  # numpy's reconstruct is no longer allowed
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(before)


def test_the_hook_is_added_once_and_keeps_the_configs_hooks() -> None:
    cfg = Config(dict(custom_hooks=[dict(type="SyncBuffersHook")]))
    load_checkpoints_safely(cfg)
    load_checkpoints_safely(cfg)
    assert [hook["type"] for hook in cfg.custom_hooks] == ["SyncBuffersHook", "hrnet.SafeLoadHook"]
    bare = Config(dict())
    load_checkpoints_safely(bare)
    assert bare.custom_hooks == [dict(type="hrnet.SafeLoadHook")]


# ------------------------------------------------------------------------------------------ inside the scoped loads
@pytest.mark.parametrize(
    "hostile",
    [
        Reduce(getattr, HistoryBuffer, "__init__"),
        Reduce(getattr, HistoryBuffer, "update"),
        Reduce(getattr, torch.Tensor, "tolist"),
        Reduce(getattr, 1, "__class__"),
    ],
    ids=["buffer-init", "buffer-update", "tensor-method", "int-class"],
)
def test_a_hostile_getattr_is_still_refused(hostile, tmp_path) -> None:
    path = tmp_path / "hostile.pth"
    torch.save({"state_dict": {}, "x": hostile}, path)
    with mmengine_checkpoints(), pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_mmengine_statistics_methods_are_the_only_attributes_allowed(tmp_path) -> None:
    path = tmp_path / "allowed.pth"
    torch.save({"m": Reduce(getattr, HistoryBuffer, "mean")}, path)
    with mmengine_checkpoints():
        assert torch.load(path)["m"] is HistoryBuffer.mean


def test_only_numpys_array_and_scalar_types_are_allowed(tmp_path) -> None:
    """Any other numpy function (here one that writes a file) stays refused, inside the scoped loads and in
    ``hrnet.load_checkpoint``'s reading alike."""
    from hrnet.checkpoint import read_checkpoint

    path, written = tmp_path / "numpy-call.pth", tmp_path / "written.npy"
    torch.save({"state_dict": {"w": torch.ones(1)}, "x": Reduce(np.save, str(written), [1, 2])}, path)
    with mmengine_checkpoints(), pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    with pytest.raises(hrnet.CheckpointError, match=r"objects beyond tensors \(numpy\.save\)"):
        read_checkpoint(path)
    assert not written.exists()


def test_mmpose_dataset_meta_loads(tmp_path) -> None:
    """mmpose's ``dataset_meta`` (saved in every checkpoint's meta) holds numpy uint8 / float32 arrays and scalars."""
    meta = dict(skeleton_link_colors=np.array([[0, 255, 0]], np.uint8), sigmas=np.ones(17, np.float32), n=np.int64(17))
    torch.save({"meta": {"dataset_meta": meta}}, tmp_path / "pose.pth")
    with mmengine_checkpoints():
        loaded = torch.load(tmp_path / "pose.pth")["meta"]["dataset_meta"]
    assert loaded["skeleton_link_colors"].dtype == np.uint8 and loaded["n"] == 17
