"""``softmaxreg evaluate RUN_DIR``: test accuracy, per-class table, and three figures in the run folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from softmaxreg.commands._common import load_data, say
from softmaxreg.datasets.labels import class_names
from softmaxreg.runs import folder, rundata

NUM_MISTAKES = 24
FIGURES = ("confusion_matrix.png", "mistakes.png", "weights.png")


def run(args: argparse.Namespace) -> int:
    """Evaluate the run's model on the test set, write the figures, print the report."""
    run_dir = Path(args.run_dir)
    config = folder.read_config(run_dir)
    from softmaxreg.runs import checkpoint  # torch: only once the run folder is known to exist

    model, meta = checkpoint.load_model(run_dir)
    lang = args.lang or meta.get("lang") or "en"
    batch_size = config.get("batch_size", 256)
    own = rundata.read_data_description(run_dir).get("source", {}).get("kind") != rundata.FASHION_MNIST
    if own:  # your own data: the run's split, read again from its source (fingerprint checked)
        data = rundata.load_run_data(run_dir, batch_size, getattr(args, "data", None))
        names = tuple(data.classes)
    else:
        data = load_data(
            batch_size, args.data_dir or config.get("data_dir"), args.offline or bool(config.get("offline"))
        )
        names = class_names(lang)
    scores, logits = _evaluate(model, data.val.images, data.val.labels, names, batch_size)
    report = {"run_dir": str(run_dir), "model_epoch": meta.get("epoch"), **scores}
    if own:
        report["kind"] = data.own.kind
    write = _write_own_figures if own else _write_figures
    figures = write(
        run_dir, model, meta, data.val.images, data.val.labels, logits, scores["confusion_matrix"], names, lang
    )
    report["figures"] = [str(path) for path in figures]
    _print(report, as_json=args.json)
    return 0


def _evaluate(
    model: Any, images: Any, labels: Any, names: tuple[str, ...], batch_size: int
) -> tuple[dict[str, Any], Any]:
    """Loss, accuracy, per-class scores and confusion matrix of ``model`` on uint8 ``images``; and the logits."""
    from softmaxreg.functional import cross_entropy
    from softmaxreg.runs.inference import predict_logits
    from softmaxreg.runs.metrics import classification_report, confusion_matrix

    logits = predict_logits(model, images, batch_size=batch_size)  # (N, num_classes)
    cm = confusion_matrix(labels, logits.argmax(dim=1), len(names))
    scores = {
        "loss": round(float(cross_entropy(logits.double(), labels)), 12),
        **classification_report(cm, names),
        "confusion_matrix": cm.tolist(),
    }
    return scores, logits


def _print(report: dict[str, Any], as_json: bool) -> None:
    from softmaxreg.runs.metrics import format_report

    if as_json:
        say(json.dumps(report, indent=2, ensure_ascii=False))
        return
    what = "images" if report.get("kind", "images") == "images" else "rows"
    say(f"test accuracy {report['accuracy']:.4f} ({report['num_examples']:,} {what}), loss {report['loss']:.4f}, "
        f"model of epoch {report['model_epoch']}")  # fmt: skip
    say(format_report(report))
    say("figures: " + ", ".join(report["figures"]))


def _write_figures(
    run_dir: Path, model: Any, meta: dict[str, Any], images: Any, labels: Any, logits: Any, cm: list[list[int]],
    names: tuple[str, ...], lang: str,
) -> list[Path]:  # fmt: skip
    """confusion_matrix.png, mistakes.png (the most confident mistakes first) and weights.png."""
    import torch

    from softmaxreg.runs import figures
    from softmaxreg.runs.inference import class_templates

    confidence, predicted = torch.softmax(logits.double(), dim=1).max(dim=1)
    wrong = (predicted != labels).nonzero().flatten()
    worst = wrong[confidence[wrong].argsort(descending=True)][:NUM_MISTAKES]  # most confident mistakes first
    mistakes = figures.mistakes_figure(
        images[worst, 0].numpy(), labels[worst].tolist(), predicted[worst].tolist(), confidence[worst].tolist(),
        names, total=len(wrong), lang=lang,
    )  # fmt: skip
    templates = class_templates(model, meta.get("input_shape", images.shape[1:]))
    return [
        figures.save(figures.confusion_matrix_figure(cm, names, lang), run_dir / FIGURES[0]),
        figures.save(mistakes, run_dir / FIGURES[1]),
        figures.save(figures.weights_figure(templates.numpy(), names, lang), run_dir / FIGURES[2]),
    ]


def _write_own_figures(
    run_dir: Path, model: Any, meta: dict[str, Any], inputs: Any, labels: Any, logits: Any, cm: list[list[int]],
    names: tuple[str, ...], lang: str,
) -> list[Path]:  # fmt: skip
    """Your own data's figures: the confusion matrix; for images the mistakes and the templates (colour
    for RGB), for features each class's largest weights by feature name (weights.png)."""
    import torch

    from softmaxreg.models import linear_parameters
    from softmaxreg.runs import figures, own_figures
    from softmaxreg.runs.inference import class_templates
    from softmaxreg.runs.inputs import InputSpec

    spec = InputSpec.from_metadata(meta)
    written = [figures.save(figures.confusion_matrix_figure(cm, names, lang), run_dir / FIGURES[0])]
    if spec.kind == "features":
        weight, _ = linear_parameters(model)  # (num_classes, num_features)
        fig = own_figures.feature_weights_figure(weight.numpy(), spec.feature_names, names)
        return [*written, figures.save(fig, run_dir / FIGURES[2])]
    confidence, predicted = torch.softmax(logits.double(), dim=1).max(dim=1)
    wrong = (predicted != labels).nonzero().flatten()
    worst = wrong[confidence[wrong].argsort(descending=True)][:NUM_MISTAKES]  # most confident mistakes first
    shown = inputs[worst].numpy()  # (M, C, H, W)
    shown = shown[:, 0] if spec.channels == 1 else shown.transpose(0, 2, 3, 1)
    if len(worst):
        mistakes = figures.mistakes_figure(shown, labels[worst].tolist(), predicted[worst].tolist(),
                                           confidence[worst].tolist(), names, total=len(wrong), lang=lang)  # fmt: skip
        written.append(figures.save(mistakes, run_dir / FIGURES[1]))
    templates = class_templates(model, spec.input_shape).reshape(len(names), *spec.input_shape)  # (K, C, H, W)
    return [*written, figures.save(own_figures.templates_figure(templates.numpy(), names), run_dir / FIGURES[2])]
