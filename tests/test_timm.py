"""The timm drop-in against timm's own HRNet implementation (``timm.models.hrnet``).

After ``import hrnet`` timm's registry builds ``hrnet.HRNet``; timm's original classes stay reachable through
the entry-point functions of its module, which are the reference here: same weights in, same numbers out.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from helpers import NEEDS_TIMM, max_rel_diff, randomize_norm_stats
from torch import nn

timm = pytest.importorskip("timm", reason=NEEDS_TIMM)

import timm.models.hrnet as timm_hrnet  # noqa: E402

import hrnet  # noqa: E402
from hrnet import timm_models  # noqa: E402

NAMES = sorted(timm_hrnet.default_cfgs)  # timm's own list of HRNet names
TOLERANCE = 1e-5
SMALL = "hrnet_w18_small"


def timm_reference(name: str, **kwargs) -> nn.Module:
    """timm's original model, built by its own entry-point function (the registry now points at ours)."""
    return getattr(timm_hrnet, name)(**kwargs)


def image(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def assert_close(ours, reference) -> None:
    """Same structure (tensor or list of tensors), same shapes, values within the suite's tolerance."""
    if isinstance(reference, torch.Tensor):
        assert isinstance(ours, torch.Tensor) and ours.shape == reference.shape
        assert max_rel_diff(ours, reference) <= TOLERANCE
        return
    assert isinstance(ours, (list, tuple)) and len(ours) == len(reference)
    for a, b in zip(ours, reference):
        assert_close(a, b)


def shapes(model: nn.Module) -> dict:
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def as_json(value) -> object:
    return json.loads(json.dumps(value))


# --------------------------------------------------------------------------------------------- every name
@pytest.fixture(scope="module", params=NAMES)
def pair(request) -> SimpleNamespace:
    """timm's model with random BN statistics, and ours from ``timm.create_model`` holding the same tensors."""
    name = request.param
    reference = randomize_norm_stats(timm_reference(name)).eval()
    with torch.device("meta"):  # no second random init: the tensors come from the reference
        ours = timm.create_model(name)
    layout = shapes(ours)
    ours.load_state_dict(reference.state_dict(), assign=True)
    return SimpleNamespace(name=name, ours=ours.eval(), reference=reference, layout=layout)


@pytest.fixture(scope="module")
def pristine_timm() -> dict:
    """What timm itself registers for HRNet, read in a process that never imports this package."""
    script = (
        "import json, sys, torch, timm\n"
        "names = timm.list_models('hrnet_*')\n"
        "with torch.device('meta'):\n"
        "    built = {n: timm.create_model(n).pretrained_cfg for n in names}\n"
        "tags = {t: timm.models.get_pretrained_cfg(t).to_dict() for t in timm.list_pretrained('hrnet_*')}\n"
        "assert 'hrnet' not in sys.modules\n"
        "print(json.dumps(dict(names=names, built=built, tags=tags)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_registry_names_are_timms_names(pristine_timm: dict) -> None:
    assert sorted(timm_models.MODEL_ARCHS) == NAMES == sorted(pristine_timm["names"])
    assert sorted(timm.list_models("hrnet_*")) == NAMES
    assert sorted(timm.list_pretrained("hrnet_*")) == sorted(pristine_timm["tags"])
    for tag, cfg in pristine_timm["tags"].items():
        assert as_json(timm.models.get_pretrained_cfg(tag).to_dict()) == cfg, tag


def test_listed_under_timms_module_name(pristine_timm: dict) -> None:
    """timm files models under their module's last name; its own tests pick models with module='hrnet'."""
    assert timm.list_models(module="hrnet") == pristine_timm["names"]


def test_pretrained_cfg_tables_equal_timms() -> None:
    """Ours are timm's configs, held as copies: registering our names must leave timm's own table untouched."""
    assert sorted(timm_models.default_cfgs) == NAMES
    for name in NAMES:
        assert timm_models.default_cfgs[name] == timm_hrnet.default_cfgs[name], name
        assert timm_models.default_cfgs[name] is not timm_hrnet.default_cfgs[name], name
        assert timm_models.default_cfgs[name].cfgs is not timm_hrnet.default_cfgs[name].cfgs, name


def test_create_model_builds_ours(pair: SimpleNamespace, pristine_timm: dict) -> None:
    ours, reference = pair.ours, pair.reference
    assert isinstance(ours, hrnet.HRNet) and ours.head_type == "cls"
    assert type(ours).__name__ == type(reference).__name__  # HighResolutionNet, for clients that look
    assert ours.spec is hrnet.ARCHS[timm_models.MODEL_ARCHS[pair.name]]
    for attribute in ("num_classes", "num_features", "head_hidden_size", "feature_info"):
        assert getattr(ours, attribute) == getattr(reference, attribute), attribute
    assert as_json(ours.pretrained_cfg) == pristine_timm["built"][pair.name]
    assert ours.default_cfg == ours.pretrained_cfg


def test_state_dict_keys_and_shapes(pair: SimpleNamespace) -> None:
    assert pair.layout == shapes(pair.reference)


def test_parameter_order(pair: SimpleNamespace) -> None:
    """Same order as timm's, so optimizer states saved from a timm run line up with ours."""
    assert [n for n, _ in pair.ours.named_parameters()] == [n for n, _ in pair.reference.named_parameters()]


def test_logits(pair: SimpleNamespace) -> None:
    x = image(1, 3, 64, 64)
    with torch.no_grad():
        assert_close(pair.ours(x), pair.reference(x))


# --------------------------------------------------------------------------------------------- one small name
@pytest.fixture(scope="module")
def small() -> SimpleNamespace:
    reference = randomize_norm_stats(timm_reference(SMALL)).eval()
    ours = timm.create_model(SMALL).eval()
    ours.load_state_dict(reference.state_dict())
    return SimpleNamespace(ours=ours, reference=reference, x=image(2, 3, 64, 64))


def features_pair(small: SimpleNamespace, **kwargs) -> tuple[nn.Module, nn.Module]:
    reference = timm_reference(SMALL, features_only=True, **kwargs).eval()
    ours = timm.create_model(SMALL, features_only=True, **kwargs).eval()
    body = getattr(reference, "model", reference)  # the generic wrapper holds the network as ``model``
    assert not body.load_state_dict(small.reference.state_dict(), strict=False).missing_keys
    ours.load_state_dict(reference.state_dict())
    return ours, reference


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(feature_location=""),
        dict(feature_location="incre", out_indices=(1, 3)),
        dict(feature_location="", out_indices=(0, -1)),
        dict(out_indices=2),
    ],
)
def test_features_only(small: SimpleNamespace, kwargs: dict) -> None:
    ours, reference = features_pair(small, **kwargs)
    assert isinstance(ours, hrnet.HRNet)
    assert shapes(ours) == shapes(reference)
    assert ours.feature_info.channels() == reference.feature_info.channels()
    assert ours.feature_info.reduction() == reference.feature_info.reduction()
    assert ours.feature_info.out_indices == reference.feature_info.out_indices
    assert ours.pretrained_cfg == reference.pretrained_cfg
    with torch.no_grad():
        assert_close(ours(small.x), reference(small.x))


