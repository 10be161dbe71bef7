"""Masking strategies: null, redact, hash (keyed HMAC), fake (format-preserving), delete_row.

Each is a plug-in in :data:`MASKING`; ``MASKING.get(name)`` fails with the list of valid names.
"""

from troth.masking import delete_row, fake, hash, null, redact
from troth.masking.base import MASKING, MaskContext, MaskStrategy, hmac_hex, hmac_pads
from troth.masking.hash import install_sqlite_functions

__all__ = [
    "MASKING",
    "MaskContext",
    "MaskStrategy",
    "delete_row",
    "fake",
    "hash",
    "hmac_hex",
    "hmac_pads",
    "install_sqlite_functions",
    "null",
    "redact",
]
