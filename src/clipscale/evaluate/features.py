"""Image sources and frozen-feature extraction with caching.

An `ImageSource` is a numbered set of (image, target) items under a key: two tasks whose sources
have the same key see the same images, so a checkpoint's image features are computed once for both
(`FeatureCache`). Images are PIL images or uint8 HxWx3 arrays. Arrays already at the model's
resolution skip PIL and are normalised as one batch (bit-identical to OpenCLIP's preprocess; tested).
A corrupt image is logged as a warning (logger clipscale.evaluate.features) and skipped; the rest
of the evaluation goes on. Progress goes to a callback (clipscale.evaluate.progress); nothing is printed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from clipscale.errors import DataError
from clipscale.evaluate.progress import ProgressArg, resolve

_log = logging.getLogger(__name__)  # the CLI shows warnings on stderr; the library prints nothing

# What a broken image file raises when opened or decoded (PIL, torchvision loaders).
_IMAGE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError)


@dataclass(frozen=True)
class ImageSource:
    """`n` items, `load(i) -> (image, target)`; `name(i)` names item i in messages (a file path)."""

    key: str
    n: int
    load: Callable[[int], tuple[Any, Any]] = field(compare=False)
    name: Callable[[int], str] = field(compare=False, default=lambda i: f"item {i}")


@dataclass
class Encoded:
    """Unit-norm image features of the items that loaded, with their targets and source indices."""

    features: torch.Tensor  # (n_kept, embed_dim), float32, L2-normalised
    targets: list
    indices: np.ndarray  # source index of each row
    skipped: list[str]  # "name: reason" of each item that could not be read


def _fast_normaliser(preprocess) -> tuple[int, torch.Tensor, torch.Tensor] | None:
    """(size, mean, std) when `preprocess` is OpenCLIP's eval transform (resize, crop, tensor, normalise)."""
    from open_clip.transform import MaybeConvertMode
    from torchvision import transforms as T

    steps = getattr(preprocess, "transforms", None)
    if not steps:
        return None
    size, norm = None, None
    for t in steps:
        if isinstance(t, (T.Resize, T.CenterCrop)):
            s = t.size if isinstance(t.size, int) else (t.size[0] if len(set(t.size)) == 1 else None)
            if s is None or (size is not None and s != size):
                return None
            size = s
        elif isinstance(t, T.Normalize):
            norm = t
        elif not (isinstance(t, T.ToTensor) or (isinstance(t, MaybeConvertMode) and t.mode == "RGB")):
            return None  # an unknown step: take the PIL path, which is always right
    if size is None or norm is None:
        return None
    return size, torch.tensor(norm.mean).view(1, 3, 1, 1), torch.tensor(norm.std).view(1, 3, 1, 1)


class Pixels:
    """Turns loaded images into model input, in batches."""

    def __init__(self, preprocess):
        self.preprocess = preprocess
        self.fast = _fast_normaliser(preprocess)

    def __call__(self, images: list) -> torch.Tensor:
        if self.fast is not None and all(isinstance(a, np.ndarray) for a in images):
            size, mean, std = self.fast
            if all(a.shape == (size, size, 3) and a.dtype == np.uint8 for a in images):
                x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255)
                return (x - mean) / std
        return torch.stack([self.preprocess(_as_pil(a)) for a in images])


def _as_pil(img) -> Image.Image:
    return Image.fromarray(img) if isinstance(img, np.ndarray) else img


def load_batch(source: ImageSource, idx: range, skipped: list[str]):
    """The images of `source` at `idx` (decoded) with their targets and kept indices; an image that
    cannot be read is skipped and named in `skipped`."""
    images, targets, kept = [], [], []
    for i in idx:
        try:
            img, target = source.load(i)
            if isinstance(img, Image.Image):
                img.load()  # decode now, so a truncated file fails here and not inside the batch
        except _IMAGE_ERRORS as exc:
            skipped.append(f"{source.name(i)}: {type(exc).__name__}: {exc}")
            _log.warning("skipped unreadable image %s (%s)", source.name(i), exc)
            continue
        images.append(img)
        targets.append(target)
        kept.append(i)
    return images, targets, kept


