"""Checkpoints in every public HRNet layout, loaded into ``HRNet`` with a report and never silently.

A file is read with ``torch.load(weights_only=True)``, unwrapped (``state_dict`` / ``model`` entries,
a DataParallel ``module.`` prefix), its layout detected, and its keys renamed to this package's names by
the table ``hrnet.layouts.LAYOUTS``. Keys that belong to a task head or loss the model does not hold (the pose keypoint
conv, the segmentation class conv, OCR modules, the ImageNet head under a backbone, the heads of OpenMMLab
detectors and segmentors) are *ignored* and listed as such; everything else either loads, or is reported
as missing / unexpected, and a strict load raises on any of them. Renamings that change a tensor are
exact: a conv bias the target lacks is folded into the next BN's running mean, a bias the source lacks is
zero.

Layouts (key names confirmed in the public sources):

* ``timm``: timm's ``HighResolutionNet`` = the official ImageNet code (HRNet-Image-Classification
  ``cls_hrnet.py``) = this package: ``conv1 bn1 conv2 bn2 layer1 transition{1,2,3} stage{2,3,4}``,
  ``incre_modules downsamp_modules final_layer classifier``; the V1h / V2 / V2p heads under ``head.``.
* ``official-pose``: deep-high-resolution-net ``pose_hrnet.py``: trunk keys, the last module fuses only
  into the high-resolution output, and a keypoint 1×1 conv ``final_layer.weight/bias``.
* ``official-seg``: HRNet-Semantic-Segmentation ``seg_hrnet.py`` / ``seg_hrnet_ocr.py``, saved through
  ``FullModel`` (``model.`` prefix, ``loss.*``): ``last_layer.0`` (1×1 conv, bias) and ``last_layer.1`` (BN)
  are the V2 head's ``head.proj.0`` / ``head.proj.1``; ``last_layer.3`` is the class conv; OCR models add
  ``conv3x3_ocr ocr_gather_head ocr_distri_head cls_head aux_head``.
* ``mm``: mmpose / mmseg / mmdet / mmengine: ``backbone.`` prefix; mmdet's HRFPN neck
  (``neck.reduction_conv.conv``, ``neck.fpn_convs.{i}.conv``) is the V2p head; mmseg's FCN head on the
  concatenated branches (``decode_head.convs.0.conv`` without bias, ``decode_head.convs.0.bn``) is the V2 head.
* ``mmpretrain``: ``backbone.`` prefix; the ImageNet head is renamed (``neck.0.increase_layers``,
  ``neck.0.downsample_layers.{i}.conv/bn``, ``neck.0.final_layer.conv/bn``, ``head.fc``), its convs have no bias.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

import torch
from torch import nn

from .layouts import (
    CLS_HEAD_KEYS,
    LAYOUTS,
    NATIVE_KEY,
    TARGETS,
    WRAPPED_TARGETS,
    Layout,
    matches_any,
    rename_key,
)
from .module import HighResolutionModule

StateDict = Dict[str, torch.Tensor]
PathLike = Union[str, "os.PathLike[str]"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model; the message says what was expected."""


# ------------------------------------------------------------------------------------------------ reading
def _disallowed_globals(path: PathLike, error: Exception) -> List[str]:
    """The Python globals (beyond tensors) a checkpoint needs, as ``module.name`` strings."""
    try:
        names = list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # not a zip checkpoint, or a pickle protocol the scanner does not read
        names = []
    return names or re.findall(r"GLOBAL ([\w.]+) was not an allowed global", str(error))


# numpy's scalar types that checkpoints hold: mmengine writes numpy scalars and arrays into a checkpoint's ``meta``
# (mmpose's ``dataset_meta`` holds uint8 / float32 arrays), older training scripts their seeds and means.
NUMPY_DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
)  # fmt: skip
# Where numpy pickles its array and scalar constructors: numpy.core (1.x) and numpy._core (2.x) name the same objects.
_NUMPY_CORE_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")


def numpy_globals() -> list:
    """What numpy pickles for arrays, scalars and dtypes of ``NUMPY_DTYPES``, as entries of torch's safe-loader
    allow-list: the one definition of the numpy objects a checkpoint may hold (``[]`` without numpy)."""
    try:
        import numpy as np
    except ImportError:  # without numpy no file holding numpy objects can be read anyway
        return []
    constructors = dict(_reconstruct=np.zeros(1).__reduce__()[0], scalar=np.float64(0).__reduce__()[0])
    entries: list = [np.ndarray, np.dtype]
    for name, constructor in constructors.items():
        entries += [(constructor, f"{module}.{name}") for module in _NUMPY_CORE_MODULES]
    entries += [type(np.dtype(name)) for name in NUMPY_DTYPES]  # numpy >= 1.25 pickles dtypes by their class
    return list(dict.fromkeys(entries))


