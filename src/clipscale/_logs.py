"""Logging around OpenCLIP, scoped: nothing here changes a logger's level, handlers or filters for good.

OpenCLIP logs through the root logger (`logging.warning(...)` in open_clip/factory.py), so its
notices cannot be silenced by a level on a logger of its own. Two helpers keep that contained:

- `quiet_openclip()`: drops OpenCLIP's expected "No pretrained weights loaded" notice (we load the
  weights ourselves just after, or count an architecture that needs none) and nothing else.
- `logging_restored()`: puts back the root handlers and every logger's level after code that
  reconfigures logging for the whole process (open_clip_train's main sets them all to INFO).
"""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

# What OpenCLIP logs when a model is built without weights (open_clip/factory.py, create_model).
NO_WEIGHTS_NOTICE = "No pretrained weights loaded"
_OPENCLIP_DIR = f"{os.sep}open_clip{os.sep}"


class _DropOpenclipNotices(logging.Filter):
    """Drops records logged from OpenCLIP's own source files whose message holds one of `texts`."""

    def __init__(self, texts: tuple[str, ...]):
        super().__init__()
        self.texts = texts

    def filter(self, record: logging.LogRecord) -> bool:
        if _OPENCLIP_DIR not in record.pathname:
            return True
        message = record.getMessage()
        return not any(text in message for text in self.texts)


@contextlib.contextmanager
def quiet_openclip(texts: tuple[str, ...] = (NO_WEIGHTS_NOTICE,)) -> Iterator[None]:
    """Within the block, OpenCLIP's notices containing `texts` are dropped; every other record passes.

    `logging.warning()` calls `basicConfig()` when the root logger has no handler, which would leave
    a stream handler on the root logger for good. While the block runs, a root logger without
    handlers gets `logging.lastResort` (what Python prints through anyway when there is none), so
    that does not happen and the other records still reach stderr as before.
    """
    root = logging.getLogger()
    drop = _DropOpenclipNotices(tuple(texts))
    borrowed = logging.lastResort if not root.handlers and logging.lastResort is not None else None
    root.addFilter(drop)
    if borrowed is not None:
        root.addHandler(borrowed)
    try:
        yield
    finally:
        root.removeFilter(drop)
        if borrowed is not None:
            root.removeHandler(borrowed)


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """Undo, on leaving the block, handlers added to the root logger and level changes of any logger."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    levels = {name: lg.level for name, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    root_level = root.level
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
            handler.close()
        for name, lg in list(logging.root.manager.loggerDict.items()):
            if isinstance(lg, logging.Logger):
                lg.setLevel(levels.get(name, logging.NOTSET))
        root.setLevel(root_level)
