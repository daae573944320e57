"""A module imported at its first use: ``stats = lazy("scipy.stats")`` at the top of a module that
needs scipy in some of its functions only.

A report that imports such a module but never calls those functions (the KPI monitor without an
``alerts:`` section) then does not pay for the import: scipy.stats and statsmodels.api take one
to two seconds of a cold kernel (issue 20; tests/test_import_path.py). Same effect as importing
inside each function, without repeating the import in every function that uses it.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class lazy:  # noqa: N801 - used like the module it stands for
    """Stands for module ``name``; imports it when an attribute is first asked for."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{'' if self._module is None else ' (imported)'}>"
