"""One module per report: its sections (cards, tables, charts) from typed results."""
