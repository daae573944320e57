"""analysis_lib: the shared library of the e-commerce operations workbook.

Layers, top to bottom (ARCHITECTURE.md; `lint-imports` keeps them): ``run`` (CLI, runner, index,
kernels), ``present`` (words, numbers, tables, charts, narrative), ``params`` (schemas),
``analyses`` (computation only), ``core`` (data, metrics, quality). ``sample`` generates the sample
shop and stands apart; ``errors`` is shared by all.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ecommerce-ops-workbook")
except PackageNotFoundError:  # pragma: no cover - run from a source tree without installing
    __version__ = "0.0.0+unknown"
