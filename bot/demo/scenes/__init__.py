"""Demo scenes, played in order of their module names (``NN_feature.py``) and numbered 1, 2,
3… in that order when shown (a new scene between two others needs no renumbering).

Each module has ``TITLE`` (without a number) and ``async def play(demo)``; every feature adds
its scene. The server is seeded before the first one (:mod:`bot.demo.seed`).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def scenes() -> list[ModuleType]:
    names = sorted(info.name for info in pkgutil.iter_modules(__path__)
                   if not info.name.startswith("_"))
    return [importlib.import_module(f"{__name__}.{name}") for name in names]
