"""First-start bootstrap: the default organization, project, DSN key, admin user and token.

The result is written to ``$FAULTLINE_DATA_DIR/bootstrap.json`` (mode 600) so that scripts
and tests can read the DSN and API token; a restart reads it back and creates nothing.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from faultline_core.dsn import parse_dsn
from faultline_core.storage.postgres import tenancy

ADMIN_EMAIL = "admin@localhost"


@dataclass(frozen=True)
class Bootstrap:
    dsn: str
    api_token: str
    org: str
    project: str
    url: str
    admin_email: str
    admin_password: str


def _dsn(public_key: str, url: str, project_id: int) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{public_key}@{rest.rstrip('/')}/{project_id}"


async def ensure_bootstrap(pg_dsn: str, data_dir: Path, url: str) -> Bootstrap:
    """Create the defaults once; afterwards return what the first start recorded."""
    path = data_dir / "bootstrap.json"
    if path.exists():
        recorded = Bootstrap(**json.loads(path.read_text()))
        if recorded.url != url:  # the port or public URL changed since the first start
            recorded_dsn = parse_dsn(recorded.dsn)
            new_dsn = _dsn(recorded_dsn.public_key, url, int(recorded_dsn.project_id))
            recorded = Bootstrap(**{**asdict(recorded), "url": url, "dsn": new_dsn})
            _write(path, recorded)
        return recorded
    password = secrets.token_urlsafe(12)
    connect = psycopg.AsyncConnection.connect(pg_dsn, row_factory=dict_row)
    async with await connect as conn, conn.transaction():
        org_id = await tenancy.create_organization(conn, "default", "Default")
        project_id = await tenancy.create_project(conn, org_id, "default", "Default")
        key = await tenancy.create_project_key(conn, project_id)
        user_id = await tenancy.create_user(
            conn, ADMIN_EMAIL, password, org_id, role="owner", is_superuser=True
        )
        token = await tenancy.create_api_token(conn, user_id)
    result = Bootstrap(_dsn(key, url, project_id), token, "default", "default", url,
                       ADMIN_EMAIL, password)
    _write(path, result)
    return result


def _write(path: Path, bootstrap: Bootstrap) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(bootstrap), indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