@contextlib.contextmanager
def allowed_globals(entries: List[Any]) -> Iterator[None]:
    """Within the block, torch's ``weights_only`` loader also accepts ``entries`` (``add_safe_globals`` items);
    after it, exactly the allow-list there was before. Unlike ``torch.serialization.safe_globals`` alone, an entry
    the process had allowed already stays allowed when the block ends, and blocks nest."""
    present = set(torch.serialization.get_safe_globals())
    added = [entry for entry in dict.fromkeys(entries) if entry not in present]
    with torch.serialization.safe_globals(added):
        yield


def _is_pickle_or_zip(path: PathLike) -> bool:
    """Whether the file is shaped like a checkpoint (zip archive, or a pickle from protocol 2 on)."""
    with open(path, "rb") as stream:
        return stream.read(1) == b"\x80" or zipfile.is_zipfile(path)


def read_checkpoint(path: PathLike, map_location: Any = "cpu") -> Any:
    """``torch.load`` with ``weights_only=True`` and errors that name the file and what was expected."""
    shown = repr(os.fspath(path))
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint file not found: {shown}")
    if not os.path.isfile(path):
        raise CheckpointError(f"expected a checkpoint file, got a directory: {shown}")
    with allowed_globals(numpy_globals()):  # numpy's arrays and scalars in metadata; nothing else of numpy's
        try:
            return torch.load(path, map_location=map_location, weights_only=True)
        except Exception as error:  # every reading failure becomes one clear error below
            failure = error
        needed = _disallowed_globals(path, failure)
    if needed or (_is_pickle_or_zip(path) and "Weights only load failed" in str(failure)):
        detail = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\n|$)", str(failure), re.DOTALL)
        reason = (
            f"it holds Python objects beyond tensors ({', '.join(needed[:5])})"
            if needed
            else (detail.group(1).strip()[:200] if detail else "see the cause")
        )
        raise CheckpointError(
            f"{shown} cannot be read with torch.load(weights_only=True): {reason}. Only weights are read here; if "
            "you trust the file, load it with torch.load(path, weights_only=False) and pass the state dict instead"
        ) from failure
    raise CheckpointError(
        f"{shown} is not a readable PyTorch checkpoint (corrupt, truncated or another kind of file): "
        f"{type(failure).__name__}: {str(failure)[:200]}"
    ) from failure


def extract_state_dict(checkpoint: Any, source: str = "<state dict>") -> StateDict:
    """The flat ``{name: tensor}`` dict inside a checkpoint (``state_dict`` / ``model`` wrappers, DataParallel
    ``module.`` prefix removed)."""
    state = checkpoint
    while isinstance(state, Mapping) and not all(isinstance(v, torch.Tensor) for v in state.values()):
        inner = next((state[k] for k in ("state_dict", "model") if isinstance(state.get(k), Mapping)), None)
        if inner is None:
            odd = next(k for k, v in state.items() if not isinstance(v, torch.Tensor))
            raise CheckpointError(
                f"{source}: expected a dict of tensors or one with a 'state_dict' / 'model' entry; entry {odd!r} "
                f"is a {type(state[odd]).__name__} (top-level keys: {sorted(map(str, state))[:8]})"
            )
        state = inner
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{source}: expected a dict of tensors (a state dict), got a {type(state).__name__}")
    if not state:
        raise CheckpointError(f"{source}: the state dict is empty")
    keys = [str(k) for k in state]
    if all(k.startswith("module.") for k in keys):
        return {k[len("module.") :]: v for k, v in zip(keys, state.values())}
    return dict(zip(keys, state.values()))


def detect_layout(state_dict: Mapping[str, Any]) -> str:
    """The name of the first layout in ``LAYOUTS`` one of whose markers fits a key (``'timm'`` otherwise)."""
    for layout in LAYOUTS.values():
        if any(matches_any(key, layout.markers) for key in state_dict):
            return layout.name
    return "timm"


def _resolve_layout(state_dict: Mapping[str, Any], layout: Optional[str]) -> Layout:
    if layout is None:
        return LAYOUTS[detect_layout(state_dict)]
    if layout not in LAYOUTS:
        raise CheckpointError(f"layout must be one of {sorted(LAYOUTS)} or None (detect), got {layout!r}")
    return LAYOUTS[layout]


