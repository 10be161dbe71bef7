"""The privacy centre's state: one-time codes, the requests it filed, rate limits, tokens.

The pages live in :mod:`troth.web.centre`; this package holds what they keep in troth's state DB
(tables created by migration ``0006``) and never imports the web layer. Identity values and contact
addresses are stored only encrypted (:mod:`troth.centre.crypto`); codes only as keyed hashes.
"""

from __future__ import annotations
