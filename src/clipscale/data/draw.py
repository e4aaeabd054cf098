"""Rendering scenes to uint8 images by numpy compositing of cached, anti-aliased masks.

Each (shape, diameter in px) mask is drawn once at 4x supersampling and cached; a scene is a
background fill, one alpha blend per object on its own small window, and a fixed noise pattern
from a bank. That keeps one 32 px image at a few tens of microseconds on one core.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from clipscale.data.vocab import FONT_3X5

_SUPERSAMPLE = 4
NOISE_BANK = 64  # distinct noise patterns per image size


def _polygon(x: np.ndarray, y: np.ndarray, pts: list[tuple[float, float]]) -> np.ndarray:
    """Even-odd point-in-polygon test, vectorised over the points (x, y)."""
    x, y = np.broadcast_arrays(x, y)
    inside = np.zeros(x.shape, dtype=bool)
    n = len(pts)
    for i in range(n):
        (x1, y1), (x2, y2) = pts[i], pts[(i + 1) % n]
        crosses = (y1 > y) != (y2 > y)
        x_at = (x2 - x1) * (y - y1) / ((y2 - y1) or 1e-12) + x1
        inside ^= crosses & (x < x_at)
    return inside


def _regular(n: int, r: float = 1.0, phase: float = -np.pi / 2) -> list[tuple[float, float]]:
    a = phase + 2 * np.pi * np.arange(n) / n
    return list(zip(r * np.cos(a), r * np.sin(a)))


def _star() -> list[tuple[float, float]]:
    a = -np.pi / 2 + np.pi * np.arange(10) / 5
    r = np.where(np.arange(10) % 2 == 0, 1.0, 0.42)
    return list(zip(r * np.cos(a), r * np.sin(a)))


def _inside(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Boolean ink of `shape` on coordinates in [-1, 1] (y pointing down)."""
    r2 = x * x + y * y
    if shape == "circle":
        return r2 <= 0.92
    if shape == "square":
        return np.maximum(abs(x), abs(y)) <= 0.78
    if shape == "triangle":
        return _polygon(x, y, [(0.0, -0.95), (0.95, 0.8), (-0.95, 0.8)])
    if shape == "diamond":
        return abs(x) * 0.8 + abs(y) <= 0.98
    if shape == "star":
        return _polygon(x, y, _star())
    if shape == "cross":
        return ((abs(x) <= 0.3) & (abs(y) <= 0.95)) | ((abs(y) <= 0.3) & (abs(x) <= 0.95))
    if shape == "heart":
        hx, hy = x * 1.15, -(y * 1.15 + 0.1)
        return (hx * hx + hy * hy - 1) ** 3 - hx * hx * hy ** 3 <= 0
    if shape == "hexagon":
        return _polygon(x, y, _regular(6, 0.98, 0.0))
    if shape == "pentagon":
        return _polygon(x, y, _regular(5, 1.0))
    if shape == "ring":
        return (r2 <= 0.95) & (r2 >= 0.3)
    if shape == "crescent":
        return (r2 <= 0.92) & ((x - 0.45) ** 2 + (y + 0.1) ** 2 >= 0.55)
    if shape == "semicircle":
        return (x * x + (y - 0.4) ** 2 <= 1.0) & (y <= 0.4)
    if shape == "ellipse":
        return (x / 0.98) ** 2 + (y / 0.55) ** 2 <= 1.0
    if shape == "arrow":
        return _polygon(x, y, [(-0.95, -0.25), (0.15, -0.25), (0.15, -0.7), (0.95, 0.0),
                               (0.15, 0.7), (0.15, 0.25), (-0.95, 0.25)])
    if shape == "rectangle":
        return (abs(x) <= 0.95) & (abs(y) <= 0.45)
    if shape == "trapezoid":
        return _polygon(x, y, [(-0.45, -0.6), (0.45, -0.6), (0.95, 0.6), (-0.95, 0.6)])
    raise KeyError(shape)


@lru_cache(maxsize=None)
def shape_mask(shape: str, diameter_px: int) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of `shape` on a diameter_px x diameter_px grid (float32)."""
    n = diameter_px * _SUPERSAMPLE
    c = (np.arange(n) + 0.5) / n * 2 - 1
    ink = _inside(shape, c[None, :], c[:, None]).astype(np.float32)
    cover = ink.reshape(diameter_px, _SUPERSAMPLE, diameter_px, _SUPERSAMPLE).mean(axis=(1, 3))
    cover.setflags(write=False)
    return cover


@lru_cache(maxsize=None)
def texture_pattern(texture: str, diameter_px: int, image_size: int) -> np.ndarray:
    """1 where the object shows its colour, 0 where it shows the shade; float32 [d, d, 1]."""
    period = max(3, image_size // 10)  # px; 3 px at 32 px images
    y, x = np.mgrid[0:diameter_px, 0:diameter_px]
    if texture == "solid":
        p = np.ones_like(x)
    elif texture == "striped":
        p = ((x + y) % period) < (period + 1) // 2
    elif texture == "dotted":
        p = ~(((x % period) == period // 2) & ((y % period) == period // 2))
    elif texture == "checkered":
        p = ((x // (period - 1)) + (y // (period - 1))) % 2 == 0
    else:
        raise KeyError(texture)
    out = p.astype(np.float32)[:, :, None]
    out.setflags(write=False)
    return out


@lru_cache(maxsize=None)
def text_mask(text: str, image_size: int) -> np.ndarray:
    """Ink of `text` in the 3x5 font, each font pixel a square of image_size // 16 px (float32)."""
    scale = max(1, image_size // 16)
    glyphs = [np.array([[ch == "#" for ch in row] for row in FONT_3X5[c]], dtype=np.float32) for c in text]
    gap = np.zeros((5, 1), dtype=np.float32)
    parts = []
    for i, g in enumerate(glyphs):
        parts += ([gap] if i else []) + [g]
    ink = np.concatenate(parts, axis=1)
    ink = np.kron(ink, np.ones((scale, scale), dtype=np.float32))
    ink.setflags(write=False)
    return ink


@lru_cache(maxsize=None)
def noise_bank(image_size: int) -> np.ndarray:
    """Fixed unit-variance Gaussian noise patterns, float32 [NOISE_BANK, H, W, 3]."""
    rng = np.random.default_rng(20230321)
    bank = rng.standard_normal((NOISE_BANK, image_size, image_size, 3)).astype(np.float32)
    bank.setflags(write=False)
    return bank


def shade_of(rgb: np.ndarray) -> np.ndarray:
    """The second colour of a textured object: half-way to black for light colours, to white for dark."""
    lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return rgb * 0.5 + (0.0 if lum > 100 else 110.0)


def blend(img: np.ndarray, alpha: np.ndarray, colour: np.ndarray, cx: float, cy: float) -> None:
    """Alpha-blend `colour` ([d, d, 3] or [3]) through `alpha` [d, d] centred at pixel (cx, cy), in place."""
    h, w = alpha.shape
    size = img.shape[0]
    x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, size), min(y0 + h, size)
    if xa >= xb or ya >= yb:
        return
    a = alpha[ya - y0:yb - y0, xa - x0:xb - x0, None]
    c = colour[ya - y0:yb - y0, xa - x0:xb - x0] if colour.ndim == 3 else colour
    win = img[ya:yb, xa:xb]
    win += a * (c - win)

