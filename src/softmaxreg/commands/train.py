"""``softmaxreg train``: train softmax regression and leave a run folder; or resume one.

Under ``torchrun --nproc_per_node=N -m softmaxreg train ...`` every process runs this; process 0
alone reads and writes the run folder and prints, and tells the others what they need (the
folder's name, a resumed run's settings) through the process group.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from softmaxreg.commands._common import (
    config_from_args,
    console_callbacks,
    describe_data,
    diverged_message,
    explicit_settings,
    interrupted_message,
    load_command_data,
    load_data,
    make_run_dir,
    prepare_out_dir,
    run_options,
    say,
    warn,
)
from softmaxreg.commands.cli import EXIT_INTERRUPTED
from softmaxreg.errors import CheckpointError, ConfigError, DistributedError, TrainingDivergedError
from softmaxreg.runs import folder, lock
from softmaxreg.runs.config import TrainConfig
from softmaxreg.runs.recipes import RECIPES

# What --resume lets you change: the rest would make the run a different one. (--early-stopping only
# upwards, see _continue_after_stop; --epochs not for a cosine schedule, see _resumed_config.)
_RESUMABLE = {"epochs", "early_stopping"}


def run(args: argparse.Namespace) -> int:
    """Train (or resume), print one line per epoch, then the test accuracy and the run folder."""
    if args.resume is not None:
        return _resume(args)
    config = config_from_args(args)
    from softmaxreg.book import distributed  # torch: only once the options are known to be good

    out = prepare_out_dir(args.out) if distributed.env_rank() == 0 else None
    from softmaxreg.book.devices import resolve_device

    parallel = distributed.setup()
    device = parallel.device(resolve_device(args.device or "cpu"))
    data = load_command_data(config.batch_size, args)
    _check_shares(parallel, data)  # every check whose inputs are known runs before the folder is claimed
    parallel.barrier()  # every process has its data: a process that has not is named, and nothing is written
    if hasattr(data, "own") and parallel.is_main and not args.quiet:
        say(describe_data(data, args.data))
    run_dir = Path(parallel.run_on_main(lambda: str(make_run_dir(out))))  # process 0's clock names it
    lang = args.lang or "en"
    try:
        if parallel.is_main:
            folder.write_config(run_dir, {**run_options(config, args, device, data, lang), **_processes(parallel)})
        return _train(config, data, run_dir, device, lang, args.quiet, parallel, tensorboard=args.tensorboard)
    except KeyboardInterrupt:  # before training caught Ctrl-C, or a second one
        if not parallel.is_main or (run_dir / folder.RESUME_STATE).exists():
            raise  # an epoch is kept: "interrupted", and the folder resumes
        warn(interrupted_message(run_dir, 0, removed=lock.remove_claimed(run_dir)))
        return EXIT_INTERRUPTED


def _check_shares(parallel: Any, data: Any) -> None:
    """Refuse a batch size that leaves a process of a torchrun launch without examples (as ``fit`` would)."""
    parallel.check_loader(data.train_dataloader())
    parallel.check_loader(data.val_dataloader())


def _processes(parallel: Any) -> dict[str, Any]:
    """``config.json``'s record of the processes that train: how many, and their backend."""
    return {"world_size": parallel.world_size, "backend": parallel.backend}


def _train(config: TrainConfig, data: Any, run_dir: Path, device: Any, lang: str, quiet: bool, parallel: Any,
           resume: Any = None, tensorboard: bool = False) -> int:  # fmt: skip
    from softmaxreg.runs.training import train_run

    callbacks = console_callbacks(quiet) if parallel.is_main else []
    try:
        result = train_run(config, data, run_dir, device, lang, resume=resume, callbacks=callbacks,
                           tensorboard=tensorboard and parallel.is_main)  # fmt: skip
    except DistributedError as err:
        raise DistributedError(
            f"{err} {run_dir} keeps the last completed epoch; resume with: torchrun "
            f"--nproc-per-node={parallel.world_size} -m softmaxreg train --resume {run_dir}",
            silent=err.silent,
        ) from None
    unit = "rows" if getattr(getattr(data, "own", None), "kind", "images") == "features" else "images"
    return _report(result, len(data.val), parallel.is_main, unit)