# ------------------------------------------------------------------------------------------------ mapping
@dataclass
class NativeKeys:
    """A file's tensors under this package's names, with where each came from."""

    tensors: StateDict
    origin: Dict[str, str]  # our name -> file name
    ignored: List[str]  # file names of known not-needed keys


def to_native(state_dict: StateDict, layout: Layout) -> NativeKeys:
    """Rename a file's keys to ours by ``layout``; a clash of two file keys on one name is an error."""
    tensors: StateDict = {}
    origin: Dict[str, str] = {}
    ignored: List[str] = []
    for key, value in state_dict.items():
        name = next((n for n in (rename_key(key, f, o) for f, o in layout.renames) if n is not None), None)
        if name is None and matches_any(key, layout.not_needed):
            ignored.append(key)
            continue
        if name is None:
            name = key[len(layout.prefix) :] if layout.prefix and key.startswith(layout.prefix) else key
        if name in origin:
            raise CheckpointError(f"keys {origin[name]!r} and {key!r} both map to {name!r} ({layout.name} layout)")
        tensors[name] = value
        origin[name] = key
    return NativeKeys(tensors, origin, ignored)


def from_native(tensors: StateDict, layout: Layout) -> Tuple[StateDict, List[str]]:
    """Our names → ``layout``'s; returns the renamed tensors and our keys the layout cannot hold."""
    out: StateDict = {}
    dropped: List[str] = []
    for key, value in tensors.items():
        if matches_any(key, layout.cannot_hold):
            dropped.append(key)
            continue
        name = next((n for n in (rename_key(key, o, f) for f, o in layout.renames) if n is not None), None)
        out[name if name is not None else layout.prefix + key] = value
    return out, dropped


def match_conv_bias(tensors: StateDict, block: str, want_bias: bool) -> Optional[str]:
    """Make the conv of conv + BN block ``block`` have a bias or not, exactly, in place; returns a note.

    BN subtracts its mean, so a conv bias ``b`` equals a running mean lowered by ``b`` (eval) and vanishes in
    batch statistics (train): folding is exact both ways; a missing bias is zero.
    """
    weight, bias, mean = f"{block}.0.weight", f"{block}.0.bias", f"{block}.1.running_mean"
    if weight not in tensors or (bias in tensors) == want_bias:
        return None
    if want_bias:
        tensors[bias] = tensors[weight].new_zeros(tensors[weight].shape[0])
        return f"{bias}: zeros (the source conv has no bias)"
    if mean not in tensors:
        raise CheckpointError(f"cannot fold {bias} into the BN after it: {mean} is not in the checkpoint")
    tensors[mean] = tensors[mean] - tensors.pop(bias).to(tensors[mean].dtype)
    return f"{bias}: folded into {mean} (the target conv has no bias)"


def _conv_norm_blocks(model: nn.Module) -> Dict[str, bool]:
    """Every ``Sequential(conv, BN, ...)`` of the model and whether its conv has a bias."""
    return {
        name: module[0].bias is not None
        for name, module in model.named_modules()
        if isinstance(module, nn.Sequential)
        and len(module) >= 2
        and isinstance(module[0], nn.Conv2d)
        and isinstance(module[1], nn.modules.batchnorm._BatchNorm)
    }


def _not_needed_by(model: nn.Module) -> Tuple[str, ...]:
    """Our keys this model has no place for by design: a head it was built without, fusion rows its single
    output modules drop (HRNetV1 keeps only the high-resolution output of the last fusion)."""
    patterns: List[str] = []
    if getattr(model, "final_layer", None) is None:
        patterns.append(CLS_HEAD_KEYS)
    if getattr(model, "head", None) is None:
        patterns.append(r"^head\.")
    for name, module in model.named_modules():
        if isinstance(module, HighResolutionModule):
            rows = 0 if module.fuse_layers is None else len(module.fuse_layers)
            dropped = [str(r) for r in range(rows, len(module.branches))]
            if dropped and len(module.branches) > 1:
                patterns.append(rf"^{re.escape(name)}\.fuse_layers\.({'|'.join(dropped)})\.")
    return tuple(patterns)


# ------------------------------------------------------------------------------------------------ loading
def _group_names(keys: List[str]) -> str:
    """'incre_modules, final_layer, ...': the top-level modules of ``keys``, in order."""
    groups: List[str] = []
    for key in keys:
        group = re.sub(r"^(model\.|backbone\.)", "", key).split(".")[0]
        if group not in groups:
            groups.append(group)
    return ", ".join(groups)


