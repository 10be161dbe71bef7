"""The gateway :func:`troth.disclose` uses: one per process, for the project and settings of the
environment (``TROTH_PROJECT``, default the current folder; ``TROTH_DATABASE_URL``...)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from troth.config import Settings
from troth.sharing.gateway import Gateway

_lock = threading.Lock()
_gateways: dict[tuple[str, str], Gateway] = {}


def default_gateway() -> Gateway:
    """The gateway of the environment's project and state database (built once per process)."""
    settings = Settings.from_env()
    project = str(Path(os.environ.get("TROTH_PROJECT") or ".").resolve())
    key = (project, str(settings.database_url))
    with _lock:
        gw = _gateways.get(key)
        if gw is None:
            gw = _gateways[key] = Gateway.from_project(project, settings)
        return gw
