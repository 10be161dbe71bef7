"""Routers of troth serve's REST API, one module per concept (``/api/v1/...``)."""
