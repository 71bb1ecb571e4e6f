"""Pick and open the ClickHouse adapter the settings ask for."""

from __future__ import annotations

from pathlib import Path

from faultline_core.settings import ClickHouseSettings
from faultline_core.storage.clickhouse.base import ClickHouse


def chdb_data_path(settings: ClickHouseSettings, data_dir: Path | None) -> Path:
    """Where chDB keeps its data: ``settings.chdb_path``, else ``<data_dir>/clickhouse``."""
    if settings.chdb_path is not None:
        return settings.chdb_path
    if data_dir is not None:
        return data_dir / "clickhouse"
    raise ValueError("chDB needs a data directory: set FAULTLINE_CLICKHOUSE_CHDB_PATH or data_dir")


async def connect_clickhouse(
    settings: ClickHouseSettings, data_dir: Path | None = None
) -> ClickHouse:
    """Open the configured adapter, connected to ``settings.database`` (created if missing).

    The adapters are imported lazily so a service that only uses one backend never loads
    the other's (large) library.
    """
    if settings.backend == "chdb":
        from faultline_core.storage.clickhouse.chdb import ChdbClickHouse

        return await ChdbClickHouse.open(chdb_data_path(settings, data_dir), settings.database)
    from faultline_core.storage.clickhouse.native import NativeClickHouse

    return await NativeClickHouse.connect(settings)
