"""clip_benchmark's defects, reproduced, and shown not to break clipscale."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from clipscale.errors import DataError
from clipscale.evaluate import compat

NUMPY_2_4 = tuple(int(p) for p in np.__version__.split(".")[:2]) >= (2, 4)


def test_accuracy_crash_of_numpy_2_4_is_wrapped():
    from clip_benchmark.metrics import zeroshot_classification as cb

    logits, target = torch.randn(20, 6), torch.randint(0, 6, (20,))
    if NUMPY_2_4:  # the defect: float() of a 1-element 1-d array
        with pytest.raises(TypeError):
            cb.accuracy(logits, target, topk=(1, 5))
    with compat.patched():
        acc1, acc5 = cb.accuracy(logits, target, topk=(1, 5))
    assert 0.0 <= acc1 <= acc5 <= 1.0
    assert "float" not in vars(cb)  # the wrapper leaves the module as it found it


def test_builder_never_shells_out_to_download(tmp_path):
    with compat.patched() as builder:
        with pytest.raises(DataError, match="--data-root"):
            builder.call("wget http://example.invalid/x.tar", shell=True)
    assert builder.call is not compat._refuse_shell


def test_missing_requests_does_not_break_import():
    # clip_benchmark imports `requests` without declaring it; simulate an environment without it.
    code = (
        "import sys\n"
        "class Blocker:\n"  # `requests` cannot be found (unless something puts it in sys.modules)
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'requests' or name.startswith('requests.'): raise ImportError('no requests')\n"
        "sys.meta_path.insert(0, Blocker())\n"
        "for m in [m for m in sys.modules if m == 'requests' or m.startswith('requests.')]: del sys.modules[m]\n"
        "try:\n"
        "    import clip_benchmark.datasets.builder\n"
        "    print('plain-import-ok')\n"
        "except ImportError:\n"
        "    print('plain-import-fails')\n"
        "for m in [m for m in sys.modules if m.startswith('clip_benchmark')]: del sys.modules[m]\n"
        "from clipscale.evaluate import compat\n"
        "with compat.patched() as b:\n"
        "    print('patched-import-ok', callable(b.build_dataset))\n"
        "    import requests\n"
        "    try:\n"
        "        requests.get('http://x')\n"
        "    except Exception as e:\n"
        "        print(type(e).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "plain-import-fails" in out.stdout, out.stderr[-2000:]
    assert "patched-import-ok True" in out.stdout, out.stderr[-2000:]
    assert "OfflineError" in out.stdout


def test_clip_benchmark_linear_probe_is_cuda_only_ours_is_not():
    from clip_benchmark.metrics import linear_probe as cb_lp

    from clipscale.evaluate.linear_probe import probe

    with pytest.raises(AssertionError):
        cb_lp.evaluate(None, None, None, 1, 8, 0, 0.1, 1, "m", 0, "/nonexistent", "cpu")
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(60, 8, generator=g), dim=-1)
    y = (x[:, 0] > 0).long()  # a linearly separable rule
    out = probe(x[:40], y[:40], x[40:], y[40:], n_classes=2)
    assert out["acc1"] >= 0.8


def test_templates_come_from_clip_benchmark():
    assert compat.templates_for("mnist") == ['a photo of the number: "{c}".']
    assert len(compat.templates_for("imagenet-r")) == len(compat.templates_for("imagenet1k")) > 10

