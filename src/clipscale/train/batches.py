"""Training batches as a pure function of (seed, step): what makes a resumed run bit-identical.

Two sources share one interface, `batch(step) -> (images float [b,3,H,W], tokens int64 [b,ctx])`,
giving this rank's slice of global batch `step` (rank r gets rows r*b .. (r+1)*b of the global
batch, b = batch_size / world_size), so K processes see exactly the samples one process would.

- EmbeddedBatches: the packaged procedural dataset. Each pass over the `data_size` pairs is a
  permutation seeded by (seed, pass). When the run shows every pair at least once, all pairs are
  rendered and tokenized once up front (no per-sample Python in the training loop).
- ShardBatches: webdataset tar shards (LAION / img2dataset layout: <key>.jpg|png + <key>.txt).
  Each pass reads the shards in an order seeded by (seed, pass) through a seeded shuffle buffer;
  resuming at step k re-reads and skips the first k global batches without decoding them.
"""
from __future__ import annotations

import io
import random
import tarfile
from typing import Callable, Iterator

import numpy as np
import torch

from clipscale.errors import DataError, UserInputError

# Pre-render the embedded data only if it fits this budget (3 KiB per pair at 32 px).
CACHE_BYTES = 2 << 30
_RENDERED = None  # (key, (images, tokens)): the last full rendering in this process
SHUFFLE_BUFFER = 2000  # samples; webdataset's usual order of magnitude for shard streams
_IMAGE_EXTS = ("jpg", "jpeg", "png", "webp")


def has_rendering() -> bool:
    """Whether this process holds a full pre-rendering of the embedded data (a study worker after
    its first run): a budget counts the rendering's seconds only before it."""
    return _RENDERED is not None


def rendered_pairs(image_size: int, tokenizer_key) -> int:
    """How many pairs of the embedded data this process holds pre-rendered at `image_size` with the
    tokenizer `tokenizer_key` (0: none): a run that needs no more reuses them."""
    if _RENDERED is None or _RENDERED[0] != (image_size, tokenizer_key):
        return 0
    return len(_RENDERED[1][0])


def rank_slice(n: int, rank: int, world_size: int) -> slice:
    per = n // world_size
    return slice(rank * per, (rank + 1) * per)


