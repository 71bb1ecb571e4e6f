"""``python -m faultline_allinone``: the whole product in one process (``make run``)."""

from __future__ import annotations

import asyncio
import logging

from faultline_allinone.server import AllInOneSettings, serve
from faultline_core.settings import AppSettings


def main() -> None:
    app_settings = AppSettings()
    logging.basicConfig(
        level=app_settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(serve(app_settings, AllInOneSettings()))


if __name__ == "__main__":
    main()
