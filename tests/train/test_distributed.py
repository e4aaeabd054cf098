"""torchrun: two processes with the same global batch train the same model as one process."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from clipscale.train.native import build_model

from .helpers import state_dict, tiny_spec


@pytest.mark.slow
def test_two_processes_equal_one_process(tiny_run, tmp_path, capsys):
    """The torchrun example of `clipscale train --help` (tests/cli/test_examples.py runs the others)."""
    from clipscale.cli import main

    assert main(["train", "--help"]) == 0
    lines = capsys.readouterr().out.splitlines()
    i = next(i for i, line in enumerate(lines) if line.strip().startswith("torchrun "))
    example = (lines[i].rstrip(" \\") + " " + lines[i + 1]).split()
    assert example == ["torchrun", "--nproc_per_node", "2", "-m", "clipscale", "train", "--arch", "ladder-xs",
                       "--data-size", "256", "--samples-seen", "256", "--batch-size", "32", "--checkpoints", "2",
                       "--out", "runs/ddp"], "the example must stay tiny_run's spec"
    out = tmp_path / "runs" / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", *example[1:], "--threads", "1", "--quiet"]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])  # one summary line: rank 0 only
    assert summary["extra"]["world_size"] == 2 and summary["samples_seen"] == 256
    two, one = state_dict(out / "checkpoints" / "epoch_2.pt"), state_dict(tiny_run.final_checkpoint)
    init, _, _ = build_model(tiny_spec(), torch.device("cpu"))
    for k, w0 in init.state_dict().items():
        # Same math, different summation order (all-reduce, gathered logits): fp32 round-off, which
        # Adam can blow up to an lr-sized step in single elements whose gradient is ~0. So compare
        # each tensor's whole update: they agree to 0.1%.
        d1, d2 = _without_key_bias(k, one[k] - w0), _without_key_bias(k, two[k] - w0)
        assert (d2 - d1).norm() <= 1e-3 * d1.norm() + 1e-7, k
    # Adam hides a wrong gradient scale in the weights; the first moments show it (a missing
    # gather-with-gradient would scale them by 1/2).
    m2, m1 = (torch.load(p, weights_only=True)["optimizer"]["state"]
              for p in (out / "checkpoints" / "epoch_2.pt", tiny_run.final_checkpoint))
    for k in m1:
        torch.testing.assert_close(m2[k]["exp_avg"], m1[k]["exp_avg"], rtol=1e-2, atol=1e-6)
    rows1 = [json.loads(r) for r in (tiny_run.out_dir / "metrics.jsonl").read_text().splitlines()]
    rows2 = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["loss"] for r in rows2] == pytest.approx([r["loss"] for r in rows1], rel=1e-5)


def _without_key_bias(name: str, t: torch.Tensor) -> torch.Tensor:
    """Zero the attention key bias: softmax ignores a constant added to every key of a query, so its
    gradient is exactly 0 and Adam turns fp round-off there into lr-sized noise in either run."""
    if not name.endswith("attn.in_proj_bias"):
        return t
    width = t.numel() // 3
    t = t.clone()
    t[width:2 * width] = 0
    return t