class EmbeddedBatches:
    """Batches of clipscale.data.EmbeddedDataset(data_size) in a seeded per-pass order."""

    def __init__(self, data_size: int, batch_size: int, seed: int, tokenize: Callable, image_size: int,
                 rank: int = 0, world_size: int = 1, prerender: bool = True, tokenizer_key=None):
        """tokenizer_key: a hashable that identifies `tokenize` (e.g. its OpenCLIP text config), so a
        later run in this process may reuse the rendering; None renders afresh."""
        from clipscale import data

        self.n, self.batch_size, self.seed = data_size, batch_size, seed
        self.rows = rank_slice(batch_size, rank, world_size)
        self.tokenize, self.normalize = tokenize, data.normalize
        # The data's own seed is fixed: the training seed changes order and init, never the pairs.
        self.dataset = data.EmbeddedDataset(data_size, seed=0, image_size=image_size)
        self.images: torch.Tensor | None = None
        self.tokens: torch.Tensor | None = None
        if prerender and data_size * 3 * image_size ** 2 <= CACHE_BYTES:
            self.images, self.tokens = self._prerendered(tokenizer_key)
        self._perms: dict[int, np.ndarray] = {}

    def _prerendered(self, key) -> tuple[torch.Tensor, torch.Tensor]:
        """All pairs, rendered and tokenized. A dataset of N pairs is a prefix of a larger one, so
        the last rendering in this process (a study worker trains many runs) serves every smaller
        size and only the missing tail is rendered."""
        global _RENDERED
        key = (self.dataset.image_size, key)
        have = _RENDERED[1] if _RENDERED is not None and _RENDERED[0] == key and key[1] is not None else None
        done = 0 if have is None else len(have[0])
        if done < self.n:
            images, tokens = self._render(np.arange(done, self.n))
            if have is not None:
                images, tokens = torch.cat([have[0], images]), torch.cat([have[1], tokens])
            have = (images, tokens)
            _RENDERED = (key, have)
        return have[0][:self.n], have[1][:self.n]

    def _render(self, indices: np.ndarray, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
        images, tokens = [], []
        for start in range(0, len(indices), chunk):
            img, captions = self.dataset.batch(indices[start:start + chunk])
            images.append(img)
            tokens.append(self.tokenize(captions))
        return torch.cat(images), torch.cat(tokens)

    def _perm(self, pass_index: int) -> np.ndarray:
        if pass_index not in self._perms:
            self._perms = {k: v for k, v in self._perms.items() if k >= pass_index - 1}
            self._perms[pass_index] = np.random.default_rng([self.seed, pass_index]).permutation(self.n)
        return self._perms[pass_index]

    def global_indices(self, step: int) -> np.ndarray:
        """Dataset indices of global batch `step`; a batch may straddle two passes."""
        start, parts, need = step * self.batch_size, [], self.batch_size
        while need:
            pass_index, offset = divmod(start, self.n)
            part = self._perm(pass_index)[offset:offset + need]
            parts.append(part)
            start, need = start + len(part), need - len(part)
        return np.concatenate(parts)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.global_indices(step)[self.rows]
        if self.images is not None:
            t = torch.from_numpy(idx)
            return self.normalize(self.images[t]), self.tokens[t]
        images, tokens = self._render(idx)
        return self.normalize(images), tokens


def expand_shards(pattern: str) -> list[str]:
    """'dir/{000000..000009}.tar' -> the shard paths ('::' separates several patterns)."""
    from webdataset.shardlists import expand_urls  # webdataset's own reading of a pattern

    urls = [u for u in expand_urls(pattern) if u.strip()]
    if not urls:
        raise UserInputError(f"--train-data {pattern!r} names no shards; "
                             f"use a brace pattern like 'shards/{{000000..000009}}.tar'")
    return urls


def _tar_samples(url: str) -> Iterator[tuple[str, bytes, str]]:
    """(key, image bytes, caption) per sample of one shard, in file order."""
    try:
        tar = tarfile.open(url, "r|*")
    except (OSError, tarfile.TarError) as exc:
        raise DataError(f"cannot read shard {url}: {exc}; check --train-data") from exc
    current, parts = None, {}
    with tar:
        for member in tar:
            if not member.isfile():
                continue
            folder, _, base = member.name.rpartition("/")
            stem, _, ext = base.partition(".")  # webdataset's rule: the key ends at the first dot of the file name
            key = f"{folder}/{stem}"
            if key != current:
                if current is not None:
                    yield from _complete(current, parts)
                current, parts = key, {}
            parts[ext.lower()] = tar.extractfile(member).read()
        if current is not None:
            yield from _complete(current, parts)


def _complete(key: str, parts: dict) -> Iterator[tuple[str, bytes, str]]:
    image = next((parts[e] for e in _IMAGE_EXTS if e in parts), None)
    if image is not None and "txt" in parts:
        yield key, image, parts["txt"].decode("utf-8", "replace").strip()


class ShardBatches:
    """Batches from webdataset shards; `preprocess` is the model's OpenCLIP image transform."""

    def __init__(self, pattern: str, batch_size: int, seed: int, tokenize: Callable, preprocess: Callable,
                 rank: int = 0, world_size: int = 1):
        self.urls = expand_shards(pattern)
        self.batch_size, self.seed = batch_size, seed
        self.rows = rank_slice(batch_size, rank, world_size)
        self.tokenize, self.preprocess = tokenize, preprocess
        self._stream: Iterator | None = None
        self._next_step = 0

    def _pass(self, pass_index: int) -> Iterator[tuple[str, bytes, str]]:
        rng = random.Random(f"{self.seed}-{pass_index}")
        order = list(self.urls)
        rng.shuffle(order)
        buffer: list = []
        for url in order:
            for sample in _tar_samples(url):
                buffer.append(sample)
                if len(buffer) >= SHUFFLE_BUFFER:
                    yield buffer.pop(rng.randrange(len(buffer)))
        rng.shuffle(buffer)
        yield from buffer

    def _samples(self) -> Iterator[tuple[str, bytes, str]]:
        pass_index = 0
        while True:
            empty = True
            for sample in self._pass(pass_index):
                empty = False
                yield sample
            if empty:
                raise DataError(f"shards {self.urls[0]} ... hold no image-text pairs (.jpg/.png with .txt)")
            pass_index += 1

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._stream is None or step != self._next_step:
            self._stream, skip = self._samples(), step * self.batch_size
            for _ in range(skip):  # resume: replay the stream without decoding
                next(self._stream)
        samples = [next(self._stream) for _ in range(self.batch_size)][self.rows]
        self._next_step = step + 1
        from PIL import Image

        images = torch.stack([self.preprocess(Image.open(io.BytesIO(b)).convert("RGB")) for _, b, _ in samples])
        return images, self.tokenize([c for _, _, c in samples])
