"""The paper's model zoo: a catalog of its 29 checkpoints, verified downloads, and loading.

    >>> from clipscale import zoo
    >>> zoo.list_checkpoints(model="ViT-B-32", samples_seen="34B")      # three entries
    >>> model, preprocess, tokenizer = zoo.load(model="ViT-B-32", data="2B", samples_seen="34B")
"""
from clipscale.zoo.catalog import (CATALOG, PAPER_CHECKPOINTS, Catalog, Checkpoint, HubFile, get,
                                   list_checkpoints)
from clipscale.zoo.classify import Prediction, classify, read_labels
from clipscale.zoo.hub import download, download_file, sha256_of
from clipscale.zoo.loading import load, load_state_dict

__all__ = ["CATALOG", "PAPER_CHECKPOINTS", "Catalog", "Checkpoint", "HubFile", "get", "list_checkpoints",
           "download", "download_file", "sha256_of", "load", "load_state_dict", "Prediction", "classify", "read_labels"]
