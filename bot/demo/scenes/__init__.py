"""Demo scenes, played in order of their module names (``NN_feature.py``).

Each module has ``TITLE`` and ``async def play(demo)``; every feature adds its scene.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def scenes() -> list[ModuleType]:
    names = sorted(info.name for info in pkgutil.iter_modules(__path__)
                   if not info.name.startswith("_"))
    return [importlib.import_module(f"{__name__}.{name}") for name in names]
