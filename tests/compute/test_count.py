"""Parameter and GMAC counts against the paper's own table, and the counter's traps."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from clipscale import models as clipscale_models
from clipscale.compute import Compute, count
from clipscale.compute.counter import _macs
from clipscale.errors import NotFoundError, UserInputError

_FIELDS = {"gmacs": "gmacs", "image_gmacs": "image_gmacs", "text_gmacs": "text_gmacs",
           "mparams": "params_m", "image_mparams": "image_params_m", "text_mparams": "text_params_m"}


def _rel(ours: float, paper: float) -> float:
    return abs(ours - paper) / paper


def test_every_paper_architecture_within_one_percent(paper_dir):
    table = pd.read_csv(paper_dir / "arch_info.csv")
    assert {"ViT-G-14", "ViT-e-14", "RN50", "ViT-B-32"} <= set(table["model"])
    worst = {}
    for row in table.itertuples(index=False):
        c = count(row.model)
        for paper_col, ours in _FIELDS.items():
            rel = _rel(getattr(c, ours), getattr(row, paper_col))
            worst[(row.model, paper_col)] = rel
    bad = {k: round(v, 4) for k, v in worst.items() if v > 0.01}
    assert not bad, f"off by more than 1% from arch_info.csv: {bad}"


def test_sum_and_units():
    c = count("ViT-B-32")
    assert isinstance(c, Compute)
    assert c.gmacs == pytest.approx(c.image_gmacs + c.text_gmacs)
    assert c.gflops == pytest.approx(2 * c.gmacs)
    assert c.total_gmacs(1e9) == pytest.approx(c.gmacs * 1e9)
    assert (c.image_size, c.context_length) == (224, 77)


def test_ladder_model_by_hand():
    """ladder-xs image tower, counted by hand from its config (32 px, patch 8, width 64, 2 layers)."""
    tokens, width, layers, embed = (32 // 8) ** 2 + 1, 64, 2, 64
    patch_embed = 16 * (3 * 8 * 8) * width
    per_block = tokens * (4 * width * width + 2 * 4 * width * width) + 2 * tokens * tokens * width
    projection = width * embed
    c = count("ladder-xs")
    assert c.image_gmacs * 1e9 == pytest.approx(patch_embed + layers * per_block + projection)


def test_config_dict_equals_name():
    import open_clip

    cfg = open_clip.get_model_config("ViT-B-32")
    assert count(cfg).gmacs == pytest.approx(count("ViT-B-32").gmacs)
    assert count("ViT-B/32") == count("ViT-B-32")


def test_cpu_flash_attention_is_counted():
    """The defect: FlopCounterMode alone sees 0 FLOPs in the CPU flash-attention kernel."""
    from torch.utils.flop_counter import FlopCounterMode

    q = torch.randn(1, 2, 16, 8)
    attention = lambda x: torch.nn.functional.scaled_dot_product_attention(x, x, x)  # noqa: E731
    plain = FlopCounterMode(display=False)
    with plain:
        attention(q)
    expected_macs = 2 * 2 * 16 * 16 * 8  # QK^T and AV, 2 heads
    assert _macs(attention, q) == expected_macs
    assert plain.get_total_flops() / 2 != expected_macs  # still true of torch, else drop the formula


def test_fast_path_avoided_on_real_weights():
    """nn.MultiheadAttention's eval/no_grad fast path must not hide attention work."""
    mha = torch.nn.MultiheadAttention(16, 2, batch_first=True).eval()
    x = torch.randn(1, 5, 16)
    expected = 4 * 5 * 16 * 16 + 2 * 5 * 5 * 16
    forward = lambda t: mha(t, t, t, need_weights=False)  # noqa: E731
    with torch.no_grad():  # the defect: the fused fast-path kernel is invisible to the counter
        assert _macs(forward, x) < expected
    with torch.enable_grad():
        mha.train()
        assert _macs(forward, x) == expected


def test_errors():
    with pytest.raises(NotFoundError, match="valid choices"):
        count("ViT-Q-32")
    with pytest.raises(UserInputError, match="embed_dim"):
        count({"vision_cfg": {}})


def test_cli_json(capsys, tmp_path):
    from clipscale.cli import main

    assert main(["compute", "ladder-xs", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"params_m", "image_gmacs", "text_gmacs", "gmacs"} <= set(data)
    assert data["gmacs"] == pytest.approx(count("ladder-xs").gmacs)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"model_cfg": clipscale_models.model_config("ladder-xs")}))
    assert main(["compute", str(cfg), "ladder-xs", "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert both[0]["gmacs"] == pytest.approx(both[1]["gmacs"])
    assert main(["compute", "nope"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_gmacs_per_sample_raises_naming_the_architecture(monkeypatch):
    """The defect: evaluate turned every counting failure into NaN, which surfaced much later as
    'compute must be > 0'. Every stage now asks one function, and it raises."""
    from clipscale.compute import counter, gmacs_per_sample
    from clipscale.errors import ComputeError
    from clipscale.evaluate import results
    from clipscale.study import one_run, orchestrate, progress
    from clipscale.train.run import compute_record

    assert gmacs_per_sample("ladder-xs") == pytest.approx(count("ladder-xs").gmacs) and count("ladder-xs").gmacs > 0
    assert all(m.gmacs_per_sample is gmacs_per_sample for m in (one_run, orchestrate, progress, results))
    with pytest.raises(NotFoundError, match="'ViT-Q-32'"):
        gmacs_per_sample("ViT-Q-32")

    def broken(arch):
        raise RuntimeError("the flop counter met an unknown kernel")

    monkeypatch.setattr(counter, "count", broken)
    with pytest.raises(ComputeError, match="'ladder-xs'.*unknown kernel"):
        gmacs_per_sample("ladder-xs")
    with pytest.raises(ComputeError, match="'ladder-xs'"):
        compute_record("ladder-xs", 100)
    for bad in (float("nan"), 0.0):
        monkeypatch.setattr(counter, "count", lambda arch, g=bad: Compute(1, 1, 1, 1, 1, g, arch))
        with pytest.raises(ComputeError, match=f"'ladder-xs'.*{bad}"):
            gmacs_per_sample("ladder-xs")