def test_features_through_forward_intermediates_getter(small: SimpleNamespace) -> None:
    ours, reference = features_pair(small, feature_cls="getter", out_indices=(1, 2))
    assert shapes(ours) == shapes(reference)
    assert ours.feature_info.channels() == reference.feature_info.channels()
    assert ours.feature_info.reduction() == reference.feature_info.reduction()
    with torch.no_grad():
        assert_close(ours(small.x), reference(small.x))


def test_forward_features_and_head(small: SimpleNamespace) -> None:
    with torch.no_grad():
        ours, reference = small.ours.forward_features(small.x), small.reference.forward_features(small.x)
        assert_close(ours, reference)
        assert_close(small.ours.forward_head(ours, pre_logits=True), small.reference.forward_head(reference, True))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(indices=[0, 2]),
        dict(indices=[3, 1], intermediates_only=True),
        dict(indices=2, stop_early=True),
        dict(indices=[-4], stop_early=True),
        dict(indices=[0], stop_early=True),
        dict(indices=1, intermediates_only=True),
    ],
)
def test_forward_intermediates(small: SimpleNamespace, kwargs: dict) -> None:
    with torch.no_grad():
        assert_close(
            small.ours.forward_intermediates(small.x, **kwargs),
            small.reference.forward_intermediates(small.x, **kwargs),
        )


