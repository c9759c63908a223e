"""`softmaxreg.book.optim.SGD`: torch.optim.SGD's math and state_dict, without its fixed costs."""

import copy
import subprocess
import sys

import pytest
import torch
from conftest import SRC

from softmaxreg.book.optim import SGD

SETTINGS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
    {"momentum": 0.5, "dampening": 0.1, "weight_decay": 0.01},
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_same_updates_as_torch_bit_for_bit_and_interchangeable_state(settings):
    torch.manual_seed(0)
    ours_w = torch.nn.Parameter(torch.randn(10, 784))
    torch_w = torch.nn.Parameter(ours_w.detach().clone())
    ours, theirs = SGD([ours_w], lr=0.3, **settings), torch.optim.SGD([torch_w], lr=0.3, **settings)
    for step in range(12):
        grad = torch.randn(10, 784)
        ours_w.grad, torch_w.grad = grad.clone(), grad.clone()
        ours.step()
        theirs.step()
        if step == 5:  # each loads the other's state: the formats are the same
            ours.load_state_dict(copy.deepcopy(theirs.state_dict()))
            theirs.load_state_dict(copy.deepcopy(ours.state_dict()))
    assert torch.equal(ours_w, torch_w)
    assert ours.state_dict()["param_groups"] == theirs.state_dict()["param_groups"]


def test_it_is_a_torch_sgd_that_torch_schedulers_accept():
    w = torch.nn.Parameter(torch.zeros(3))
    opt = SGD([w], lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    w.grad = torch.ones(3)
    opt.step()
    scheduler.step()
    assert isinstance(opt, torch.optim.SGD) and opt.param_groups[0]["lr"] == 0.5
    assert torch.equal(w.detach(), -torch.ones(3))


def test_zero_grad_forgets_or_zeroes():
    w = torch.nn.Parameter(torch.zeros(2))
    opt = SGD([w], lr=0.1)
    w.grad = torch.ones(2)
    opt.zero_grad(set_to_none=False)
    assert torch.equal(w.grad, torch.zeros(2))
    opt.zero_grad()
    assert w.grad is None


def test_closure_is_evaluated_with_gradients():
    w = torch.nn.Parameter(torch.tensor([2.0]))
    opt = SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 4.0 and w.item() == 1.0  # 2 - 0.25 * 4


def test_training_with_it_never_imports_dynamo():
    """torch.optim's first use imports torch._dynamo (~1.5 s); ours must not."""
    code = (
        "import sys, torch; from softmaxreg.book.optim import SGD; w = torch.nn.Parameter(torch.ones(2)); "
        "o = SGD([w], lr=0.1, momentum=0.9); w.grad = torch.ones(2); o.step(); o.zero_grad(); "
        "o.load_state_dict(o.state_dict()); print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(SRC)})
    assert out.stdout.strip() == "False", out.stderr


def test_refuses_what_it_does_not_implement():
    with pytest.raises(TypeError):
        SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, foreach=True)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, nesterov=True)
