"""The compact embedded tokenizer: OpenCLIP's BPE pruned to the embedded vocabulary."""
import gzip

import open_clip
import pytest
from open_clip.tokenizer import SimpleTokenizer

import clipscale.models  # noqa: F401  (registers the ladder configs and their tokenizer path)
from clipscale.data import tokenizer as T
from clipscale.models import ladder, model_config


@pytest.fixture(scope="module")
def texts():
    return T.corpus()


def test_pieces_equal_openclip_bpe_on_the_embedded_corpus(texts):
    full, small = SimpleTokenizer(), SimpleTokenizer(bpe_path=str(T.EMBEDDED_BPE))
    for text in texts[::7]:
        assert [full.decoder[i] for i in full.encode(text)] == [small.decoder[i] for i in small.encode(text)], text


def test_vocabulary_is_compact_and_end_of_text_is_the_largest_id():
    tok = open_clip.get_tokenizer("ladder-e-xs")
    assert tok.vocab_size == T.packaged_vocab_size() < 1_000  # vs 49,408 for OpenCLIP's BPE
    ids = tok(["a photo of a red star."])[0]
    assert int(ids.max()) == tok.eot_token_id == tok.vocab_size - 1  # OpenCLIP's argmax pooling


def test_ladder_e_configs_match_the_packaged_tokenizer():
    names = list(ladder("e"))
    assert names == ["ladder-e-xxs", "ladder-e-xs", "ladder-e-s", "ladder-e-m", "ladder-e-l"]
    assert len(names) >= 4
    for name in names:
        assert model_config(name)["text_cfg"]["vocab_size"] == T.packaged_vocab_size(), name


def test_unknown_words_still_tokenize_through_bytes():
    tok = open_clip.get_tokenizer("ladder-e-xs")
    ids = tok(["zebra ünïcode"])[0]
    assert int((ids > 0).sum()) > 4 and int(ids.max()) < tok.vocab_size


@pytest.mark.slow
def test_packaged_file_is_current(tmp_path):
    """Rebuilding from the grammar gives the packaged merges (bump it when the vocabulary changes)."""
    T.build(tmp_path / "bpe.txt.gz")
    with gzip.open(tmp_path / "bpe.txt.gz", "rt") as new, gzip.open(T.EMBEDDED_BPE, "rt") as old:
        assert new.read() == old.read()
