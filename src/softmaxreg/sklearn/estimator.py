"""`SoftmaxRegressionClassifier`: softmaxreg's trainer as a scikit-learn classifier.

Fitting validates and converts the arrays, then hands them to `softmaxreg.sklearn.training`
(`Trainer.fit` with the CLI's recipe callbacks). What a fitted estimator keeps is plain numpy
(``coef_``, ``intercept_``, ``classes_``, SGD's momentum buffers), so it pickles without torch
objects and predicts with numpy and `softmaxreg.functional`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, check_random_state, validate_data

from softmaxreg import functional
from softmaxreg.book.devices import resolve_device
from softmaxreg.runs.recipes import RECIPES
from softmaxreg.sklearn import training

_SEED_BOUND = 2**31 - 1
_SAMPLE_WEIGHT_REASON = (
    "Minibatch SGD in float32 with input dropout: a weight of 2 and two copies of a sample give the "
    "same loss, but not the same dropout masks, and sums in a different order; predictions agree to "
    "~1e-7 with input_dropout=0 (tests/sklearn/test_estimator.py checks that), not to the check's 1e-9."
)
# scikit-learn's checks this estimator is known to fail, with the reason (for `check_estimator` and
# `parametrize_with_checks`' ``expected_failed_checks``). scikit-learn marks SGDClassifier the same.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT_REASON,
    "check_sample_weight_equivalence_on_sparse_data": _SAMPLE_WEIGHT_REASON,
}
# batch_size=None: the recipe's batch, but small enough for this many steps per epoch. With one
# batch per epoch, 20 epochs are 20 steps: too few for small data sets (5-fold CV, standardised,
# seeds 0-1, batches of n/k: iris 0.910 at k=1, 0.953 at k=8, LogisticRegression 0.960; wine
# 0.960 / 0.975 / 0.983; breast cancer 0.976 / 0.978 / 0.979; digits 0.962 / 0.964 / 0.969; k=16,
# 32, 64 were no better). Fashion-MNIST has 235 batches of 256 per epoch: unchanged.
_MIN_BATCHES_PER_EPOCH = 8
# alpha=None: the recipe's penalty (1e-4, measured on Fashion-MNIST's 60,000 images), but at least
# this / n_samples: like LogisticRegression's C, a penalty of fixed size on the *sum* of the losses.
# 5-fold CV, standardised, seeds 0-2, accuracy minus LogisticRegression()'s, for 1e-4 / 1.5/n /
# 3/n / 6/n: breast cancer -1.06 / -0.24 / -0.06 / +0.23 points, digits -0.05 / +0.04 / +0.08 /
# +0.49, iris +0.67 / -0.89 / -1.11 / -2.67, wine -0.55 / -0.18 / +0.01 / +0.01.
_ALPHA_TIMES_SAMPLES = 3.0
# max_iter=None with recipe 'best': enough epochs for this many SGD steps, at least _MIN_EPOCHS and at
# most the recipe's 20. Fashion-MNIST, 3 folds of 5 x seeds 0-1 (48,000 images: 188 steps per epoch),
# cross-validated accuracy by epochs: 3: 0.8547, 4: 0.8558, 5: 0.8569, 6: 0.8575, 8: 0.8577,
# 10: 0.8575, 20: 0.8588 (standard error 0.0013). From 6 epochs (~1,100 steps) on it is a plateau that
# 20 epochs raise by 0.0013 at 3x the time; a baseline should be fast, so large data sets stop there.
# Small ones keep 20 epochs (8 batches per epoch: 160 steps; the measurements above need them).
_MIN_STEPS = 1100
_MIN_EPOCHS = 6
# Each None parameter takes its value from the recipe's `TrainConfig` field named here.
_FROM_RECIPE = {
    "max_iter": "epochs", "learning_rate_init": "lr", "batch_size": "batch_size", "momentum": "momentum",
    "nesterovs_momentum": "nesterov", "alpha": "weight_decay", "learning_rate": "schedule",
    "input_dropout": "input_dropout",
}  # fmt: skip


def _weights(sample_weight: Any, X: Any) -> np.ndarray | None:
    """Checked float32 sample weights (scikit-learn refuses negative ones and all zeros), or None."""
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=np.float32, ensure_non_negative=True)


class SoftmaxRegressionClassifier(ClassifierMixin, BaseEstimator):
    """Multinomial logistic (softmax) regression trained by softmaxreg's minibatch SGD.

    The model is ``softmax(X @ coef_.T + intercept_)``; the loss is softmaxreg's stable
    cross-entropy, plus ``alpha / 2 · ‖W‖²`` (the intercept is not penalised). Training is
    softmaxreg's `Trainer`: shuffled minibatches from memory, Nesterov momentum, a cosine learning
    rate decay and input dropout — ``softmaxreg train --recipe best``. On Fashion-MNIST it reaches
    0.846 in 6 epochs (under a second on 2 cores), 13× faster than `LogisticRegression`. Every
    parameter left at ``None`` takes the recipe's value; ``recipe='seed'`` gives d2l's plain SGD.

    Two classes are modelled as two softmax outputs, but exposed as `LogisticRegression` exposes
    them: ``coef_`` has shape ``(1, n_features)``, ``decision_function`` returns one score per sample
    (positive for ``classes_[1]``), and ``predict_proba`` is the logistic of that score. The two
    descriptions are the same model: from a zero start, SGD keeps the two rows opposite, so
    ``coef_ = W₁ − W₀`` loses nothing.

    Parameters:
        recipe: ``'best'`` (the default: 6 to 20 epochs, see ``max_iter``; learning rate 0.3 with a
            cosine decay, Nesterov momentum 0.9, ``alpha`` 1e-4 or more, input dropout 0.05, batches
            of up to 256) or ``'seed'`` (d2l's: 10 epochs, constant learning rate 0.1, no momentum,
            no penalty).
        alpha: L2 penalty on the weights (SGD's weight decay), as in `SGDClassifier`; ``None``:
            the recipe's (1e-4), or ``3 / n_samples`` if larger, so that small data sets get the
            penalty `LogisticRegression` would give them (measured, see the source); `partial_fit`
            uses the recipe's.
        max_iter: epochs (passes over the training data); ``None``: the recipe's, except that
            ``'best'`` stops after 6 epochs on data large enough for 1,100 minibatches in those
            (Fashion-MNIST's 60,000 images: measured, see the source).
        batch_size: examples per minibatch; ``None``: the recipe's (256), or fewer so that an epoch
            has at least 8 minibatches (measured: small data sets need the steps).
        learning_rate: ``'cosine'`` (decays ``learning_rate_init`` to 0 over ``max_iter`` epochs)
            or ``'constant'``.
        learning_rate_init: the initial learning rate.
        momentum: SGD momentum in [0, 1).
        nesterovs_momentum: use Nesterov's momentum.
        input_dropout: while training, zero each input feature with this probability (and scale
            the others by ``1 / (1 − p)``); predictions use the features as they are.
        tol: stop when the monitored loss (training loss, or validation loss with
            ``early_stopping``) has not improved by more than ``tol`` for ``n_iter_no_change``
            epochs in a row; ``None`` (the default) runs all ``max_iter`` epochs.
        early_stopping: hold out ``validation_fraction`` of the training data (stratified) and
            stop when its loss stops improving (see ``tol``).
        validation_fraction: the share held out with ``early_stopping``.
        n_iter_no_change: epochs without improvement that stop training.
        random_state: seed of the shuffling, the input dropout and the validation split; ``None``
            draws one from numpy's global generator.
        warm_start: start `fit` from the previous fit's weights (same classes needed).
        verbose: print one line per epoch.
        device: where to train: ``'cpu'``, ``'cuda'``, ``'mps'`` or ``'auto'``.

    Attributes:
        classes_: the class labels, sorted.
        coef_: ``(n_classes, n_features)`` weights, ``(1, n_features)`` for two classes.
        intercept_: ``(n_classes,)`` biases, ``(1,)`` for two classes.
        n_iter_: epochs run by the last `fit` (all `partial_fit` calls' epochs, for `partial_fit`).
        n_features_in_: the number of features seen in `fit`.
        feature_names_in_: the column names of a pandas ``X``, when all are strings.

    Examples:
        >>> from sklearn.datasets import load_digits
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = SoftmaxRegressionClassifier(random_state=0).fit(X / 16, y)
        >>> clf.coef_.shape, clf.predict_proba(X[:2] / 16).shape
        ((10, 64), (2, 10))
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "recipe": [StrOptions(set(RECIPES))],
        "alpha": [Interval(numbers.Real, 0, None, closed="left"), None],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "learning_rate": [StrOptions({"constant", "cosine"}), None],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left"), None],
        "nesterovs_momentum": ["boolean", None],
        "input_dropout": [Interval(numbers.Real, 0, 1, closed="left"), None],
        "tol": [Interval(numbers.Real, 0, None, closed="left"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
    }

    def __init__(
        self,
        recipe: str = "best",
        *,
        alpha: float | None = None,
        max_iter: int | None = None,
        batch_size: int | None = None,
        learning_rate: str | None = None,
        learning_rate_init: float | None = None,
        momentum: float | None = None,
        nesterovs_momentum: bool | None = None,
        input_dropout: float | None = None,
        tol: float | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        self.recipe = recipe
        self.alpha = alpha
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.input_dropout = input_dropout
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.device = device

    # -- training ------------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SoftmaxRegressionClassifier:
        """Train on ``X`` (numpy, pandas or scipy sparse; densified to float32) and labels ``y``.

        Args:
            X: ``(n_samples, n_features)`` numeric features.
            y: ``(n_samples,)`` labels of any kind (ints, strings, ...), at least two classes.
            sample_weight: ``(n_samples,)`` non-negative weights: each example's loss is multiplied
                by its weight, scaled to mean 1 over ``X`` (so the learning rate keeps its meaning;
                the batch size and epochs follow the number of rows, whatever the weights).

        Returns:
            ``self``, fitted.

        Raises:
            ValueError: bad ``X``, ``y`` or ``sample_weight``, or fewer than two classes.
            TrainingDivergedError: the loss became NaN or infinite (lower ``learning_rate_init``).
        """
        warm = self.warm_start and hasattr(self, "coef_")
        # warm: X must have the fitted features (scikit-learn's ValueError), checked before any attribute changes
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=(np.float32, np.float64), reset=not warm)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data; got 1 class: {classes[0]!r}."
            )
        start = None
        if warm:
            if not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"warm_start needs the classes of the previous fit, {self.classes_.tolist()}; got "
                    f"{classes.tolist()}. Fit with warm_start=False to start over."
                )
            start = self._weights()
        self.classes_, self._seed_ = classes, self._new_seed()
        weight = _weights(sample_weight, X)
        # the batch size and the epochs follow the rows (the steps an epoch takes), alpha the weights'
        # sum: a weight of 2 counts as two samples against the penalty, as in LogisticRegression
        total = len(y) if weight is None else float(weight.sum())
        settings = self._settings(self._seed_, len(y), penalty_samples=total)
        if weight is not None:
            weight = weight / weight.mean()  # mean 1 over the data: the learning rate keeps its meaning
        self._keep(self._train(start, X, np.searchsorted(classes, y), weight, settings))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> SoftmaxRegressionClassifier:
        """One epoch of minibatch SGD over one chunk of the data, continuing from the last call.

        For data that does not fit in memory: read it in chunks and call `partial_fit` on each,
        as many passes as you like. The learning rate stays ``learning_rate_init`` (a cosine decay
        needs to know the number of steps in advance), and the momentum carries over from chunk to
        chunk.

        Args:
            X: ``(n_samples, n_features)`` numeric features of this chunk.
            y: ``(n_samples,)`` labels of this chunk.
            classes: every class the data holds; needed in the first call, ignored (but checked)
                afterwards.
            sample_weight: ``(n_samples,)`` non-negative weights of this chunk's examples, as
                ``SGDClassifier``'s: each example's loss is multiplied by its weight as it is (not
                rescaled per chunk), so a chunk of weight 2 moves the model about as far as two
                copies of it, and one of weight 1e-6 hardly at all.

        Returns:
            ``self``.
        """
        first = not hasattr(self, "coef_")  # not classes_: a first call that failed may have set it
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=(np.float32, np.float64), reset=first)
        check_classification_targets(y)
        self._check_partial_classes(classes, first)
        if first or not hasattr(self, "_seed_"):
            self._seed_ = self._new_seed()
        if first:
            self.n_iter_ = 0
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(
                f"`y` holds labels that are not in `classes` {self.classes_.tolist()}: {unknown.tolist()}."
            )
        # a new seed per call: each chunk gets its own shuffling and dropout masks
        settings = self._settings(self._seed_ + self.n_iter_, len(y), epochs=1, schedule="constant", full_fit=False)
        start = None if first else self._weights()
        weights = self._train(start, X, np.searchsorted(self.classes_, y), _weights(sample_weight, X), settings)
        self._keep(weights, add_epochs=True)
        return self

    def _check_partial_classes(self, classes: Any, first: bool) -> None:
        if first:
            if classes is None:
                raise ValueError("`classes` must be given in the first call to partial_fit; got None.")
            self.classes_ = np.unique(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(f"`classes` must hold at least 2 classes; got {self.classes_.tolist()}.")
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(
                f"`classes` must be those of the first call to partial_fit, {self.classes_.tolist()}; "
                f"got {np.unique(np.asarray(classes)).tolist()}."
            )

    def _new_seed(self) -> int:
        return int(check_random_state(self.random_state).randint(_SEED_BOUND))

    def _settings(self, seed: int, num_examples: int, epochs: int | None = None, schedule: str | None = None,
                  full_fit: bool = True, penalty_samples: float | None = None) -> training.Settings:  # fmt: skip
        """The hyperparameters: each ``None`` one from the recipe (batch size and alpha: see above).

        ``num_examples`` is the number of rows; ``penalty_samples`` the n of alpha's ``3 / n`` (the
        weights' sum; default the rows). ``full_fit=False`` (partial_fit): no stopping rule, and the
        recipe's alpha as it is.
        """
        recipe = RECIPES[self.recipe]
        value = {name: getattr(self, name) for name in _FROM_RECIPE}
        value = {
            name: getattr(recipe, field) if value[name] is None else value[name] for name, field in _FROM_RECIPE.items()
        }
        batch_size = self.batch_size or min(recipe.batch_size, math.ceil(num_examples / _MIN_BATCHES_PER_EPOCH))
        if self.max_iter is None and self.recipe == "best":
            steps_per_epoch = math.ceil(num_examples / batch_size)
            value["max_iter"] = min(recipe.epochs, max(_MIN_EPOCHS, math.ceil(_MIN_STEPS / steps_per_epoch)))
        if self.alpha is None and recipe.weight_decay and full_fit:  # not partial_fit: its n is a chunk's
            value["alpha"] = max(recipe.weight_decay, _ALPHA_TIMES_SAMPLES / (penalty_samples or num_examples))
        return training.Settings(
            epochs=epochs or int(value["max_iter"]), lr=float(value["learning_rate_init"]),
            batch_size=batch_size, momentum=float(value["momentum"]),
            nesterov=bool(value["nesterovs_momentum"]), alpha=float(value["alpha"]),
            schedule=schedule or value["learning_rate"], input_dropout=float(value["input_dropout"]),
            tol=self.tol if full_fit else None, n_iter_no_change=self.n_iter_no_change,
            early_stopping=self.early_stopping and full_fit, seed=seed,
            device=resolve_device(self.device), verbose=bool(self.verbose),
        )  # fmt: skip

    def _train(self, start: training.Weights | None, X: Any, y: np.ndarray, weight: np.ndarray | None,
               settings: training.Settings) -> training.Weights:  # fmt: skip
        if hasattr(X, "toarray"):
            X = X.toarray()  # scipy sparse: minibatch SGD here works on dense rows
        if start is None:
            start = training.Weights.zeros(len(self.classes_), X.shape[1])
        arrays = (X, y) if weight is None else (X, y, weight)
        train, val = arrays, None
        if settings.early_stopping:
            parts = train_test_split(
                *arrays, test_size=self.validation_fraction, stratify=y, random_state=settings.seed
            )
            train, val = parts[0::2], parts[1::2]
        tensors = lambda a: training.as_tensors(a[0], a[1], a[2] if len(a) > 2 else None, settings.device)  # noqa: E731
        data = training.ArrayData(tensors(train), tensors(val) if val is not None else None, settings.batch_size)
        weights, self._epochs = training.train(start, data, settings)
        return weights

    def _keep(self, weights: training.Weights, add_epochs: bool = False) -> None:
        """Store the trained parameters as scikit-learn attributes (plain numpy)."""
        W, b = weights.W.astype(np.float64), weights.b.astype(np.float64)
        if len(self.classes_) == 2:  # LogisticRegression's layout: one score, for classes_[1]
            W, b = W[1:] - W[:1], b[1:] - b[:1]
        self.coef_, self.intercept_ = W, b
        self._momentum_ = weights.momentum
        self.n_iter_ = self.n_iter_ + self._epochs if add_epochs else self._epochs
        del self._epochs

    def _weights(self) -> training.Weights:
        """The softmax parameters behind ``coef_`` (for two classes: the opposite rows SGD keeps)."""
        W, b = self.coef_.astype(np.float32), self.intercept_.astype(np.float32)
        if len(self.classes_) == 2:
            W, b = np.vstack([-W / 2, W / 2]), np.concatenate([-b / 2, b / 2])
        return training.Weights(W, b, self._momentum_)

    # -- prediction ----------------------------------------------------------------------------

    def decision_function(self, X: Any) -> np.ndarray:
        """The scores ``X @ coef_.T + intercept_``: ``(n_samples, n_classes)``, or ``(n_samples,)``
        for two classes (positive for ``classes_[1]``)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        scores = safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def _logits(self, X: Any) -> torch.Tensor:
        scores = self.decision_function(X)
        if scores.ndim == 1:  # two classes: softmax of (0, s) is (1 − σ(s), σ(s))
            scores = np.column_stack([np.zeros_like(scores), scores])
        return torch.from_numpy(scores)

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n_samples, n_classes)`` class probabilities (softmax of the scores), columns as ``classes_``."""
        return functional.softmax(self._logits(X), dim=1).numpy()

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``(n_samples, n_classes)`` log-probabilities, computed stably (never ``log`` of a rounded 0)."""
        return functional.log_softmax(self._logits(X), dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, from ``classes_``."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
