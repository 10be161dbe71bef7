"""Sharing: what the policy lets leave, to whom, for which purpose, and the register of what did.

>>> gw = Gateway.from_project("examples/plus", settings)
>>> gw.disclose("courier_service", "courier_delivery", row, table="plus.crm_contacts").fields
{'street': '...', 'city': '...', 'zip': '...', 'country': '...'}

Every disclosure is minimised by the policy (the recipient's and the purpose's categories), refused
when the policy does not declare the recipient, the purpose for it, or (for an authority) a legal
request, and written to the disclosure register, each batch sealed by one audit ledger entry.

The names below load lazily: ``troth.store.models`` imports :mod:`troth.sharing.models`, so this
package must not import the store (or the ledger) when it is first imported.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Disclosure": "gateway",
    "Gateway": "gateway",
    "LegalRequest": "rules",
    "LegalRequests": "legal",
    "Rule": "rules",
    "Rules": "rules",
    "DisclosedTo": "register",
    "disclosed_to": "register",
    "verify_register": "register",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'troth.sharing' has no attribute {name!r}")
    return getattr(import_module(f"troth.sharing.{module}"), name)
