"""The open_clip_train engine: spec -> argv, its defects handled, and a tiny CPU run on shards."""
from __future__ import annotations

import json

import pytest
import torch

from clipscale.errors import TrainingError
from clipscale.train import openclip_engine as oce
from clipscale.train import train
from clipscale.train.run import RunFolder

from .helpers import tiny_spec


def _parsed(spec, tmp_path, **kw):
    from open_clip_train.params import parse_args

    return parse_args(oce.to_argv(spec, tmp_path / "run", train_data="s/{0..1}.tar", **kw))


def test_argv_carries_the_recipe(tmp_path):
    spec = tiny_spec(samples_seen=640, batch_size=32, epochs=2, lr=1e-3, warmup=0.25, weight_decay=0.1, seed=3)
    a = _parsed(spec, tmp_path, world_size=2)
    assert (a.model, a.dataset_type, a.train_data) == ("ladder-xs", "webdataset", "s/{0..1}.tar")
    assert (a.batch_size, a.epochs, a.train_num_samples) == (16, 2, 320)  # per rank; per epoch
    assert (a.lr, a.wd, a.warmup, a.seed) == (1e-3, 0.1, 5, 3)  # warmup: 25% of 20 steps
    assert (a.beta1, a.beta2, a.eps, a.precision) == (0.9, 0.98, 1e-6, "fp32")
    assert a.gather_with_grad and not a.local_loss
    assert a.aug_cfg == {"scale": (1.0, 1.0)}
    assert (a.logs, a.name) == (str(tmp_path), "run")  # checkpoints land in run/checkpoints
    assert a.resume is None and not a.dataset_resampled  # passes over the shards, as the native engine


def test_argv_precision_resume_and_resampling(tmp_path):
    from open_clip_train.params import parse_args

    assert parse_args(["--model", "x"]).precision == "amp"  # the default this engine must override
    assert _parsed(tiny_spec(precision="bf16"), tmp_path).precision == "amp_bf16"
    assert _parsed(tiny_spec(), tmp_path, resume=True).resume == "latest"


def test_expected_steps_round_batches_up():
    assert oce.expected_steps(tiny_spec(samples_seen=256, batch_size=32, epochs=2)) == 8
    assert oce.expected_steps(tiny_spec(samples_seen=300, batch_size=32, epochs=2)) == 10  # ceil(150/32)=5


def test_exit_status_is_not_trusted(tmp_path):
    """open_clip_train refuses a folder with a log and *returns* -1: the artifacts decide."""
    spec = tiny_spec()
    folder = RunFolder(tmp_path / "run")
    folder.root.mkdir()
    (folder.root / "out.log").write_text("an earlier run\n")
    returned = oce._call_main(oce.to_argv(spec, folder.root, train_data="none/{0..1}.tar"))
    assert returned == -1  # no exception, no exit status: the defect
    with pytest.raises(TrainingError, match=r"returned -1 but did not write \['epoch_1.pt', 'epoch_2.pt'\]"):
        oce._judge(folder, spec, returned, folder.root / "out.log")


def test_end_of_shard_marker_is_handled(tmp_path):
    from open_clip_train import data as oc_data

    from clipscale.data import EmbeddedDataset, write_shards

    write_shards(EmbeddedDataset(4), str(tmp_path / "%06d.tar"), samples_per_shard=4)
    urls = [{"url": str(tmp_path / "000000.tar")}]
    with pytest.raises(KeyError, match="fname"):  # open_clip_train 3.x with webdataset >= 1.0
        list(oc_data.tarfile_to_samples_nothrow(urls))
    with oce._patched():
        samples = list(oc_data.tarfile_to_samples_nothrow(urls))
    assert len(samples) == 4 and all("txt" in s for s in samples)


