"""Connection names: a data map names its stores; the URLs (with passwords) live elsewhere.

A name ``crm_db`` resolves, in order, to

1. the environment variable ``TROTH_CONN_CRM_DB``;
2. ``connections: {crm_db: URL}`` in the troth config file: ``TROTH_CONFIG`` or ``./troth.yaml``
   (keep that file out of version control, or put ``${ENV_VAR}`` references in it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from troth.connectors.base import Connector, connect
from troth.errors import ConfigError
from troth.policy.yamlsrc import read_yaml

ENV_PREFIX = "TROTH_CONN_"
CONFIG_FILE = "troth.yaml"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def env_var(name: str) -> str:
    """``crm-db`` -> ``TROTH_CONN_CRM_DB``."""
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def resolve_connection(name: str, env: Mapping[str, str] | None = None) -> str:
    """The URL of connection ``name`` (from the environment or the config file)."""
    env = os.environ if env is None else env
    url = env.get(env_var(name))
    if url:
        return url
    known = _config_connections(env)
    if name in known:
        return _ENV_REF.sub(lambda m: env.get(m.group(1), ""), known[name])
    names = sorted(
        {k[len(ENV_PREFIX) :].lower() for k in env if k.startswith(ENV_PREFIX)} | set(known)
    )
    raise ConfigError(
        f"connection {name!r} is not configured"
        + (f" (configured: {', '.join(names)})" if names else ""),
        where="environment",
        fix=f"set {env_var(name)} to its URL, or add it under `connections:` in {CONFIG_FILE}",
    )


def open_connection(name: str, env: Mapping[str, str] | None = None) -> Connector:
    """Resolve and open connection ``name``; messages carry the name, never the URL."""
    return connect(resolve_connection(name, env), name)


def _config_connections(env: Mapping[str, str]) -> dict[str, str]:
    path = Path(env.get("TROTH_CONFIG") or CONFIG_FILE)
    if not path.is_file():
        return {}
    data, smap = read_yaml(path)
    conns = data.get("connections") if isinstance(data, dict) else None
    if conns is None:
        return {}
    if not isinstance(conns, dict) or not all(isinstance(v, str) for v in conns.values()):
        raise ConfigError(
            "`connections:` must map names to URLs",
            where=smap.at(("connections",)),
            fix="write `connections:` then one `name: URL` line per store",
        )
    return {str(k): str(v) for k, v in conns.items()}
