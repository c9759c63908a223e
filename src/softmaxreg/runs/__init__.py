"""Run folders, and everything made from one: configs, recipes, checkpoints, callbacks, figures.

A run folder is what ``softmaxreg train`` leaves behind and what ``evaluate``, ``predict`` (and
any later reader) use. `folder` reads and writes its JSON and CSV files; `checkpoint` its
safetensors; `start` loads the data and claims the folder (for ``train``, ``sweep`` and the page's
worker); `training` fills it; `inference`, `images`, `metrics` and `figures` use a trained one.

May import: the core, ``book``, ``datasets`` and ``models``. Never ``commands``.

The run-folder functions are re-exported here, as ``softmaxreg.runs`` was their module before the
layers existed (``softmaxreg.runs.read_config`` still works).
"""

from softmaxreg.runs.folder import (
    CONFIG,
    CURVES,
    DAMAGED_FIX,
    METRICS,
    METRICS_COLUMNS,
    MODEL_DESCRIPTION,
    NOTHING_TO_RESUME,
    RESUME_FIX,
    RESUME_STATE,
    SUMMARY,
    check_model_description,
    completed_epochs,
    environment,
    metrics_csv,
    new_run_dir,
    read_config,
    read_json,
    read_metrics,
    read_model_description,
    summarize,
    write_config,
    write_metrics,
    write_summary,
)  # fmt: skip
