"""The sample shop generator (``workbook sample-data``): :mod:`.sample_data` writes the canonical
tables with planted effects and truth.json; :mod:`.cdnow` converts the CDNOW data sets. Nothing in
core, analyses, params or present imports it (import-linter contract): only the CLI and tests."""
