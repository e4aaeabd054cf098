"""The embedded procedural image-caption dataset and the image normalisation the trainer uses.

Sample i of split s is a pure function of (seed, s, i, image_size): a dataset of N pairs is the
prefix of any larger one with the same seed (the data-size axis), and the 'heldout' split is a
separate random stream that never reuses a training index's randomness.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from clipscale.data.captions import caption
from clipscale.data.grammar import Scene, render, sample_scene
from clipscale.errors import UserInputError

SPLITS = {"train": 0, "heldout": 1}
# First word of every sample's seed: numpy's SeedSequence ignores trailing zero words
# ([a, b, 0] seeds like [a, b]), so a fixed leading tag keeps these streams apart from any
# other stream in clipscale (e.g. evaluation's [EVAL_SEED, ...]) whatever the user's seed.
STREAM_TAG = 0x636C6970  # "clip"


class EmbeddedDataset:
    """`n_pairs` procedural (image, caption) pairs; `ds[i] -> (uint8 [H, W, 3], str)`.

    split: 'train' (default) or 'heldout' (an independent stream for evaluation).
    """

    def __init__(self, n_pairs: int, seed: int = 0, image_size: int = 32, split: str = "train"):
        if int(n_pairs) < 1:
            raise UserInputError(f"n_pairs must be >= 1, got {n_pairs}; pass the number of unique pairs")
        if int(image_size) < 16:
            raise UserInputError(f"image_size must be >= 16 px, got {image_size}; use 32 or 64")
        if int(seed) < 0:
            raise UserInputError(f"seed must be >= 0, got {seed}; pass a non-negative integer")
        if split not in SPLITS:
            raise UserInputError(f"unknown split {split!r}; valid choices: {', '.join(SPLITS)}")
        self.n_pairs, self.seed, self.image_size, self.split = int(n_pairs), int(seed), int(image_size), split

    def __len__(self) -> int:
        return self.n_pairs

    def __repr__(self) -> str:
        return (f"EmbeddedDataset(n_pairs={self.n_pairs}, seed={self.seed}, "
                f"image_size={self.image_size}, split={self.split!r})")

    def _index(self, i: int) -> int:
        i = int(i)
        if i < 0:
            i += self.n_pairs
        if not 0 <= i < self.n_pairs:
            raise IndexError(f"index {i} out of range for {self.n_pairs} pairs")
        return i

    def rng(self, i: int) -> np.random.Generator:
        """The random stream of sample i (its scene, then its caption)."""
        return np.random.default_rng([STREAM_TAG, self.seed, SPLITS[self.split], self._index(i)])

    def scene(self, i: int) -> Scene:
        """The scene record of sample i (for analysis; `ds[i]` renders it)."""
        return sample_scene(self.rng(i))

    def __getitem__(self, i: int) -> tuple[np.ndarray, str]:
        rng = self.rng(i)
        scene = sample_scene(rng)
        return render(scene, self.image_size), caption(scene, rng)

    def batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, list[str]]:
        """Images as a uint8 tensor [N, 3, H, W] and their captions, in the order of `indices`."""
        size = self.image_size
        out = np.empty((len(indices), size, size, 3), dtype=np.uint8)
        texts = []
        for k, i in enumerate(indices):
            out[k], text = self[i]
            texts.append(text)
        return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous(), texts

    def __iter__(self):
        for i in range(self.n_pairs):
            yield self[i]


def heldout(seed: int = 0, n_pairs: int = 10_000, image_size: int = 32) -> EmbeddedDataset:
    """The held-out stream of the embedded data: never overlaps the training stream of any size."""
    return EmbeddedDataset(n_pairs, seed=seed, image_size=image_size, split="heldout")


def normalize(images: torch.Tensor, image_size: int | None = None) -> torch.Tensor:
    """uint8 [N, 3, H, W] -> float32 normalised with OpenAI's CLIP mean/std, as OpenCLIP's preprocess.

    Equal to `preprocess(PIL image)` of a model whose image size is H (OpenCLIP's resize is then
    a no-op). With `image_size` != H the batch is resized with antialiased bicubic interpolation,
    which matches PIL's resize only approximately.
    """
    from open_clip import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise UserInputError(f"normalize expects a uint8 tensor [N, 3, H, W], got {images.dtype} "
                             f"{tuple(images.shape)}; pass the first output of EmbeddedDataset.batch")
    x = images.float().div(255)
    if image_size is not None and image_size != images.shape[-1]:
        x = _resize_center_crop(x, int(image_size))
    mean = torch.tensor(OPENAI_DATASET_MEAN, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_DATASET_STD, dtype=x.dtype).view(1, 3, 1, 1)
    return x.sub(mean).div(std)


def _resize_center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = torch.nn.functional.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True,
                                        align_corners=False).clamp_(0, 1)
    top, left = (nh - size) // 2, (nw - size) // 2
    return x[..., top:top + size, left:left + size]