def _some(keys: List[str], limit: int = 3) -> str:
    return ", ".join(keys[:limit]) + (f", … ({len(keys) - limit} more)" if len(keys) > limit else "")


@dataclass
class LoadReport:
    """What ``load_checkpoint`` did: every file key is loaded, ignored (known not needed) or unexpected."""

    layout: str
    source: str
    loaded: List[str] = field(default_factory=list)  # our names
    missing: List[str] = field(default_factory=list)  # our names the file lacks
    unexpected: List[str] = field(default_factory=list)  # file names with no place in the model
    ignored: List[str] = field(default_factory=list)  # file names of heads / losses the model does not hold
    renamed: Dict[str, str] = field(default_factory=dict)  # file name -> our name, where they differ
    adapted: List[str] = field(default_factory=list)  # exact rewrites (conv biases folded or zero)

    def __str__(self) -> str:
        text = f"{self.source} ({self.layout} layout): {len(self.loaded)} tensors loaded"
        for label, keys in (("missing", self.missing), ("unexpected", self.unexpected)):
            text += f", {len(keys)} {label}" + (f" ({_some(keys)})" if keys else "")
        text += f", {len(self.ignored)} ignored" + (f" ({_group_names(self.ignored)})" if self.ignored else "")
        return text + (f", {len(self.adapted)} conv biases adapted" if self.adapted else "")


def _source_dict(path_or_state_dict: Any, map_location: Any) -> Tuple[StateDict, str]:
    if isinstance(path_or_state_dict, Mapping):
        return extract_state_dict(path_or_state_dict), "<state dict>"
    if not isinstance(path_or_state_dict, (str, os.PathLike)):
        raise CheckpointError(f"expected a checkpoint path or a state dict, got a {type(path_or_state_dict).__name__}")
    source = os.fspath(path_or_state_dict)
    return extract_state_dict(read_checkpoint(source, map_location), repr(source)), source


def load_checkpoint(
    model: nn.Module,
    path_or_state_dict: Union[PathLike, Mapping[str, Any]],
    strict: bool = True,
    map_location: Any = "cpu",
    layout: Optional[str] = None,
) -> LoadReport:
    """Load an official / timm / OpenMMLab / mmpretrain checkpoint into ``model`` (an ``HRNet``, any head).

    ``strict``: any missing or unexpected key raises ``CheckpointError`` (ignored task-head keys do not).
    Either way it raises when nothing matches, on any shape mismatch, and on unreadable files.
    ``layout`` forces one of ``LAYOUTS`` instead of detecting it.
    """
    if not isinstance(model, nn.Module):
        raise CheckpointError(f"expected the model (an nn.Module) first, got a {type(model).__name__}")
    state_dict, source = _source_dict(path_or_state_dict, map_location)
    chosen = _resolve_layout(state_dict, layout)
    native = to_native(state_dict, chosen)
    report = LoadReport(chosen.name, source, ignored=list(native.ignored))
    report.renamed = {f: n for n, f in native.origin.items() if f != n}

    by_model = _not_needed_by(model)
    for name in [n for n in native.tensors if matches_any(n, by_model)]:
        report.ignored.append(native.origin[name])
        del native.tensors[name]
    for block, has_bias in _conv_norm_blocks(model).items():
        note = match_conv_bias(native.tensors, block, has_bias)
        if note:
            report.adapted.append(note)

    expected = model.state_dict()
    for name, value in native.tensors.items():
        if name not in expected:
            report.unexpected.append(native.origin.get(name, name))
        elif value.shape != expected[name].shape:
            raise CheckpointError(
                f"{source}: shape mismatch for {name!r} (file key {native.origin.get(name, name)!r}): checkpoint "
                f"{tuple(value.shape)}, model {tuple(expected[name].shape)} — is it the same arch / head?"
            )
        else:
            report.loaded.append(name)
    # BN counters are optional in PyTorch's own loading (files older than PyTorch 0.4.1 lack them).
    report.missing = [n for n in expected if n not in native.tensors and not n.endswith(".num_batches_tracked")]
    if not report.loaded:
        raise CheckpointError(
            f"{source}: no key of the checkpoint fits the model ({chosen.name} layout); file keys: "
            f"{_some(list(state_dict), 4)}; model keys: {_some(list(expected), 4)}"
        )
    if strict and (report.missing or report.unexpected):
        problems = [f"{len(report.missing)} missing: {_some(report.missing, 8)}"] if report.missing else []
        if report.unexpected:
            problems.append(f"{len(report.unexpected)} unexpected: {_some(report.unexpected, 8)}")
        raise CheckpointError(
            f"{source} ({chosen.name} layout) does not fit the model; "
            + "; ".join(problems)
            + " (pass strict=False to load the rest)"
        )
    result = model.load_state_dict({n: native.tensors[n] for n in report.loaded}, strict=False)
    if result.unexpected_keys:  # cannot happen after the checks above; kept as a guard against silent loss
        raise CheckpointError(f"{source}: the model refused {result.unexpected_keys}")
    return report