def test_cpu_ddp_device_ids_are_dropped(tmp_path):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        model = torch.nn.Linear(2, 2)
        with pytest.raises(ValueError, match="device_ids"):  # what open_clip_train does on CPU
            torch.nn.parallel.DistributedDataParallel(model, device_ids=[torch.device("cpu")])
        with oce._patched():
            ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[torch.device("cpu")])
        assert ddp.device_ids is None
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_tiny_cpu_run_through_open_clip_train(tmp_path):
    import open_clip

    result = train(tiny_spec(engine="open_clip"), tmp_path / "oc", progress=False)
    assert [p.name for p in result.checkpoints] == ["epoch_1.pt", "epoch_2.pt"]
    assert (result.steps, result.samples_seen, result.engine) == (8, 256, "open_clip")
    rows = [json.loads(r) for r in (result.out_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and rows[-1]["samples_seen"] == 256 and result.samples_per_s > 0
    assert json.loads((result.out_dir / "shards" / "shards.json").read_text())["data_size"] == 256
    model, _, _ = open_clip.create_model_and_transforms("ladder-xs", pretrained=str(result.final_checkpoint))
    assert torch.isfinite(model.visual.proj).all()
    assert train(tiny_spec(engine="open_clip"), result.out_dir, progress=False).to_dict() == result.to_dict()
    (result.out_dir / "done.json").unlink()  # as if killed during epoch 2: resume through --resume latest
    result.final_checkpoint.unlink()
    resumed = train(tiny_spec(engine="open_clip"), result.out_dir, progress=False)
    assert "latest" in resumed.extra["argv"] and resumed.final_checkpoint.exists()
    rows = [json.loads(r) for r in (result.out_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 9))


@pytest.mark.slow
def test_torchrun_on_cpu_through_open_clip_train(tmp_path):
    """Two CPU processes: open_clip_train's DDP(device_ids=[cpu]) would fail without the workaround."""
    import os
    import subprocess
    import sys

    out = tmp_path / "ocd"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "clipscale", "train", "--engine", "open_clip", "--arch", "ladder-xs", "--data-size", "256",
           "--samples-seen", "256", "--batch-size", "32", "--checkpoints", "2", "--quiet", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["extra"]["world_size"] == 2
    assert summary["checkpoints"] == ["checkpoints/epoch_1.pt", "checkpoints/epoch_2.pt"]
    argv = summary["extra"]["argv"]
    assert argv[argv.index("--batch-size") + 1] == "16"  # per rank


def test_parse_log_reads_steps_and_drops_redone_ones(tmp_path):
    line = ("2026-01-01,00:00:00 | INFO | Train Epoch: {e} [{d:>3}/128 ({p}%)] Data (t): 0.010 Batch (t): 0.250, "
            "128.000/s, 128.000/s/gpu LR: 0.001000 Logit Scale: 14.200 Contrastive_loss: {l} ({l}) Loss: {l} ({l})")
    log = [line.format(e=e, d=d, p=0, l=4.0 + e + d / 1000) for e in (0, 1) for d in (32, 64, 96, 128)]
    log += [line.format(e=1, d=32, p=0, l=9.0)]  # resumed from epoch_1.pt: step 5 logged again
    (tmp_path / "out.log").write_text("\n".join(log) + "\n")
    rows = oce.parse_log(tmp_path / "out.log", global_batch=32)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [r["epoch"] for r in rows] == [1] * 4 + [2] * 4
    assert rows[4]["loss"] == 9.0 and rows[7]["samples_seen"] == 256 and rows[0]["batch_s"] == 0.25


@pytest.mark.slow
def test_epochs_longer_than_the_shards_repeat_them(tmp_path):
    """64 pairs, 256 samples per epoch: open_clip_train (webdataset's with_epoch) repeats the shards."""
    from clipscale.data import EmbeddedDataset, write_shards

    write_shards(EmbeddedDataset(64), str(tmp_path / "%06d.tar"), samples_per_shard=64)
    spec = tiny_spec(data_size=64, samples_seen=256, epochs=1, engine="open_clip",
                     train_data=str(tmp_path / "000000.tar"))
    result = train(spec, tmp_path / "run", progress=False)
    rows = [json.loads(r) for r in (result.out_dir / "metrics.jsonl").read_text().splitlines()]
    assert result.steps == 8 and [r["step"] for r in rows] == list(range(1, 9))


def test_short_log_is_an_error(tmp_path, monkeypatch):
    """A run whose log holds fewer steps than the spec asks fails even with every checkpoint saved."""
    spec = tiny_spec(engine="open_clip", epochs=1)
    folder = RunFolder(tmp_path / "run")

    def fake_main(argv):  # writes the artifacts of a run cut short: one checkpoint, 3 of 8 steps
        folder.checkpoint_dir.mkdir(parents=True)
        torch.save({"state_dict": {"w": torch.ones(1)}}, folder.checkpoint(1))
        line = ("x | INFO | Train Epoch: 0 [{d}/256 (0%)] Data (t): 0.0 Batch (t): 0.1, 320.0/s, 320.0/s/gpu "
                "LR: 0.001 Logit Scale: 14.0 Contrastive_loss: 4.0 (4.0) Loss: 4.0 (4.0)")
        (folder.root / "out.log").write_text("\n".join(line.format(d=d) for d in (32, 64, 96)))

    monkeypatch.setattr(oce, "_call_main", fake_main)
    with pytest.raises(TrainingError, match="logged 3 of 8 steps"):
        train(spec, folder.root, progress=False)
    assert not (folder.root / "done.json").exists()
