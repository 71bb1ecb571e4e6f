"""Run the web gateway on its own: ``python -m faultline_web``.

Settings come from the environment (``FAULTLINE_WEB_*``, ``FAULTLINE_PG_*``, ``FAULTLINE_*``).
"""

from __future__ import annotations

import logging

import uvicorn

from faultline_core.http_protocol import BoundedHeadHttpToolsProtocol
from faultline_core.settings import AppSettings, BlobStoreSettings, PostgresSettings, WebSettings
from faultline_web.app import create_app


def main() -> None:
    app_settings = AppSettings()
    logging.basicConfig(
        level=app_settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    web = WebSettings()
    app = create_app(web, app_settings, PostgresSettings(), BlobStoreSettings())
    uvicorn.run(app, host=web.host, port=web.port, log_level=app_settings.log_level.lower(),
                proxy_headers=True, http=BoundedHeadHttpToolsProtocol)


if __name__ == "__main__":
    main()
