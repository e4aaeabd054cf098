"""Evaluation with the paper's protocol (CLIP_benchmark's): zero-shot classification, zero-shot
retrieval and linear probes, on the embedded suite, scikit-learn's digits and the paper's benchmarks.

- `evaluate(arch, checkpoint, tasks, *, data_root, device, batch_size, meta) -> DataFrame`: one row per
  task in the results schema (`schema.RESULT_COLUMNS` first; metrics are fractions in [0, 1]).
- `evaluate_run(run_dir, tasks, ...) -> DataFrame`: every checkpoints/epoch_N.pt of a run (learning curves).
- `list_tasks(pattern)`, `get_task(name)`, `DEFAULT_EMBEDDED_TASKS`, `IMAGENET_ROLE_TASK`.
- `append_results(df, path)`: atomic, lock-serialised append to a results CSV.
"""
from __future__ import annotations

import importlib

# Names are imported on first use (PEP 562): the task registry is light, evaluating needs torch,
# which a command that only checks its task names must not pay for.
_HOME = {
    "DecodedImages": "features", "COLUMNS": "results", "append_results": "results", "read_results": "results",
    "evaluate": "checkpoint_eval", "evaluate_run": "checkpoint_eval",
    **dict.fromkeys(("DEFAULT_EMBEDDED_TASKS", "IMAGENET_ROLE_TASK", "PAPER_BENCHMARKS", "Task", "get_task",
                     "list_tasks", "resolve_tasks"), "tasks"),
}

__all__ = [
    "evaluate", "evaluate_run", "append_results", "read_results", "COLUMNS",
    "Task", "list_tasks", "get_task", "resolve_tasks", "DEFAULT_EMBEDDED_TASKS", "IMAGENET_ROLE_TASK",
    "PAPER_BENCHMARKS", "DecodedImages",
]


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'clipscale.evaluate' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"clipscale.evaluate.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
