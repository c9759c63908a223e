"""`SGD`: ``torch.optim.SGD`` — same class family, same math, same ``state_dict`` — minus its
fixed costs, which at softmax regression's size are as large as the model's own work.

Measured on a 2-core CPU (torch 2.13): the first torch optimizer of a process imports
``torch._dynamo`` (about 1.5 s, as long as ``import torch`` itself) because ``add_param_group``,
``zero_grad`` and ``state_dict`` are wrapped to keep ``torch.compile`` out of them; and ``step``
runs inside profiler and hook wrappers (about 40 µs per step, more than the model's backward pass).
We never compile, so this class calls the unwrapped functions, and its ``step`` is the
single-tensor SGD update written out. ``isinstance(opt, torch.optim.SGD)`` holds, so torch's
learning-rate schedulers work with it; step pre/post hooks (``register_step_pre_hook``) are not
called.

Examples:
    >>> w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    >>> opt = SGD([w], lr=0.5)
    >>> w.grad = torch.tensor([1.0, -1.0])
    >>> opt.step()
    >>> w.data
    tensor([0.5000, 2.5000])
    >>> isinstance(opt, torch.optim.SGD)
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def _unwrapped(method: Callable[..., Any]) -> Callable[..., Any]:
    """The function under torch's ``@torch._disable_dynamo`` wrapper (itself if there is none)."""
    return getattr(method, "__wrapped__", method)


_ADD_PARAM_GROUP = _unwrapped(torch.optim.Optimizer.add_param_group)
_STATE_DICT = _unwrapped(torch.optim.Optimizer.state_dict)
_LOAD_STATE_DICT = _unwrapped(torch.optim.Optimizer.load_state_dict)


class SGD(torch.optim.SGD):
    """Minibatch SGD with optional momentum, Nesterov momentum, dampening and weight decay.

    Takes ``torch.optim.SGD``'s arguments; ``maximize``, ``foreach``, ``fused`` and
    ``differentiable`` are refused (softmaxreg never needs them).
    """

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False) -> None:  # fmt: skip
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov)  # fmt: skip

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """As ``torch.optim.Optimizer.add_param_group``."""
        _ADD_PARAM_GROUP(self, param_group)

    def state_dict(self) -> dict[str, Any]:
        """As ``torch.optim.SGD.state_dict`` (loadable by it, and the other way round)."""
        state: dict[str, Any] = _STATE_DICT(self)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As ``torch.optim.SGD.load_state_dict``."""
        _LOAD_STATE_DICT(self, state_dict)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (set them to ``None``, or zero them)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (torch's single-tensor SGD).

        ``g ← grad + weight_decay·p``; with momentum, ``b ← momentum·b + (1 − dampening)·g`` (``b ← g``
        at the first step) and ``g ← g + momentum·b`` (Nesterov) or ``g ← b``; then ``p ← p − lr·g``.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                self._update(group)
        return loss

    step.hooked = True  # type: ignore[attr-defined]  # keep torch from wrapping it in profiler hooks

    def _update(self, group: dict[str, Any]) -> None:
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            if momentum != 0:
                state = self.state[p]
                buffer = state.get("momentum_buffer")
                if buffer is None:
                    buffer = state["momentum_buffer"] = torch.clone(grad).detach()
                else:
                    buffer.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
                grad = grad.add(buffer, alpha=momentum) if group["nesterov"] else buffer
            p.add_(grad, alpha=-lr)
