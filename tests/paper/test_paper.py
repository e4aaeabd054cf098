"""The paper's tables (download against a local server, cache, offline), fits, figures and report."""
import functools
import http.server
import shutil
import socket
import subprocess
import sys
import threading

import pandas as pd
import pytest

from clipscale.cli import main
from clipscale.errors import DownloadError, OfflineError
from clipscale.paper import data, load
from clipscale.paper.curves import prepare_curves


class _Server:
    """A real HTTP server on 127.0.0.1 serving a folder in the raw.githubusercontent layout (base/file)."""

    def __init__(self, folder):
        self.requests = []
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                outer.requests.append(self.path)

        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(paper_dir, tmp_path, monkeypatch):
    server = _Server(paper_dir)
    monkeypatch.setenv(data.URL_ENV, server.url)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    yield server
    server.close()


def test_download_once_then_cache(served, paper_dir):
    path = data.download("results")
    assert path.read_bytes() == (paper_dir / "zeroshot_results.csv").read_bytes()
    assert served.requests == ["/zeroshot_results.csv"]
    assert data.download("results") == path and len(served.requests) == 1  # served from the cache
    tables = load()
    assert len(tables.results) == 1312 and tables.curves is not None and tables.archs is not None
    assert sorted(served.requests) == sorted(f"/{f}" for f, _ in data.TABLES.values())