@pytest.mark.parametrize("indices", [1, [0], [1, 2], [0, 3], 5])
def test_prune_intermediate_layers(small: SimpleNamespace, indices) -> None:
    ours, reference = copy.deepcopy(small.ours), copy.deepcopy(small.reference)
    assert ours.prune_intermediate_layers(indices) == reference.prune_intermediate_layers(indices)
    assert shapes(ours) == shapes(reference)
    assert (ours.num_features, ours.num_classes) == (reference.num_features, reference.num_classes)
    with torch.no_grad():
        assert_close(ours.forward_intermediates(small.x, indices), reference.forward_intermediates(small.x, indices))
        # after a stem-only prune timm's forward returns the stem map, ours the list of trunk outputs [stem]
        expected = reference(small.x)
        assert_close(ours(small.x), [expected] if ours.stem_only else expected)


@pytest.mark.parametrize("num_classes, global_pool", [(10, "max"), (7, None), (0, "avg")])
def test_reset_classifier(small: SimpleNamespace, num_classes: int, global_pool: str | None) -> None:
    ours, reference = copy.deepcopy(small.ours), copy.deepcopy(small.reference)
    ours.reset_classifier(num_classes, global_pool)
    reference.reset_classifier(num_classes, global_pool)
    assert shapes(ours) == shapes(reference)
    assert (ours.num_classes, ours.head_hidden_size) == (reference.num_classes, reference.head_hidden_size)
    assert type(ours.get_classifier()) is type(reference.get_classifier())
    ours.get_classifier().load_state_dict(reference.get_classifier().state_dict())
    with torch.no_grad():
        assert_close(ours(small.x), reference(small.x))


def test_reset_classifier_needs_the_classification_head() -> None:
    with pytest.raises(ValueError, match="head='cls'"):
        timm.create_model(SMALL, head="").reset_classifier(10)
    with pytest.raises(ValueError, match="num_classes"):
        timm.create_model(SMALL).reset_classifier(-1)


@pytest.mark.parametrize("coarse", [False, True])
def test_parameter_groups(small: SimpleNamespace, coarse: bool) -> None:
    ours = timm.models.group_parameters(small.ours, small.ours.group_matcher(coarse))
    reference = timm.models.group_parameters(small.reference, small.reference.group_matcher(coarse))
    assert {group: sorted(names) for group, names in ours.items()} == {
        group: sorted(names) for group, names in reference.items()
    }


def test_bad_tap_indices_are_clear_errors(small: SimpleNamespace) -> None:
    with pytest.raises(ValueError, match=r"tap indices in \[-5, 4\]"):
        small.ours.forward_intermediates(small.x, indices=[5])
    with pytest.raises(ValueError, match="feature_location"):
        timm.create_model(SMALL, features_only=True, feature_location="final")
    with pytest.raises(ValueError, match="output_fmt"):
        small.ours.forward_intermediates(small.x, output_fmt="NHWC")


