"""``softmaxreg train``: train softmax regression and leave a run folder; or resume one."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from softmaxreg.runs import folder
from softmaxreg.commands.cli import EXIT_INTERRUPTED
from softmaxreg.commands._common import (
    config_from_args,
    console_callbacks,
    diverged_message,
    explicit_settings,
    interrupted_message,
    load_data,
    make_run_dir,
    prepare_out_dir,
    run_options,
    say,
    warn,
)
from softmaxreg.runs.config import TrainConfig
from softmaxreg.runs.recipes import RECIPES
from softmaxreg.errors import CheckpointError, ConfigError, TrainingDivergedError

# What --resume lets you change: the rest would make the run a different one. (--early-stopping only
# upwards, see _continue_after_stop; --epochs not for a cosine schedule, see _resumed_config.)
_RESUMABLE = {"epochs", "early_stopping"}


def run(args: argparse.Namespace) -> int:
    """Train (or resume), print one line per epoch, then the test accuracy and the run folder."""
    if args.resume is not None:
        return _resume(args)
    config = config_from_args(args)
    out = prepare_out_dir(args.out)
    from softmaxreg.book.devices import resolve_device  # torch: only once the options are known to be good
    from softmaxreg.runs.training import train_run

    device = resolve_device(args.device or "cpu")
    data = load_data(config.batch_size, args.data_dir, args.offline)
    run_dir = make_run_dir(out)
    lang = args.lang or "en"
    folder.write_config(run_dir, run_options(config, args, device, data, lang))
    result = train_run(config, data, run_dir, device, lang, callbacks=console_callbacks(args.quiet))
    return _report(result, len(data.val))


def _resume(args: argparse.Namespace) -> int:
    """Check everything a resumed run needs, then (and only then) record the resume and train."""
    if args.out is not None:
        raise ConfigError("`--out` cannot be used with `--resume`: a resumed run continues in its own folder.")
    run_dir = Path(args.resume)
    saved = folder.read_config(run_dir)
    config = _resumed_config(saved, args, folder.completed_epochs(run_dir))
    from softmaxreg.runs.checkpoint import load_model, load_training_state  # torch: only once the options are good
    from softmaxreg.book.devices import resolve_device
    from softmaxreg.runs.training import check_resume, train_run

    state = load_training_state(run_dir)
    config = _continue_after_stop(config, args, state.extra.get("early_stopping"), state.epoch)
    load_model(run_dir)  # the run keeps model.json + model.safetensors: they must be whole too
    device = resolve_device(args.device or saved.get("device") or "cpu")
    args.data_dir = args.data_dir or saved.get("data_dir")
    args.offline = args.offline or bool(saved.get("offline"))
    data = load_data(config.batch_size, args.data_dir, args.offline)
    lang = args.lang or saved.get("lang") or "en"
    check_resume(config, data, state, run_dir)
    options = run_options(config, args, device, data, lang)  # from here on, the folder changes
    resumes = [*saved.get("resumes", []), {"at_epoch": state.epoch, "device_used": str(device)}]
    folder.write_config(run_dir, {**options, "device": args.device or saved.get("device"), "resumes": resumes})
    if not args.quiet:
        say(f"resuming {run_dir} at epoch {state.epoch + 1}/{config.epochs}")
    result = train_run(config, data, run_dir, device, lang, resume=state, callbacks=console_callbacks(args.quiet))
    return _report(result, len(data.val))


def _given_settings(args: argparse.Namespace) -> dict[str, tuple[Any, str]]:
    """Each setting the command line sets, with the option that set it: an explicit one, or
    ``--recipe NAME`` for the recipe's settings (all but ``epochs``, which a resumed run takes
    from ``--epochs`` or its own)."""
    given: dict[str, tuple[Any, str]] = {}
    if getattr(args, "recipe", None):
        recipe = RECIPES[args.recipe].to_dict()
        given = {name: (value, f"--recipe {args.recipe}") for name, value in recipe.items() if name != "epochs"}
    for name, value in explicit_settings(args).items():
        given[name] = (value, "--" + name.replace("_", "-"))
    return given


def _resumed_config(saved: dict[str, Any], args: argparse.Namespace, done: int) -> TrainConfig:
    """The saved settings; only ``--epochs`` may change, and it must leave epochs to train."""
    try:
        config = TrainConfig.from_dict(saved)
    except ConfigError as err:
        raise CheckpointError(
            f"Expected settings softmaxreg can use in {Path(args.resume) / folder.CONFIG}; got this: {err} "
            f"{folder.RESUME_FIX}"
        ) from None
    for name, (value, option) in _given_settings(args).items():
        if name not in _RESUMABLE and value != getattr(config, name):
            used = f"{name} {getattr(config, name)}" if option.startswith("--recipe") else getattr(config, name)
            raise ConfigError(
                f"`{option}` cannot change when resuming: the run used {used}, not {value}. Leave it out, or start a new run."
            )
    if config.schedule == "cosine" and args.epochs is not None and args.epochs != config.epochs:
        # The cosine's length is the run's: epochs 1..done already followed a decay to 0 at epoch
        # config.epochs, which no run of args.epochs epochs would have. Refuse rather than restart the decay.
        raise ConfigError(
            f"`--epochs` cannot change when resuming a run with a cosine learning-rate schedule: its rate decays "
            f"to 0 over the run's {config.epochs} epochs, and epochs 1-{done} already followed that decay. Leave "
            f"--epochs out to finish this run, or start a new run with --epochs {args.epochs}."
        )
    config = config.replace(epochs=args.epochs)
    if done >= config.epochs:
        raise ConfigError(
            f"{args.resume} has already trained {done} of its {config.epochs} epochs; "
            f"pass --epochs N with N > {done} to train further."
        )
    return config


def _continue_after_stop(
    config: TrainConfig, args: argparse.Namespace, early: dict[str, Any] | None, done: int
) -> TrainConfig:
    """A run that early stopping ended stays ended, unless ``--early-stopping`` raises the patience
    above the epochs it has already waited; the patience may not be added, removed or lowered."""
    before = config.early_stopping  # the run's own: _resumed_config leaves it alone
    asked = args.early_stopping
    if asked is not None and asked != before and (before is None or asked < before):
        raise ConfigError(
            f"`--early-stopping` cannot change when resuming: the run used {before}, not {asked}. "
            + ("Leave it out, or start a new run." if before is None else f"It may only grow (> {before}).")
        )
    waited = int((early or {}).get("wait", 0))
    patience = asked or before
    if before is not None and waited >= patience:
        raise ConfigError(
            f"{args.resume} was ended by early stopping after epoch {done}: no lower val_loss in {waited} "
            f"epoch{'s' * (waited != 1)} (--early-stopping {before}). To train it further, raise the patience: "
            f"softmaxreg train --resume {args.resume} --early-stopping {waited + 1}"
        )
    return config.replace(early_stopping=asked)


def _report(result: Any, num_test: int) -> int:
    summary = result.summary
    if result.diverged:
        raise TrainingDivergedError(diverged_message(result.diverged, result.run_dir, len(result.history)))
    if result.interrupted:
        warn(interrupted_message(result.run_dir, len(result.history)))
        return EXIT_INTERRUPTED
    if summary.get("stopped_early"):
        waited = summary["epochs"] - summary["best_epoch"]
        say(
            f"early stopping after epoch {summary['epochs']}: no lower val_loss in {waited} epoch{'s' * (waited > 1)}; "
            f"kept the model of epoch {summary['model_epoch']}"
        )
    kept = result.history[summary["model_epoch"] - 1]
    say(f"test accuracy {kept['val_acc']:.4f} ({num_test:,} images)")
    say(f"run folder: {result.run_dir}")
    return 0
