"""bfloat16 autocast on CPU (and float16 on a CUDA GPU, where there is one): finite outputs close to float32
for every head, plain and fused, and a finite training step.

Tolerance: bfloat16 keeps 8 significant bits, so each rounding is off by at most 2^-9 ≈ 0.2 % relative. The
network rounds activations and weights at every one of its ~40 layers; independent roundings add up like a
random walk, √40 × 0.2 % ≈ 1.2 %. The tests allow 3 % relative L2 error over a whole output and 6 % of its
largest value at any element: loose enough for rounding, tight enough to catch an op computing in the wrong
precision or a broken cast (those miss by tens of percent or give non-finite values).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from helpers import as_list, max_rel_diff, randomize_norm_stats, relative_l2

import hrnet

HEADS = [None, "v1", "v1h", "v2", "v2p", "cls"]
L2_TOLERANCE = 0.03
MAX_TOLERANCE = 0.06


def assert_autocast_close(head: str | None, device: str, dtype: torch.dtype) -> None:
    """Under autocast to ``dtype``, the plain and the fused network give finite ``dtype`` outputs close to the
    float32 ones (tolerances above)."""
    torch.manual_seed(0)
    model = randomize_norm_stats(hrnet.HRNet("w18_small", head=head)).eval().to(device)
    x = torch.randn(2, 3, 97, 131, device=device)
    with torch.no_grad():
        expected = as_list(model(x))
        for network in (model, hrnet.optimize_for_inference(model)):
            with torch.autocast(device, dtype=dtype):
                outputs = as_list(network(x))
            for out, ref in zip(outputs, expected, strict=True):
                assert out.dtype == dtype and torch.isfinite(out).all()
                out = out.float()
                assert relative_l2(out, ref) <= L2_TOLERANCE
                assert max_rel_diff(out, ref) <= MAX_TOLERANCE


def autocast_loss(model: torch.nn.Module, head: str | None, device: str, dtype: torch.dtype) -> torch.Tensor:
    """A training loss under autocast: cross-entropy for the classifier, a small squared norm for the maps."""
    x = torch.randn(2, 3, 64, 64, device=device)
    with torch.autocast(device, dtype=dtype):
        out = model(x)
        if head == "cls":
            return F.cross_entropy(out, torch.tensor([1, 7], device=device))
        return sum(o.float().pow(2).mean() for o in as_list(out)) / 1e4


@pytest.mark.parametrize("head", HEADS)
def test_bf16_autocast_is_finite_and_close(head: str | None) -> None:
    assert_autocast_close(head, "cpu", torch.bfloat16)


@pytest.mark.parametrize("head", HEADS)
def test_bf16_training_step_stays_finite(head: str | None) -> None:
    torch.manual_seed(0)
    model = hrnet.HRNet("w18_small", head=head).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss = autocast_loss(model, head, "cpu", torch.bfloat16)
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(p, b) for p, b in zip(model.parameters(), before))


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="float16 autocast is checked on a CUDA GPU")


@needs_cuda
@pytest.mark.parametrize("head", HEADS)
def test_fp16_autocast_on_gpu_is_finite_and_close(head: str | None) -> None:
    """float16 keeps 11 significant bits (finer than bfloat16), so the bfloat16 tolerances hold a fortiori."""
    assert_autocast_close(head, "cuda", torch.float16)


@needs_cuda
@pytest.mark.parametrize("head", ["v2", "cls"])
def test_fp16_training_step_on_gpu_stays_finite(head: str) -> None:
    torch.manual_seed(0)
    model = hrnet.HRNet("w18_small", head=head).train().cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda")
    loss = autocast_loss(model, head, "cuda", torch.float16)
    assert torch.isfinite(loss)
    scaler.scale(loss).backward()
    before = [p.detach().clone() for p in model.parameters()]
    scaler.step(optimizer)
    scaler.update()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(p, b) for p, b in zip(model.parameters(), before))
