"""The linear regression models of d2l §3.4–3.5 and the from-scratch minibatch `SGD`.

Examples:
    >>> model = LinearRegressionScratch(num_inputs=2, lr=0.03)
    >>> model(torch.ones(5, 2)).shape, [p.shape for p in model.parameters()]
    (torch.Size([5, 1]), [torch.Size([2, 1]), torch.Size([1])])
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn import functional as F

from softmaxreg._validate import check_positive_number
from softmaxreg.book.hyperparameters import HyperParameters
from softmaxreg.book.module import Module
from softmaxreg.functional import squared_loss


class SGD(HyperParameters):
    """Minibatch stochastic gradient descent: ``param ← param − lr · grad`` (d2l §3.4).

    Args:
        params: the tensors to update (each with ``requires_grad=True``).
        lr: learning rate.

    Examples:
        >>> w = torch.ones(2, requires_grad=True)
        >>> optim = SGD([w], lr=0.5)
        >>> (w ** 2).sum().backward()
        >>> optim.step(); w
        tensor([0., 0.], requires_grad=True)
        >>> optim.zero_grad(); w.grad
        tensor([0., 0.])
    """

    lr: float  # set by save_hyperparameters (the book's API), declared for the type checker

    def __init__(self, params: Iterable[torch.Tensor], lr: float) -> None:
        self.save_hyperparameters()
        self.params = list(params)  # model.parameters() is a generator: keep the tensors
        check_positive_number("lr", lr)

    @torch.no_grad()
    def step(self) -> None:
        """Move every parameter that has a gradient one step against it."""
        for param in self.params:
            if param.grad is not None:
                param -= self.lr * param.grad

    def zero_grad(self) -> None:
        """Set the gradients to zero before the next backward pass."""
        for param in self.params:
            if param.grad is not None:
                param.grad.zero_()


class LinearRegressionScratch(Module):
    """Linear regression with explicit weights ``w`` and bias ``b`` and the squared loss / 2.

    Unlike the book's plain tensors, ``w`` and ``b`` are ``nn.Parameter`` so that
    ``model.parameters()``, ``model.to(device)`` and checkpoints see them; the book's code uses
    them the same way.

    Args:
        num_inputs: number of features.
        lr: learning rate of `SGD`.
        sigma: standard deviation of the initial weights (the bias starts at 0).
    """

    def __init__(self, num_inputs: int, lr: float, sigma: float = 0.01) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.w = nn.Parameter(torch.normal(0, sigma, (num_inputs, 1)))
        self.b = nn.Parameter(torch.zeros(1))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Predictions ``(batch_size, 1)`` of ``X`` ``(batch_size, num_inputs)``."""
        return X @ self.w + self.b

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean of ``(y_hat − y)² / 2`` over the batch."""
        return squared_loss(y_hat, y).mean()

    def configure_optimizers(self) -> SGD:
        """The from-scratch `SGD` over ``[w, b]``."""
        return SGD([self.w, self.b], self.lr)


class _NormalLazyLinear(nn.LazyLinear):
    """``LazyLinear`` whose weights start ~ N(0, sigma²) and bias at 0, once their shape is known.

    The book writes ``net.weight.data.normal_(0, 0.01)`` right after creating a ``LazyLinear``;
    PyTorch then overwrites that when the layer materialises. Initialising here does not.
    """

    def __init__(self, out_features: int, sigma: float) -> None:
        self.sigma = sigma  # read by reset_parameters, which LazyLinear.__init__ calls
        super().__init__(out_features)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            nn.init.normal_(self.weight, 0, self.sigma)
            nn.init.zeros_(self.bias)


class LinearRegression(Module):
    """Linear regression with PyTorch's layers (d2l §3.5): ``LazyLinear(1)`` and the mean squared error.

    Args:
        lr: learning rate of ``torch.optim.SGD``.

    Examples:
        >>> model = LinearRegression(lr=0.03)
        >>> _ = model(torch.ones(4, 2))
        >>> w, b = model.get_w_b()
        >>> w.shape, b.tolist()
        (torch.Size([1, 2]), [0.0])
    """

    def __init__(self, lr: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = _NormalLazyLinear(1, sigma=0.01)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Predictions ``(batch_size, 1)``."""
        y_hat: torch.Tensor = self.net(X)
        return y_hat

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean squared error (without the book's 1/2 of §3.4, as ``nn.MSELoss``)."""
        return F.mse_loss(y_hat, y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """``torch.optim.SGD`` over all parameters."""
        return torch.optim.SGD(self.parameters(), self.lr)

    def get_w_b(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The learned weight ``(1, num_inputs)`` and bias ``(1,)`` (detached)."""
        return self.net.weight.data, self.net.bias.data
