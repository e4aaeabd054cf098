"""The embedded dataset: prefix property, determinism, held-out split, batches, normalisation, tokens."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from clipscale.data import EmbeddedDataset, heldout, normalize
from clipscale.errors import UserInputError


def test_sample_is_pure_function_of_seed_and_index_so_small_data_is_a_prefix():
    small, large = EmbeddedDataset(10, seed=3), EmbeddedDataset(1000, seed=3)
    for i in range(10):
        img_s, cap_s = small[i]
        img_l, cap_l = large[i]
        assert np.array_equal(img_s, img_l) and cap_s == cap_l
    again = EmbeddedDataset(10, seed=3)
    assert np.array_equal(again[7][0], small[7][0]) and again[7][1] == small[7][1]


def test_seeds_and_splits_give_different_streams():
    train, other_seed, held = EmbeddedDataset(50, seed=0), EmbeddedDataset(50, seed=1), heldout(seed=0, n_pairs=50)
    assert held.split == "heldout"
    train_imgs = {train[i][0].tobytes() for i in range(50)}
    assert not train_imgs & {held[i][0].tobytes() for i in range(50)}
    assert not train_imgs & {other_seed[i][0].tobytes() for i in range(50)}


def test_item_and_batch_types_and_shapes():
    ds = EmbeddedDataset(20, image_size=32)
    img, cap = ds[0]
    assert img.dtype == np.uint8 and img.shape == (32, 32, 3) and isinstance(cap, str) and cap
    images, caps = ds.batch([4, 2, 19])
    assert images.dtype == torch.uint8 and tuple(images.shape) == (3, 3, 32, 32)
    assert np.array_equal(images[1].permute(1, 2, 0).numpy(), ds[2][0]) and caps[1] == ds[2][1]
    assert ds[-1][1] == ds[19][1] and len(ds) == 20
    with pytest.raises(IndexError):
        ds[20]


def test_images_vary_and_use_the_whole_canvas():
    imgs = np.stack([EmbeddedDataset(64)[i][0] for i in range(64)]).astype(np.float32)
    assert imgs.std(axis=0).mean() > 30  # backgrounds and objects vary across samples
    assert len({tuple(im.reshape(-1, 3).mean(0).round()) for im in imgs}) == 64


def test_64px_images():
    img, _ = EmbeddedDataset(2, image_size=64)[1]
    assert img.shape == (64, 64, 3)


@pytest.mark.parametrize("kwargs, fragment", [({"n_pairs": 0}, "n_pairs"), ({"n_pairs": 5, "split": "test"}, "split"),
                                              ({"n_pairs": 5, "image_size": 8}, "image_size"),
                                              ({"n_pairs": 5, "seed": -1}, "seed")])
def test_bad_arguments_raise_user_errors(kwargs, fragment):
    with pytest.raises(UserInputError, match=fragment):
        EmbeddedDataset(**kwargs)


def test_normalize_equals_openclip_preprocess_of_the_pil_image():
    from clipscale.models import create

    _, preprocess, _ = create("ladder-xs")
    ds = EmbeddedDataset(8)
    images, _ = ds.batch(range(8))
    fast = normalize(images)
    slow = torch.stack([preprocess(Image.fromarray(ds[i][0])) for i in range(8)])
    assert fast.dtype == torch.float32
    assert torch.equal(fast, slow)


def test_normalize_resizes_close_to_pil_and_rejects_float_input():
    import open_clip

    _, _, preprocess = open_clip.create_model_and_transforms("ladder-xs")
    ds = EmbeddedDataset(4, image_size=64)
    images, _ = ds.batch(range(4))
    fast = normalize(images, image_size=32)
    slow = torch.stack([preprocess(Image.fromarray(ds[i][0])) for i in range(4)])
    assert fast.shape == slow.shape and (fast - slow).abs().mean() < 0.05
    with pytest.raises(UserInputError, match="uint8"):
        normalize(images.float())


def test_captions_fit_the_ladder_text_context_with_openclip_bpe():
    import open_clip

    from clipscale.models import model_config

    context = model_config("ladder-xs")["text_cfg"]["context_length"]
    tokenizer = open_clip.get_tokenizer("ladder-xs")
    caps = [c for _, c in (EmbeddedDataset(3000, seed=5)[i] for i in range(3000))]
    tokens = tokenizer(caps, context_length=77)
    lengths = (tokens != 0).sum(dim=1)
    assert int(lengths.max()) <= context, caps[int(lengths.argmax())]
    assert len(set(caps)) > 2000  # varied templates and paraphrases
