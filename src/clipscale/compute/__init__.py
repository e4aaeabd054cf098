"""Compute accounting: parameters (millions) and multiply-accumulates (GMACs) per sample.

`count("ViT-B-32")` builds the model on PyTorch's meta device (no weights are allocated, so
ViT-e-14 costs no memory) and counts one forward pass of one image and one text with
torch.utils.flop_counter. 1 MAC = 2 FLOPs; every figure here is in MACs.
"""
from clipscale.compute.counter import Compute, count, gmacs_per_sample

__all__ = ["Compute", "count", "gmacs_per_sample"]
