"""Fixtures for the report tests: small synthetic tables and a real headless Chromium.

The browser is Debian's chromium (`make browser`), driven by the python playwright package. If it
cannot start, the browser tests fail: they never skip.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipscale.schema import RESULT_COLUMNS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARCHS = ("ViT-S-32", "ViT-M-32", "ViT-L-32", "ViT-XL-32")
SAMPLES = (1e6, 4e6, 16e6)


def _rows(dataset: str, coef: float, alpha: float, rng: np.random.Generator, data=("tiny-A", "tiny-B")) -> list[dict]:
    rows = []
    for i, arch in enumerate(ARCHS):
        gmacs = 0.5 * 3 ** i
        for samples in SAMPLES:
            for up in data:
                compute = gmacs * samples
                acc = 1 - coef * compute ** alpha * np.exp(rng.normal(0, 0.02))
                rows.append({"arch": arch, "samples_seen": samples, "gmacs_total": compute, "gmacs": gmacs,
                             "upstream_dataset": up, "downstream_dataset": dataset, "acc1": acc,
                             "task": "zeroshot_classification", "samples_seen_pretty": f"{samples / 1e6:.0f}M",
                             "name": f"{arch}_{up}_{samples:.0e}"})
    return rows


@pytest.fixture(scope="session")
def synthetic_results() -> pd.DataFrame:
    """Two datasets with different laws (24 openclip points and 2 CLIP-WIT points each) and one
    dataset ('tiny') with a single point, too few for any fit."""
    rng = np.random.default_rng(0)
    rows = _rows("alpha_set", 3.0, -0.1, rng) + _rows("beta_set", 20.0, -0.25, rng)
    for dataset, coef, alpha in (("alpha_set", 3.0, -0.1), ("beta_set", 20.0, -0.25)):
        for compute in (2e7, 6e7):
            rows.append({"arch": "ViT-B-32", "samples_seen": 1.28e7, "gmacs_total": compute, "gmacs": compute / 1.28e7,
                         "upstream_dataset": "CLIP-WIT", "downstream_dataset": dataset,
                         "acc1": 1 - coef * compute ** alpha, "task": "zeroshot_classification",
                         "samples_seen_pretty": "13M", "name": f"openai-{compute:.0e}"})
    rows.append({**rows[0], "downstream_dataset": "tiny", "acc1": 0.4})
    df = pd.DataFrame(rows)
    for col in RESULT_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
    return df[list(RESULT_COLUMNS)]


@pytest.fixture(scope="session")
def synthetic_curves() -> pd.DataFrame:
    """clipscale's learning-curve layout: 4 runs (2 archs x 2 data), 6 epochs each."""
    rows = []
    for arch in ARCHS[:2]:
        for data in ("tiny-A", "tiny-B"):
            for epoch in range(1, 7):
                rows.append({"name": f"{arch}-{data}", "arch": arch, "upstream_dataset": data,
                             "samples_seen": epoch * 1e6, "epoch": epoch, "step": epoch * 250,
                             "acc1": 0.1 + 0.05 * epoch + (0.1 if arch == ARCHS[1] else 0),
                             "downstream_dataset": "imagenet1k"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    """A fresh headless Chromium (new user-data dir) for one test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1200, "height": 900})
        try:
            yield context
        finally:
            context.close()


class PageWatch:
    """A page with its console errors, uncaught exceptions and any non-file request recorded."""

    def __init__(self, context):
        self.page = context.new_page()
        self.errors: list[str] = []
        self.network: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("request", lambda r: r.url.startswith(("file:", "data:", "about:")) or self.network.append(r.url))

    def open(self, index_html):
        self.page.goto(index_html.resolve().as_uri())
        self.page.wait_for_selector("body[data-ready=true]", timeout=15000)
        return self.page


@pytest.fixture
def watch(browser_context):
    w = PageWatch(browser_context)
    yield w
    w.page.close()
