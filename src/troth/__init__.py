"""troth: privacy policy as code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from troth.sharing.gateway import Disclosure

__version__ = "0.1.0"
__all__ = ["__version__", "disclose"]


def disclose(recipient: str, purpose: str, record: Any, **options: Any) -> Disclosure:
    """The part of *record* the policy lets *recipient* receive for *purpose*, registered.

    Uses the project in ``TROTH_PROJECT`` (default: the current folder) and troth's settings from
    the environment; options are those of :meth:`troth.sharing.Gateway.disclose` (``table``,
    ``subject``, ``legal_request``, ``actor``). Raises
    :class:`~troth.errors.DisclosureRefusedError` when the policy refuses.
    """
    from troth.sharing.default import default_gateway

    return default_gateway().disclose(recipient, purpose, record, **options)
