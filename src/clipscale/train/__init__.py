"""Training: one run of a TrainSpec into a run folder, by the native engine or open_clip_train.

    from clipscale.train import TrainSpec, train
    result = train(TrainSpec("ladder-xs", data_size=5000, samples_seen=20000), "runs/xs")

Run folder: spec.json, meta.json, metrics.jsonl (JSON lines), checkpoints/epoch_N.pt (OpenCLIP
format), done.json written last. See docs/train.md.
"""
from __future__ import annotations

from pathlib import Path

from clipscale.errors import UserInputError
from clipscale.train.run import RunFolder, TrainResult
from clipscale.train.spec import ENGINES, PRECISIONS, TrainSpec

__all__ = ["ENGINES", "PRECISIONS", "RunFolder", "TrainResult", "TrainSpec", "train"]


def train(spec: TrainSpec, out_dir: str | Path, *, resume: bool = True, progress: bool = True,
          init_from: str | Path | None = None) -> TrainResult:
    """Run `spec` into `out_dir` and return what it produced.

    A finished folder (done.json present) returns at once; a partial one resumes from its last
    checkpoint when `resume` (else UserInputError). Under torchrun every rank calls this; only
    rank 0 writes files. Raises NotFoundError (unknown model), UserInputError (bad spec or folder),
    TrainingError (NaN loss, failed engine). `init_from`: the trunk checkpoint a cool-down branch
    starts from (native engine; see clipscale.train.branches). The run trains in its spec's world
    (`spec.world`, clipscale.data.worlds); $CLIPSCALE_WORLD naming another is a UserInputError.
    """
    from clipscale.data.worlds import check_asked, using

    check_asked(spec.world, f"the run in {out_dir}")
    with using(spec.world):
        return _train(spec, out_dir, resume=resume, progress=progress, init_from=init_from)


def _train(spec: TrainSpec, out_dir, *, resume: bool, progress: bool, init_from) -> TrainResult:
    if spec.engine == "open_clip":
        if init_from is not None:
            raise UserInputError("cool-down branches need the native engine (open_clip_train cannot start a "
                                 "run from another run's optimizer state at a given step); use --engine native")
        from clipscale.train.openclip_engine import run

        return run(spec, out_dir, resume=resume, progress=progress)
    from clipscale.train.native import run

    return run(spec, out_dir, resume=resume, progress=progress, init_from=init_from)