def _resume(args: argparse.Namespace) -> int:
    """Check everything a resumed run needs, then (and only then) record the resume and train."""
    if args.out is not None:
        raise ConfigError("`--out` cannot be used with `--resume`: a resumed run continues in its own folder.")
    run_dir = Path(args.resume)
    from softmaxreg.book import distributed

    parallel = distributed.setup()  # with N processes, which may differ from the run's first N

    def read_run() -> tuple[dict[str, Any], int]:
        lock.claim_existing(run_dir)  # before reading its state: one process at a time continues a run
        return folder.read_config(run_dir), folder.completed_epochs(run_dir)

    # process 0 alone claims and reads the folder; the others get its settings (or its error) from it
    saved, done = parallel.run_on_main(read_run)
    config = _resumed_config(saved, args, done)
    from softmaxreg.book.devices import resolve_device
    from softmaxreg.runs.checkpoint import load_model, load_training_state  # torch: only once the options are good
    from softmaxreg.runs.training import check_resume

    state = None

    def load_state() -> dict[str, Any]:  # process 0 only: the others receive the state when fit starts
        nonlocal state
        state = load_training_state(run_dir)
        load_model(run_dir)  # the run keeps model.json + model.safetensors: they must be whole too
        return _continue_after_stop(config, args, state.extra.get("early_stopping"), state.epoch).to_dict()

    # every check before anything is written; a damaged state is reported before the data is looked for
    config = TrainConfig.from_dict(parallel.run_on_main(load_state))
    device = parallel.device(resolve_device(args.device or saved.get("device") or "cpu"))
    args.data_dir = args.data_dir or saved.get("data_dir")
    args.offline = args.offline or bool(saved.get("offline"))
    data = _resumed_data(run_dir, args, config.batch_size)
    lang = args.lang or saved.get("lang") or "en"
    _check_shares(parallel, data)
    parallel.barrier()
    parallel.run_on_main(lambda: check_resume(config, data, state, run_dir))  # before config.json records it
    if parallel.is_main:
        # the top records how the run started (its processes too), each entry of resumes[] a resume
        started = {"world_size": saved.get("world_size", 1), "backend": saved.get("backend")}
        options = {**run_options(config, args, device, data, lang), **started}
        resumes = [*saved.get("resumes", []), {"at_epoch": state.epoch, "device_used": str(device),
                                               **_processes(parallel)}]  # fmt: skip
        folder.write_config(run_dir, {**options, "device": args.device or saved.get("device"), "resumes": resumes})
        if not args.quiet:
            say(f"resuming {run_dir} at epoch {state.epoch + 1}/{config.epochs}")
    return _train(config, data, run_dir, device, lang, args.quiet, parallel, resume=state,
                  tensorboard=args.tensorboard)  # fmt: skip


def _resumed_data(run_dir: Path, args: argparse.Namespace, batch_size: int) -> Any:
    """The run's own data, read again: Fashion-MNIST, or the recorded source, its fingerprint checked."""
    from softmaxreg.runs import rundata

    given = [name for name in ("test_data", "label", "color", "image_size", "image_shape", "classes", "test_fraction")
             if getattr(args, name, None) is not None]  # fmt: skip
    if given:
        raise ConfigError(
            f"`--{given[0].replace('_', '-')}` cannot change when resuming: the run reads its data as data.json "
            "records. Leave it out, or start a new run."
        )
    source = rundata.read_data_description(run_dir).get("source") or {}
    if source.get("kind") == rundata.FASHION_MNIST:
        if args.data is not None:
            raise ConfigError(
                f"`--data` cannot change when resuming: {run_dir} was trained on Fashion-MNIST. Leave it out, or "
                "start a new run."
            )
        return load_data(batch_size, args.data_dir, args.offline)
    data = rundata.load_run_data(run_dir, batch_size, args.data)
    args.data = args.data or source.get("path")
    return data


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
                f"`{option}` cannot change when resuming: the run used {used}, not {value}. "
                "Leave it out, or start a new run."
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


def _report(result: Any, num_test: int, main: bool = True, unit: str = "images") -> int:
    summary = result.summary
    if not main:  # under torchrun, process 0 says it all
        return 2 if result.diverged else EXIT_INTERRUPTED if result.interrupted else 0
    if result.diverged:
        raise TrainingDivergedError(diverged_message(result.diverged, result.run_dir, len(result.history)))
    if result.interrupted:
        # stopped before its first epoch (a new run: a resumed one has epochs): it kept nothing, so
        # its folder goes, and the same command (the same --out) runs again
        removed = not result.history and lock.remove_claimed(result.run_dir)
        warn(interrupted_message(result.run_dir, len(result.history), removed=removed))
        return EXIT_INTERRUPTED
    if summary.get("stopped_early"):
        waited = summary["epochs"] - summary["best_epoch"]
        say(
            f"early stopping after epoch {summary['epochs']}: no lower val_loss in {waited} epoch{'s' * (waited > 1)}; "
            f"kept the model of epoch {summary['model_epoch']}"
        )
    kept = result.history[summary["model_epoch"] - 1]
    say(f"test accuracy {kept['val_acc']:.4f} ({num_test:,} {unit})")
    say(f"run folder: {result.run_dir}")
    return 0
