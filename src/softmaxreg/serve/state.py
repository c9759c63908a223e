"""The run being served: its model and what the page shows of it, held in a swappable store.

Handlers never reach a module global: they ask for the current `ServedRun` with the `current_run`
dependency, which reads the app's `ModelStore`. A store can start empty and have its run replaced
while serving (a run trained from the page takes the place of the old one), so handlers take the run
once per request and use that object throughout.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from softmaxreg.datasets.labels import LABELS
from softmaxreg.errors import SoftmaxRegError
from softmaxreg.runs import folder
from softmaxreg.runs.inputs import InputSpec

logger = logging.getLogger(__name__)


class NoModelError(SoftmaxRegError):
    """No run is being served yet."""


class NoTestSetError(SoftmaxRegError):
    """The Fashion-MNIST test set could not be found on the server, or the run was not trained on it.

    ``names_server_folders``: the message lists the places the server looked (said only with the token).
    """

    def __init__(self, message: str, names_server_folders: bool = False) -> None:
        super().__init__(message)
        self.names_server_folders = names_server_folders


BROWSER_MAX_BYTES = 1 << 30  # the largest test split the browser holds in memory (evaluate reads any size)


@dataclass
class TestSet:
    """The test examples the browser shows, their labels ``(N,)`` int64, or why they are missing.

    ``examples``: uint8 images, ``(N, H, W)`` grey (Fashion-MNIST's 10,000) or ``(N, C, H, W)`` colour;
    or, for a run of named features (``feature_names``), their raw float32 values ``(N, F)``.
    """

    examples: np.ndarray | None = None
    labels: np.ndarray | None = None
    problem: str = ""
    own: bool = False  # ``problem`` is about the run's own data, and names no folder of the server
    feature_names: tuple[str, ...] = ()

    @property
    def is_features(self) -> bool:
        return bool(self.feature_names)

    @classmethod
    def find(cls, data_dir: str | None) -> TestSet:
        """Look where ``softmaxreg evaluate`` looks, never downloading; a missing set is not an error here."""
        from softmaxreg.datasets.sources import load_fashion_mnist

        try:
            arrays, _ = load_fashion_mnist(data_dir, offline=True, progress=False)
        except SoftmaxRegError as err:
            logger.warning("the test-set browser is off: %s", err)
            return cls(problem=str(err))
        return cls(arrays["test_images"], arrays["test_labels"].astype(np.int64))

    @classmethod
    def of_run(cls, run: ServedRun) -> TestSet:
        """A run's own test split (`softmaxreg.runs.rundata.load_test_split`): grey or colour images, or
        feature rows; else why not (the data is gone or changed, or it is larger than the browser holds)."""
        from softmaxreg.runs.rundata import load_test_split

        try:
            x, y, _ = load_test_split(run.run_dir)  # (N, C, H, W) uint8 or (N, F) float32 raw, (N,)
        except SoftmaxRegError as err:
            logger.warning("the test-set browser is off for %s: %s", run.name, err)
            return cls(problem=f"The test split of the run {run.name} cannot be read on the server: {err}")
        if x.nbytes > BROWSER_MAX_BYTES:
            return cls(problem=f"No test set to browse for the run {run.name}: its {len(y):,} test examples take "
                       f"{x.nbytes / 2**30:.1f} GiB, more than the browser's 1 GiB. Use `softmaxreg evaluate` on "
                       "the run folder.", own=True)  # fmt: skip
        if not run.is_images:
            return cls(x, y, feature_names=run.spec.feature_names)
        return cls(x[:, 0] if x.shape[1] == 1 else x, y)

    def require(self) -> TestSet:
        if self.examples is None and self.own:
            raise NoTestSetError(self.problem)
        if self.examples is None:
            message = self.problem
            if not message.startswith("The test split"):
                message = f"The Fashion-MNIST test set is not available on the server: {message}"
            raise NoTestSetError(message, names_server_folders=True)
        return self


@dataclass
class ServedRun:
    """A loaded run folder: the model (checked as ``evaluate`` checks it) and what the page needs of it.

    ``spec`` is what the model takes (`softmaxreg.runs.inputs.InputSpec`, model.json's ``"input"``):
    images ``(C, H, W)`` grey or RGB, or named features standardised with the training split's
    mean and std. Runs without the entry are Fashion-MNIST: grey 28×28, light on dark.
    """

    run_dir: Path
    model: Any
    scorer: Any  # the model as a `softmaxreg.runs.inference.LinearScorer`: what predictions use
    meta: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    spec: InputSpec = field(default_factory=InputSpec)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _predictions: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, run_dir: str | Path) -> ServedRun:
        """Load and check a run folder.

        Raises:
            ConfigError, CheckpointError: not a run folder, or its model files are missing or damaged
                (a malformed ``"input"`` entry included).
        """
        from softmaxreg.runs.checkpoint import load_model
        from softmaxreg.runs.inference import LinearScorer

        run_dir = Path(run_dir)
        folder.read_config(run_dir)  # a run folder? (the same first check as evaluate and predict)
        model, meta = load_model(run_dir)
        spec = InputSpec.from_metadata(meta)
        try:
            history = folder.read_metrics(run_dir)
        except SoftmaxRegError:  # a run cut short before its first epoch's row: no curves, still servable
            history = []
        return cls(run_dir, model, LinearScorer(model), meta, history, spec)

    @functools.cached_property
    def name(self) -> str:
        """The run folder's name: the model's name in the Open Inference Protocol (``/v2/models/{name}``)."""
        return self.run_dir.name

    @property
    def is_images(self) -> bool:
        return self.spec.kind == "images"

    @property
    def is_fashion_mnist_like(self) -> bool:
        """Grey images of light objects on dark: uploads are prepared as Fashion-MNIST's were (trim, fit, centre)."""
        return self.is_images and self.spec.channels == 1 and self.spec.light_on_dark

    @property
    def input_size(self) -> tuple[int, int]:
        """``(H, W)`` of an image run."""
        return (self.spec.height, self.spec.width)

    @property
    def templates(self) -> np.ndarray:
        """float32 weights of each class drawn in the input's shape: ``(num_classes, C, H, W)`` for images
        (colour templates for RGB runs), ``(num_classes, F)`` for features."""
        return self.scorer.weight_t.T.reshape(-1, *self.spec.input_shape)

    @property
    def biases(self) -> np.ndarray:
        """``(num_classes,)`` float32."""
        return self.scorer.bias

    @property
    def num_classes(self) -> int:
        return len(self.scorer.bias)

    @functools.cached_property
    def _standardise(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.spec.mean, dtype=np.float64), np.asarray(self.spec.std, dtype=np.float64)

    def standardised(self, x: np.ndarray) -> np.ndarray:
        """Raw feature values ``(..., F)`` as the model takes them: float32, with the training split's mean and std."""
        mean, std = self._standardise
        return ((x.astype(np.float64) - mean) / std).astype(np.float32)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """``(N, num_classes)`` float32 logits of ``N`` examples as the model takes them.

        Args:
            x: images: ``(N, C, H, W)`` (or ``(N, H, W)`` when grey) uint8 pixels 0..255, or float
                values in [0, 1]; features: ``(N, F)`` raw values, standardised here with the run's
                mean and std.
        """
        if self.spec.kind == "features":
            return self.standardised(x) @ self.scorer.weight_t + self.scorer.bias
        if x.dtype == np.uint8:
            return self.scorer.logits(x)
        return x.reshape(len(x), -1).astype(np.float32, copy=False) @ self.scorer.weight_t + self.scorer.bias

    def is_fashion_mnist(self) -> bool:
        """Trained on Fashion-MNIST (no ``"input"`` entry, or the default one): the test-set browser applies."""
        return self.meta.get("input") is None or (self.spec == InputSpec() and len(self.biases) == 10)

    def class_names(self, lang: str | None) -> tuple[str, ...]:
        """Names in ``lang``, or the run's own names (``model.json``) when no language is asked for."""
        own = self.meta.get("class_names")
        if lang and (not own or self.is_fashion_mnist()):
            return LABELS[lang]
        return tuple(own or LABELS["en"])

    @functools.cached_property
    def summary(self) -> dict[str, Any]:
        """``metrics.csv`` summed up as ``summary.json`` does: epochs, last and best accuracy..."""
        return folder.summarize(self.history)

    def explain(self, pixels: np.ndarray) -> dict[str, Any]:
        """What the page draws for one prepared uint8 image (``(H, W)`` grey, ``(C, H, W)`` colour): all
        scores and every w_c ⊙ x (``(H, W)`` maps for grey runs, ``(C, H, W)`` for colour ones).

        The logits are those the prediction used; each contribution map sums, with the class's bias, to its logit.
        """
        from softmaxreg.runs.inference import softmax

        logits = self.scorer.logits(pixels[None])[0].tolist()  # (num_classes,): what the prediction used
        x = pixels.astype(np.float32) / 255  # in [0, 1], as the model takes it
        templates = self.templates if pixels.ndim == 3 else self.templates[:, 0]
        return {
            "input": pixels.tolist(),
            "logits": logits,
            "probabilities": softmax(logits),
            "contributions": np.round(templates * x, 5).tolist(),  # (num_classes, [C,] H, W)
        }

    def explain_row(self, row: np.ndarray) -> dict[str, Any]:
        """What the page shows for one raw row of a feature run ``(F,)``: its standardised values, all
        scores, and each feature's contribution w_c,f · z_f per class (``(num_classes, F)``; with the
        class's bias, each row sums to its logit)."""
        from softmaxreg.runs.inference import softmax

        z = self.standardised(row)
        logits = (z @ self.scorer.weight_t + self.scorer.bias).tolist()
        return {
            "input": np.round(z, 6).tolist(),
            "logits": logits,
            "probabilities": softmax(logits),
            "contributions": np.round(self.templates * z, 6).tolist(),
        }

    def test_predictions(self, test: TestSet) -> tuple[np.ndarray, np.ndarray]:
        """``(predicted, confidence)`` of every image of ``test`` (the store's one), computed once per run."""
        import torch

        from softmaxreg.runs.inference import predict_logits

        with self.lock:  # handlers run on worker threads too; compute once
            if self._predictions is None:
                if test.is_features:
                    logits = torch.from_numpy(self.logits(test.examples))  # standardised as a predicted row is
                else:  # (N, C, H, W) as evaluate predicts them; copied: read-only arrays
                    images = torch.from_numpy(test.examples.copy())
                    logits = predict_logits(self.model, images.unsqueeze(1) if images.ndim == 3 else images)
                probabilities = torch.softmax(logits.double(), dim=1)
                confidence, predicted = probabilities.max(dim=1)  # each (N,)
                self._predictions = (predicted.numpy(), confidence.numpy())
            return self._predictions


class ModelStore:
    """The run being served, replaceable while serving.

    Args:
        run: the run to serve first, or None to start without one.
        test_set: the test images, shared by every run served.
        lang: the page's default language (``--lang``).
    """

    def __init__(self, run: ServedRun | None, test_set: TestSet, lang: str = "en") -> None:
        self._run = run
        self.test_set = test_set
        self.lang = lang
        self._own: tuple[ServedRun, TestSet] | None = None  # the served run's own test split, once read
        self._own_lock = threading.Lock()

    @property
    def run(self) -> ServedRun:
        """The current run.

        Raises:
            NoModelError: none is loaded yet.
        """
        run = self._run  # one read: a concurrent `replace` cannot change the run mid-request
        if run is None:
            raise NoModelError("No model is loaded yet. Start the server with a run folder: softmaxreg serve RUN_DIR.")
        return run

    def test_set_of(self, run: ServedRun | None) -> TestSet:
        """The test set the browser shows for ``run``: Fashion-MNIST's for runs trained on it, else the run's own.

        Raises:
            NoTestSetError: the server has no Fashion-MNIST test set, or ``run``'s own test split cannot be
                read (its data moved or changed) or is larger than the browser holds.
        """
        if run is None or run.is_fashion_mnist():
            return self.test_set.require()
        with self._own_lock:  # read once per run served, on a worker thread (see `dependencies.test_set`)
            if self._own is None or self._own[0] is not run:
                self._own = (run, TestSet.of_run(run))
            return self._own[1].require()

    @property
    def has_run(self) -> bool:
        return self._run is not None

    def replace(self, run: ServedRun) -> None:
        """Serve ``run`` from the next request on (requests under way finish with the old one)."""
        self._run = run
