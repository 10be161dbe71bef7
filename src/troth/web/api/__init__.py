"""Routers of troth's server-to-server API (one module per resource)."""