# ------------------------------------------------------------------------------------------------ converting
@dataclass
class Conversion:
    """A state dict rewritten from one layout to another, with what was left out and adapted."""

    state_dict: StateDict
    source_layout: str
    target: str
    left_out: List[str]
    adapted: List[str]


def convert(checkpoint: Any, to: str, source_layout: Optional[str] = None) -> Conversion:
    """Rewrite a checkpoint (a state dict or a wrapped one) into layout ``to`` (one of ``TARGETS``)."""
    if to not in TARGETS:
        raise CheckpointError(f"to must be one of {list(TARGETS)}, got {to!r}")
    state_dict = extract_state_dict(checkpoint)
    source = _resolve_layout(state_dict, source_layout)
    native = to_native(state_dict, source)
    unknown = [native.origin[n] for n in native.tensors if not NATIVE_KEY.match(n)]
    if unknown:
        raise CheckpointError(
            f"{len(unknown)} keys fit no HRNet module in the {source.name} layout: {_some(unknown, 6)} "
            f"(expected keys like conv1.weight, stage2.0.branches.0.0.conv1.weight)"
        )
    if not native.tensors:
        raise CheckpointError(f"nothing to convert: every key is a task head or loss ({_some(native.ignored)})")
    if to == "official":
        target = LAYOUTS["official-seg" if any(n.startswith("head.proj.") for n in native.tensors) else "timm"]
    else:
        target = LAYOUTS[to]
    tensors = dict(native.tensors)
    adapted = []
    blocks = {k[: -len(".0.weight")] for k in tensors if k.endswith(".0.weight")}
    for pattern, has_bias in target.conv_bias:
        for block in sorted(b for b in blocks if re.search(pattern, b)):
            note = match_conv_bias(tensors, block, has_bias)
            if note:
                adapted.append(note)
    out, dropped = from_native(tensors, target)
    if not out:
        raise CheckpointError(f"the {to} layout holds none of these keys: {_some(dropped)}")
    return Conversion(out, source.name, to, native.ignored + [native.origin[n] for n in dropped], adapted)


def convert_state_dict(state_dict: Mapping[str, Any], to: str = "timm") -> StateDict:
    """``state_dict`` (any supported layout, detected) rewritten into ``to``: ``'timm'``, ``'official'``
    (classification / pose keys, or the segmentation layout when it holds the V2 head), ``'mm'``
    (``backbone.`` prefix; heads as mmdet's HRFPN / mmseg's FCN head) or ``'mmpretrain'``. Keys the target
    cannot hold (task heads, losses) are left out with a warning."""
    conversion = convert(state_dict, to)
    if conversion.left_out:
        warnings.warn(
            f"{len(conversion.left_out)} keys have no place in the {to} layout and were left out "
            f"({_group_names(conversion.left_out)})",
            stacklevel=2,
        )
    return conversion.state_dict


def convert_file(src: PathLike, dst: PathLike, to: str) -> str:
    """Convert checkpoint file ``src`` into layout ``to`` at ``dst``; returns a one-line summary.

    ``mm`` and ``mmpretrain`` files are written as OpenMMLab checkpoints (``{'state_dict': ..., 'meta': ...}``).
    """
    conversion = convert(extract_state_dict(read_checkpoint(src), repr(os.fspath(src))), to)
    payload: Any = conversion.state_dict
    if to in WRAPPED_TARGETS:
        payload = {"state_dict": conversion.state_dict, "meta": {"converted_from": conversion.source_layout}}
    try:
        torch.save(payload, dst)
    except (OSError, RuntimeError) as error:
        raise CheckpointError(f"cannot write {os.fspath(dst)!r}: {error}") from error
    summary = (
        f"{os.fspath(src)} ({conversion.source_layout}) -> {os.fspath(dst)} ({to}): "
        f"{len(conversion.state_dict)} tensors"
    )
    if conversion.left_out:
        summary += f", left out {len(conversion.left_out)} ({_group_names(conversion.left_out)})"
    if conversion.adapted:
        summary += f", {len(conversion.adapted)} conv biases adapted exactly"
    return summary