def test_a_changed_file_is_refused(tmp_path, paper_dir, monkeypatch):
    folder = tmp_path / "mirror"
    folder.mkdir()
    shutil.copy(paper_dir / "zeroshot_results.csv", folder)
    with open(folder / "zeroshot_results.csv", "a") as fh:
        fh.write("tampered\n")
    server = _Server(folder)
    try:
        monkeypatch.setenv(data.URL_ENV, server.url)
        monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
        with pytest.raises(DownloadError, match="does not match the paper's zeroshot_results.csv"):
            data.download("results")
        with pytest.raises(DownloadError, match="HTTP 404"):
            data.download("curves")
        assert not (tmp_path / "cache" / "paper").exists() or not any((tmp_path / "cache").rglob("*.csv"))
    finally:
        server.close()


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_says_so_in_one_line_and_names_results(tmp_path, monkeypatch):
    env = {data.URL_ENV: f"http://127.0.0.1:{_closed_port()}", data.CACHE_ENV: str(tmp_path / "cache")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(OfflineError):
        data.download("results")
    import os

    proc = subprocess.run([sys.executable, "-m", "clipscale", "paper", "fit", "--out", str(tmp_path / "f.csv")],
                          capture_output=True, text=True, env={**os.environ, **env})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--results" in proc.stderr and "Traceback" not in proc.stderr


def _example(capsys, action: str) -> list[str]:
    """The example of `clipscale paper ACTION` on `clipscale paper --help` (tests/cli/test_examples.py
    runs the other pages' examples; these run here, with their checks)."""
    assert main(["paper", "--help"]) == 0
    [argv] = [line.split() for line in capsys.readouterr().out.splitlines()
              if line.strip().startswith(f"clipscale paper {action} ")]
    return argv[1:]


def _tables_here(folder, paper_dir, monkeypatch, only=None):
    """The paper's tables in `folder` (the examples name zeroshot_results.csv), the working directory."""
    folder.mkdir(exist_ok=True)
    results = pd.read_csv(paper_dir / "zeroshot_results.csv")
    if only:
        results = results[results["downstream_dataset"] == only]
    results.to_csv(folder / "zeroshot_results.csv", index=False)
    for name in ("imagenet_zeroshot_learning_curves.csv", "trained_models_info.csv", "arch_info.csv"):
        shutil.copy(paper_dir / name, folder)
    monkeypatch.chdir(folder)


def test_paper_fit_command(paper_dir, tmp_path, capsys, monkeypatch):
    argv = _example(capsys, "fit")
    assert argv == ["paper", "fit", "--results", "zeroshot_results.csv", "--out", "paper-fits.csv", "--n-boot", "100"]
    _tables_here(tmp_path, paper_dir, monkeypatch)
    out = tmp_path / "paper-fits.csv"
    assert main(argv) == 0
    assert "E = 5.86 · C^-0.11" in capsys.readouterr().out
    fits = pd.read_csv(out)
    paper = fits[fits["variant"] == "paper"]
    assert len(paper) == 82 and set(paper["group"]) == {"openclip", "openai"}
    assert {"downstream_dataset", "group", "method", "n_points", "alpha", "coef"} <= set(fits.columns)
    wit = paper.set_index(["downstream_dataset", "group"]).loc[("imagenet1k", "openai")]
    assert (round(wit["coef"], 2), round(wit["alpha"], 2)) == (23.18, -0.16)
    # The corrected text-retrieval laws differ from the notebook's (which reused image retrieval).
    text = fits[fits["variant"] == "corrected text retrieval"].set_index(["downstream_dataset", "group"])
    image = paper.set_index(["downstream_dataset", "group"])
    assert set(text.index) == {(d, g) for d in ("mscoco_captions", "flickr30k") for g in ("openclip", "openai")}
    assert (text["metric"] == "text_retrieval_recall@5").all()
    assert (text["coef"] != image.loc[text.index, "coef"]).all()


def test_learning_curve_axes_follow_the_runs_facts(paper_dir):
    curves = pd.read_csv(paper_dir / "imagenet_zeroshot_learning_curves.csv")
    runs = pd.read_csv(paper_dir / "trained_models_info.csv")
    out = prepare_curves(curves, runs)
    name = "Model-B-32_Data-400M_Samples-13B_lr-1e-3_bs-86k.pt"
    row = out[(out["name"] == name) & (out["epoch"] == 22)].iloc[0]
    # trained_models_info.csv: 413,000,000 samples per epoch, local batch 672 on 128 GPUs.
    assert row["samples_seen"] == 22 * 413_000_000
    assert row["step"] == pytest.approx(22 * 413_000_000 / (672 * 128))
    assert row["arch"] == "ViT-B-32" and row["upstream_dataset"] == "LAION-400M" and row["acc1"] == 0.5848


@pytest.mark.slow
def test_paper_figures_command(paper_dir, tmp_path, capsys, monkeypatch):
    argv = _example(capsys, "figures")
    assert argv == ["paper", "figures", "--results", "zeroshot_results.csv", "--out", "paper-figures",
                    "--n-boot", "100"]
    _tables_here(tmp_path, paper_dir, monkeypatch)
    out = tmp_path / "paper-figures"
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for stem in ("scaling_imagenet1k", "scaling_imagenet_robustness", "scaling_mscoco_image_retrieval",
                 "scaling_flickr30k_image_retrieval", "scaling_mscoco_text_retrieval_corrected",
                 "predictions_imagenet1k", "predictions_mscoco_captions", "learning_curves_epoch",
                 "learning_curves_samples_seen", "learning_curves_step"):
        for ext in ("png", "pdf"):
            assert (out / f"{stem}.{ext}").stat().st_size > 1000, stem
    preds = pd.read_csv(out / "predictions.csv")
    assert list(preds.columns[:5]) == ["target", "label", "gmacs_total", "pred_err_pct", "actual_err_pct"]
    results = pd.read_csv(paper_dir / "zeroshot_results.csv")
    h14 = results[(results["downstream_dataset"] == "imagenet1k") & (results["arch"] == "ViT-H-14")].iloc[0]
    row = preds[(preds["target"] == "imagenet1k") & (preds["label"] == "H/14 (34B)")].iloc[0]
    assert row["actual_err_pct"] == pytest.approx((1 - h14["acc1"]) * 100)
    assert row["gmacs_total"] == pytest.approx(190.97 * 407_332_084 * 84)  # notebook's 34B budget
    # figures.ipynb reports these MAEs (error-percentage points) for its prediction figures.
    assert "prediction MAE imagenet1k: 0.874" in printed
    assert "prediction MAE mscoco_captions: 0.588" in printed


def test_prediction_mae_matches_the_paper_notebook(paper_dir):
    from clipscale.paper.predictions import mae_pct, predict_targets

    results = pd.read_csv(paper_dir / "zeroshot_results.csv")
    archs = pd.read_csv(paper_dir / "arch_info.csv")
    for dataset, published in (("imagenet1k", 0.874), ("mscoco_captions", 0.588)):
        table, law = predict_targets(results, archs, dataset, n_boot=0)
        assert round(mae_pct(table), 3) == published
        assert table["actual_err_pct"].notna().sum() == 11  # model x budget pairs that have runs
        assert len(table) == 6 * 5


@pytest.mark.slow
def test_paper_report_command(paper_dir, tmp_path, capsys, monkeypatch):
    argv = _example(capsys, "report")
    assert argv == ["paper", "report", "--results", "zeroshot_results.csv", "--out", "paper-report"]
    # A small copy of the tables (ImageNet rows only) keeps the report quick; curves sit beside it.
    _tables_here(tmp_path / "tables", paper_dir, monkeypatch, only="imagenet1k")
    assert main(argv) == 0
    index = tmp_path / "tables" / "paper-report" / "index.html"
    assert "index.html" in capsys.readouterr().out
    html = index.read_text()
    assert "Cherti et al., CVPR 2023" in html and "imagenet1k" in html
    assert "G/14 (68B)" in html  # the notebook's predictions, shown as predicted vs actual
    # ... labelled in-sample (they were fitted), while the backtest holds runs out of the fit
    assert (index.parent / "predictions_in_sample.csv").exists()
    bt = pd.read_csv(index.parent / "backtest.csv")
    assert len(bt) > 0 and "G/14 (68B)" not in bt.to_string()


def test_figures_without_companion_tables_skip_those_parts(paper_dir, tmp_path, monkeypatch):
    # Only zeroshot_results.csv, offline: scaling figures still come; predictions and curves are skipped.
    from clipscale.paper.commands import make_figures

    monkeypatch.setenv(data.URL_ENV, f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    folder = tmp_path / "only"
    folder.mkdir()
    results = pd.read_csv(paper_dir / "zeroshot_results.csv")
    results[results["downstream_dataset"] == "imagenet1k"].to_csv(folder / "zeroshot_results.csv", index=False)
    figs = make_figures(load(folder / "zeroshot_results.csv"), tmp_path / "out", n_boot=0)
    names = {p.name for p in figs.files}
    assert "scaling_imagenet1k.png" in names and "predictions.csv" not in names
    assert not any(n.startswith("learning_curves") for n in names)
    assert any("arch_info.csv" in n for n in figs.notes)


def test_cache_root_is_the_one_clipscale_variable(monkeypatch, tmp_path):
    """Paper tables and embedded data share one cache root variable, CLIPSCALE_CACHE."""
    from clipscale.data.cache import default_cache_dir

    monkeypatch.setenv("CLIPSCALE_CACHE", str(tmp_path))
    assert data.cache_dir().is_relative_to(tmp_path) and default_cache_dir().is_relative_to(tmp_path)
