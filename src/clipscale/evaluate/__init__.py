"""Evaluation with the paper's protocol (CLIP_benchmark's): zero-shot classification, zero-shot
retrieval and linear probes, on the embedded suite, scikit-learn's digits and the paper's benchmarks.

- `evaluate(arch, checkpoint, tasks, *, data_root, device, batch_size, meta) -> DataFrame`: one row per
  task in the results schema (`schema.RESULT_COLUMNS` first; metrics are fractions in [0, 1]).
- `evaluate_run(run_dir, tasks, ...) -> DataFrame`: every checkpoints/epoch_N.pt of a run (learning curves).
- `list_tasks(pattern)`, `get_task(name)`, `DEFAULT_EMBEDDED_TASKS`, `IMAGENET_ROLE_TASK`.
- `append_results(df, path)`: atomic, lock-serialised append to a results CSV.
"""
from clipscale.evaluate.features import DecodedImages
from clipscale.evaluate.results import COLUMNS, append_results, read_results
from clipscale.evaluate.checkpoint_eval import evaluate, evaluate_run
from clipscale.evaluate.tasks import (DEFAULT_EMBEDDED_TASKS, IMAGENET_ROLE_TASK, PAPER_BENCHMARKS, Task,
                                      get_task, list_tasks, resolve_tasks)

__all__ = [
    "evaluate", "evaluate_run", "append_results", "read_results", "COLUMNS",
    "Task", "list_tasks", "get_task", "resolve_tasks", "DEFAULT_EMBEDDED_TASKS", "IMAGENET_ROLE_TASK",
    "PAPER_BENCHMARKS", "DecodedImages",
]
