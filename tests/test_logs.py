"""clipscale._logs: OpenCLIP's expected notices are dropped, nothing else, and logging is left as found."""
from __future__ import annotations

import logging

from clipscale._logs import NO_WEIGHTS_NOTICE, logging_restored, quiet_openclip


def _state(root: logging.Logger):
    return list(root.handlers), list(root.filters), root.level


def test_quiet_openclip_drops_only_openclip_notices_and_restores_the_root(caplog):
    import open_clip

    root = logging.getLogger()
    before = _state(root)
    with caplog.at_level(logging.WARNING), quiet_openclip():
        open_clip.create_model("RN50", device="meta")
        logging.warning("%s for an unrelated reason", NO_WEIGHTS_NOTICE)  # not OpenCLIP's: kept
        logging.getLogger("clipscale.x").warning("kept too")
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if m.startswith(NO_WEIGHTS_NOTICE + " for model")]
    assert f"{NO_WEIGHTS_NOTICE} for an unrelated reason" in messages and "kept too" in messages
    assert _state(root) == before
    with caplog.at_level(logging.WARNING):  # outside the block OpenCLIP's notice shows again
        open_clip.create_model("RN50", device="meta")
    assert any(r.getMessage().startswith(NO_WEIGHTS_NOTICE) for r in caplog.records)


def test_no_basicconfig_left_behind_when_the_root_has_no_handler(capfd):
    """logging.warning() with no root handler calls basicConfig(), which would stay for good."""
    import open_clip

    root = logging.getLogger()
    saved = list(root.handlers)
    for h in saved:
        root.removeHandler(h)
    try:
        with quiet_openclip():
            open_clip.create_model("RN50", device="meta")
            logging.warning("still shown")
        assert root.handlers == []
        err = capfd.readouterr().err
        assert "still shown" in err and NO_WEIGHTS_NOTICE not in err
    finally:
        for h in saved:
            root.addHandler(h)


def test_logging_restored_undoes_levels_and_root_handlers():
    root, lib = logging.getLogger(), logging.getLogger("clipscale.some.module")
    before, lib_level = _state(root), lib.level
    with logging_restored():
        root.addHandler(logging.NullHandler())
        root.setLevel(logging.DEBUG)
        lib.setLevel(logging.INFO)
    assert _state(root) == before and lib.level == lib_level
