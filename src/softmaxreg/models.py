"""The models of d2l §4.4 and §4.5: softmax regression from scratch, and the concise way.

Examples:
    >>> model = SoftmaxRegression(num_outputs=10, lr=0.1)
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> model.hparams
    {'num_outputs': 10, 'lr': 0.1}
"""

from __future__ import annotations

import torch
from torch import nn

from softmaxreg import functional
from softmaxreg._validate import check_choice, check_nonnegative_number, check_positive_int, check_positive_number
from softmaxreg.book.module import Classifier
from softmaxreg.errors import ConfigError


class SoftmaxRegression(Classifier):
    """Softmax regression: ``Flatten`` then one fully connected layer (d2l §4.5).

    The input width is inferred at the first forward pass (``LazyLinear``); the loss is the
    numerically stable cross-entropy of `Classifier`.

    Args:
        num_outputs: number of classes.
        lr: learning rate of the SGD optimizer.
    """

    def __init__(self, num_outputs: int, lr: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch_size, num_outputs)`` of images ``(batch_size, 1, H, W)``."""
        return self.net(X)


class SoftmaxRegressionScratch(Classifier):
    """d2l §4.4's softmax regression written out: a weight matrix ``W`` and a bias ``b``.

    .. math:: O = X W + b, \\qquad \\hat Y = \\operatorname{softmax}(O)

    The book's ``forward`` returns ``softmax(O)`` and its loss takes ``−log`` of those probabilities,
    so ``exp`` overflows once a logit passes 88 (float32) and ``log(0) = −inf`` once a probability
    underflows. Here ``forward`` returns the logits ``O``, the loss is `Classifier`'s
    :func:`softmaxreg.functional.cross_entropy` (LogSumExp, max-subtraction) and `predict_proba` gives
    the probabilities with :func:`softmaxreg.functional.softmax`: training stays finite for logits of
    any size. ``W`` and ``b`` are ``nn.Parameter``\\ s, so ``.to(device)``, ``state_dict`` and checkpoints
    work as for the concise model.

    Args:
        num_inputs: input features (784 for 28×28 images).
        num_outputs: number of classes.
        lr: learning rate of the SGD optimizer.
        sigma: standard deviation of the normal initial weights (the bias starts at 0).

    Raises:
        ConfigError: if a size is not a positive integer, ``lr`` not a positive number or ``sigma``
            negative.

    Examples:
        >>> _ = torch.manual_seed(0)
        >>> model = SoftmaxRegressionScratch(num_inputs=784, num_outputs=10, lr=0.1)
        >>> model.W.shape, model.b.shape
        (torch.Size([784, 10]), torch.Size([10]))
        >>> model(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
        >>> model.loss(1e4 * model(torch.rand(2, 1, 28, 28)), torch.tensor([0, 1])).isfinite().item()
        True
    """

    def __init__(self, num_inputs: int, num_outputs: int, lr: float, sigma: float = 0.01) -> None:
        check_positive_int("num_inputs", num_inputs)
        check_positive_int("num_outputs", num_outputs)
        check_positive_number("lr", lr)
        check_nonnegative_number("sigma", sigma)
        super().__init__()
        self.save_hyperparameters()
        self.W = nn.Parameter(torch.normal(0, sigma, size=(num_inputs, num_outputs)))
        self.b = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch_size, num_outputs)`` of inputs, flattened to ``(batch_size, num_inputs)``."""
        X = X.reshape((-1, self.W.shape[0]))  # (batch_size, num_inputs)
        return X @ self.W + self.b  # (batch_size, num_outputs)

    def predict_proba(self, X: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``softmax(X W + b)`` ``(batch_size, num_outputs)``: the book's ``forward``."""
        return functional.softmax(self(X), dim=-1)


MODELS = {"concise": SoftmaxRegression, "scratch": SoftmaxRegressionScratch}


def build_model(name: str, num_inputs: int, num_outputs: int, lr: float) -> Classifier:
    """Make the model the CLI calls ``name`` (``'concise'`` or ``'scratch'``).

    Examples:
        >>> type(build_model("scratch", num_inputs=784, num_outputs=10, lr=0.1)).__name__
        'SoftmaxRegressionScratch'
    """
    check_choice("model", name, tuple(MODELS))
    if name == "scratch":
        return SoftmaxRegressionScratch(num_inputs, num_outputs, lr)
    return SoftmaxRegression(num_outputs, lr)


def linear_parameters(model: Classifier) -> tuple[torch.Tensor, torch.Tensor]:
    """The weight ``(num_outputs, num_inputs)`` and bias ``(num_outputs,)`` of either model: logits = x Wᵀ + b.

    Read from the parameters themselves (no arithmetic), so an exported copy computes what the
    model computes.

    Raises:
        ConfigError: ``model`` is not one of softmaxreg's linear models (or its lazy layer has not
            seen an input yet).

    Examples:
        >>> model = SoftmaxRegressionScratch(num_inputs=4, num_outputs=3, lr=0.1)
        >>> [tuple(t.shape) for t in linear_parameters(model)]
        [(3, 4), (3,)]
    """
    if isinstance(model, SoftmaxRegressionScratch):
        return model.W.detach().T, model.b.detach()
    layer = model.net[1] if isinstance(model, SoftmaxRegression) else None
    if layer is None or nn.parameter.is_lazy(layer.weight):
        raise ConfigError(
            f"Expected a trained SoftmaxRegression or SoftmaxRegressionScratch; got a {type(model).__name__} "
            "whose weights are not known yet. Export a model loaded from a run folder."
        )
    return layer.weight.detach(), layer.bias.detach()