class DecodedImages:
    """Decoded uint8-array images of sources, kept across checkpoints (learning curves re-use them).

    Only sources whose images are all uint8 arrays are kept (the embedded suite, digits), up to
    `max_bytes` in all; file-backed benchmarks are read again for each checkpoint.
    """

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes, self.bytes = max_bytes, 0
        self._store: dict[str, tuple[list, list, list, list]] = {}

    def get(self, key: str):
        """(images, targets, source indices, skipped) of a source key, or None."""
        return self._store.get(key)

    def offer(self, key: str, images: list, targets: list, kept: list, skipped: list) -> None:
        """Keep a decoded source if it is all uint8 arrays and fits in the byte budget."""
        size = sum(a.nbytes if isinstance(a, np.ndarray) else self.max_bytes + 1 for a in images)
        if self.bytes + size <= self.max_bytes:
            self._store[key] = (images, targets, kept, skipped)
            self.bytes += size


def _batches(source: ImageSource, batch_size: int, skipped: list, decoded: DecodedImages | None, advance):
    """(images, targets, source indices) per batch, from `decoded` when it holds the source."""
    hit = decoded.get(source.key) if decoded is not None else None
    if hit is not None:
        images, targets, kept, old_skipped = hit
        skipped.extend(old_skipped)
        for s in range(0, len(images), batch_size):
            advance(len(images[s:s + batch_size]))
            yield images[s:s + batch_size], targets[s:s + batch_size], kept[s:s + batch_size]
        return
    all_images, all_targets, all_kept = [], [], []
    for start in range(0, source.n, batch_size):
        images, tgt, idx = load_batch(source, range(start, min(start + batch_size, source.n)), skipped)
        advance(min(batch_size, source.n - start))
        if decoded is not None:
            all_images += images
            all_targets += tgt
            all_kept += idx
        yield images, tgt, idx
    if decoded is not None:
        decoded.offer(source.key, all_images, all_targets, all_kept, list(skipped))


@torch.inference_mode()
def encode_images(model, preprocess, source: ImageSource, *, batch_size: int = 256, device: str = "cpu",
                  progress: ProgressArg = False, decoded: DecodedImages | None = None) -> Encoded:
    """Unit-norm image features of every readable item of `source` (fp32); progress in images."""
    to_pixels = Pixels(preprocess)
    feats, targets, kept, skipped = [], [], [], []
    report, done = resolve(progress), [0]

    def advance(n: int) -> None:
        done[0] += n
        if report is not None:
            report(f"images {source.key}", done[0], source.n)

    for images, tgt, idx in _batches(source, batch_size, skipped, decoded, advance):
        if not images:
            continue
        x = to_pixels(images).to(device)
        feats.append(F.normalize(model.encode_image(x).float(), dim=-1).cpu())
        targets.extend(tgt)
        kept.extend(idx)
    if not feats:
        raise DataError(f"no readable image in {source.key} ({len(skipped)} skipped, first: "
                        f"{skipped[0] if skipped else 'none'}); check the dataset folder")
    return Encoded(torch.cat(feats), targets, np.asarray(kept, dtype=np.int64), skipped)


class FeatureCache:
    """Image features of one model, computed once per source key and shared by every task."""

    def __init__(self, model, preprocess, *, batch_size: int = 256, device: str = "cpu", progress: ProgressArg = False,
                 decoded: DecodedImages | None = None):
        self.model, self.preprocess, self.decoded = model, preprocess, decoded
        self.batch_size, self.device, self.progress = batch_size, device, resolve(progress)
        self._store: dict[str, Encoded] = {}
        self.passes = 0  # feature passes actually run (tests check the sharing)

    def get(self, source: ImageSource) -> Encoded:
        """The source's features: computed on first request, then served from memory."""
        if source.key not in self._store:
            self._store[source.key] = encode_images(self.model, self.preprocess, source, batch_size=self.batch_size,
                                                    device=self.device, progress=self.progress,
                                                    decoded=self.decoded)
            self.passes += 1
        return self._store[source.key]