# --------------------------------------------------------------------------------------------- pretrained loading
@pytest.fixture(scope="module")
def timm_checkpoint(small: SimpleNamespace, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("weights") / "hrnet_w18_small.pth"
    torch.save(small.reference.state_dict(), path)
    return str(path)


@pytest.mark.parametrize("kwargs", [dict(), dict(in_chans=1), dict(features_only=True, out_indices=(0, 4))])
def test_pretrained_from_local_file(timm_checkpoint: str, kwargs: dict) -> None:
    overlay = dict(file=timm_checkpoint)
    ours = timm.create_model(SMALL, pretrained=True, pretrained_cfg_overlay=overlay, **kwargs).eval()
    reference = timm_reference(SMALL, pretrained=True, pretrained_cfg_overlay=overlay, **kwargs).eval()
    x = image(1, kwargs.get("in_chans", 3), 64, 64)
    with torch.no_grad():
        assert_close(ours(x), reference(x))


def test_pretrained_with_new_classifier_keeps_the_body(timm_checkpoint: str, small: SimpleNamespace) -> None:
    ours = timm.create_model(SMALL, pretrained=True, pretrained_cfg_overlay=dict(file=timm_checkpoint), num_classes=5)
    assert ours.num_classes == 5
    with torch.no_grad():
        assert_close(ours.eval().forward_features(small.x), small.reference.forward_features(small.x))


# --------------------------------------------------------------------------------------------- import
def test_import_registers_silently() -> None:
    script = "import hrnet, timm; print(type(timm.create_model('hrnet_w18_small')).__module__)"
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.strip() == "hrnet.timm_models.hrnet"


def test_import_without_timm() -> None:
    script = (
        "import sys\n"
        "sys.modules['timm'] = None  # makes `import timm` fail\n"
        "import hrnet\n"
        "assert 'hrnet.timm_models' not in sys.modules\n"
        "print(hrnet.HRNet('w18_small', head='cls').out_channels[0])\n"
    )
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.strip() == "2048"


# --------------------------------------------------------------------------------------------- beyond timm
@pytest.mark.parametrize("size", [(97, 131), (473, 473)])
def test_any_input_size(small: SimpleNamespace, size: tuple[int, int]) -> None:
    x = image(1, 3, *size)
    features = timm.create_model(SMALL, features_only=True).eval()
    with torch.no_grad():
        assert small.ours(x).shape == (1, 1000)
        maps = features(x)
        with pytest.raises(RuntimeError):  # timm's fusion upsamples by fixed factors: sizes stop matching
            small.reference(x)
    h, w = size
    for tap, reduction in zip(maps, features.feature_info.reduction()):
        steps = int(math.log2(reduction))  # every stride-2 3×3 conv (padding 1) maps n to ceil(n / 2)
        expected = (math.ceil(h / 2**steps), math.ceil(w / 2**steps))
        assert tuple(tap.shape[-2:]) == expected


def test_gradient_checkpointing_same_gradients() -> None:
    model = timm.create_model(SMALL).train()
    checkpointed = copy.deepcopy(model)
    checkpointed.set_grad_checkpointing(True)
    x, weights = image(2, 3, 64, 64), image(2, 1000, seed=1)
    grads, calls = [], []
    for net in (model, checkpointed):
        count = [0]
        net.stage4[0].fuse_layers.register_forward_pre_hook(lambda *_, count=count: count.__setitem__(0, count[0] + 1))
        (net(x) * weights).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
        calls.append(count[0])
    assert calls == [1, 2]  # torch.utils.checkpoint enters a checkpointed block again in backward
    assert max_rel_diff(grads[1], grads[0]) <= TOLERANCE


@pytest.mark.parametrize("kwargs", [dict(), dict(features_only=True)])
def test_torchscript_of_timm_created_model(small: SimpleNamespace, kwargs: dict) -> None:
    model = timm.create_model(SMALL, **kwargs).eval()
    scripted = torch.jit.script(model)
    with torch.no_grad():
        for x in (small.x, image(1, 3, 97, 131)):
            assert_close(scripted(x), model(x))


# --------------------------------------------------------------------------------------------- training
def test_a_training_step_equals_timms() -> None:
    """Train mode: batch statistics, BN running averages (momentum), gradients and one SGD step, as timm's."""
    reference = randomize_norm_stats(timm_reference(SMALL)).train()
    ours = timm.create_model(SMALL).train()
    ours.load_state_dict(reference.state_dict())
    x = image(4, 3, 64, 64, seed=3)
    for model in (reference, ours):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        model(x).pow(2).mean().backward()
        optimizer.step()
    grads = dict(reference.named_parameters())
    for name, param in ours.named_parameters():
        assert max_rel_diff(param.grad, grads[name].grad) <= TOLERANCE, name
    expected = reference.state_dict()
    for key, value in ours.state_dict().items():  # weights after the step and running statistics
        if value.is_floating_point():
            assert max_rel_diff(value, expected[key]) <= TOLERANCE, key
        else:
            assert torch.equal(value, expected[key]), key


def test_create_model_with_a_dense_head() -> None:
    """``timm.create_model(name, head='v2')`` (docs/models.md): the paper's V2 head on timm's weights, 15C channels."""
    model = timm.create_model("hrnet_w18", head="v2").eval()
    assert isinstance(model, hrnet.HRNet)
    core = hrnet.HRNet("w18", head="v2").eval()
    core.load_state_dict(model.state_dict())
    x = image(1, 3, 65, 97)
    with torch.no_grad():
        (ours,), (expected,) = model(x), core(x)
    assert ours.shape == (1, 15 * 18, 17, 25)
    assert max_rel_diff(ours, expected) <= TOLERANCE


# --------------------------------------------------------------------------------------------- FX
@pytest.mark.parametrize("kwargs", [{}, dict(num_classes=0)], ids=["logits", "pooled"])
def test_fx_symbolic_trace(small: SimpleNamespace, kwargs: dict) -> None:
    """``torch.fx.symbolic_trace`` (what torchvision's feature extractor and timm's FX features use) traces the
    timm model, and the traced graph computes the same outputs at another size."""
    model = timm.create_model(SMALL, **kwargs).eval()
    model.load_state_dict(small.ours.state_dict(), strict=not kwargs)
    traced = torch.fx.symbolic_trace(model)
    x = image(1, 3, 97, 75)
    with torch.no_grad():
        assert_close(traced(x), model(x))
    with pytest.raises(ValueError, match="expected 3 input channels"):
        model(image(1, 4, 64, 64))  # eager inputs are still checked


# --------------------------------------------------------------------------------------------- pooling
POOL_TYPES = ["avg", "max", "avgmax", "catavgmax", ""]


@pytest.mark.parametrize("global_pool", POOL_TYPES)
def test_every_pool_type_of_timm(small: SimpleNamespace, global_pool: str) -> None:
    """``global_pool`` as timm's own HRNet takes it ('' keeps the map: only without a classifier)."""
    kwargs = dict(global_pool=global_pool, num_classes=0 if global_pool == "" else 7)
    reference = randomize_norm_stats(timm_reference(SMALL, **kwargs)).eval()
    ours = timm.create_model(SMALL, **kwargs).eval()
    ours.load_state_dict(reference.state_dict())
    assert (ours.num_features, ours.head_hidden_size) == (reference.num_features, reference.head_hidden_size)
    with torch.no_grad():
        assert_close(ours(small.x), reference(small.x))
        assert_close(ours.forward_head(ours.forward_features(small.x), pre_logits=True),
                     reference.forward_head(reference.forward_features(small.x), pre_logits=True))  # fmt: skip


@pytest.mark.parametrize("global_pool", POOL_TYPES)
def test_reset_classifier_with_every_pool_type(small: SimpleNamespace, global_pool: str) -> None:
    ours, reference = copy.deepcopy(small.ours), copy.deepcopy(small.reference)
    num_classes = 0 if global_pool == "" else 5
    ours.reset_classifier(num_classes, global_pool)
    reference.reset_classifier(num_classes, global_pool)
    assert shapes(ours) == shapes(reference) and ours.head_hidden_size == reference.head_hidden_size
    ours.get_classifier().load_state_dict(reference.get_classifier().state_dict())
    with torch.no_grad():
        assert_close(ours(small.x), reference(small.x))


# --------------------------------------------------------------------------------------------- output stride
@pytest.mark.parametrize("output_stride, reductions", [(16, [2, 4, 8, 16, 16]), (8, [2, 4, 8, 8, 8])])
def test_create_model_with_output_stride(small: SimpleNamespace, output_stride: int, reductions: list[int]) -> None:
    """timm's own HRNet refuses any output stride but 32; ours keeps the weights (strict load) and reports the
    real reductions, which the feature maps have."""
    with pytest.raises(AssertionError):
        timm_reference(SMALL, output_stride=output_stride)
    model = timm.create_model(SMALL, output_stride=output_stride).eval()
    model.load_state_dict(small.reference.state_dict(), strict=True)
    assert [info["reduction"] for info in model.feature_info] == reductions
    features = timm.create_model(SMALL, features_only=True, output_stride=output_stride)
    assert features.feature_info.reduction() == reductions
    with torch.no_grad():
        maps = features(image(1, 3, 128, 96))
    assert [(128 // m.shape[-2], 96 // m.shape[-1]) for m in maps] == [(r, r) for r in reductions]


def test_deeplabv3plus_trains_on_hrnet_w18_at_output_stride_16() -> None:
    """A DeepLabV3+ client (segmentation_models_pytorch, which asks the timm encoder for output stride 16)
    takes hrnet_w18 and trains: every encoder parameter gets a gradient and the loss drops on a fixed batch."""
    smp = pytest.importorskip("segmentation_models_pytorch", reason="needs segmentation-models-pytorch: '.[dev]'")
    torch.manual_seed(0)
    model = smp.DeepLabV3Plus("tu-hrnet_w18", encoder_weights=None, encoder_output_stride=16, classes=3)
    assert isinstance(model.encoder.model, hrnet.HRNet)
    assert model.encoder.model.feature_info.reduction() == [2, 4, 8, 16, 16]
    x = image(2, 3, 64, 96)
    target = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), target)
        loss.backward()
        if not losses:  # the stem and the dilated lowest branch learn (DeepLabV3+ reads taps 2 and 4 only)
            encoder = model.encoder.model
            for param in (encoder.conv1.weight, *encoder.stage4[-1].branches[3].parameters()):
                assert param.grad is not None and param.grad.abs().sum() > 0
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses) and losses[-1] < 0.85 * losses[0], losses
