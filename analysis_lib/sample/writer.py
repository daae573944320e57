"""Writing the tables: one Parquet file per small table, a folder of parts for the tables of users
simulated in chunks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class Writer:
    """Writes tables as folders of Parquet parts (one part per chunk), so scale ``l`` never holds
    more than one chunk of events in memory."""

    def __init__(self, out: Path):
        self.out = out
        self.parts: dict[str, int] = {}

    def write(self, name: str, table: pa.Table | pd.DataFrame, chunked: bool) -> None:
        if isinstance(table, pd.DataFrame):
            table = pa.Table.from_pandas(table, preserve_index=False)
        if not chunked:
            pq.write_table(table, self.out / f"{name}.parquet")
            return
        d = self.out / name
        d.mkdir(exist_ok=True)
        i = self.parts.get(name, 0)
        pq.write_table(table, d / f"part-{i:05d}.parquet")
        self.parts[name] = i + 1
