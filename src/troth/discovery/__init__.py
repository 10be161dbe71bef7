"""Discovery: find personal data (and secrets, and restricted-source data) in text and stores.

* :mod:`troth.discovery.base`: the :class:`Detector` protocol, :class:`Rule`, :class:`Span` and
  the ``DETECTORS`` registry;
* :mod:`troth.discovery.engine`: the :class:`Scanner` (one compiled pass for all detectors);
* :mod:`troth.discovery.detectors`: the built-in detectors, one per module.
"""

from troth.discovery.base import DETECTORS, Candidate, Detector, Rule, Span
from troth.discovery.engine import Scanner, default_scanner, scan

__all__ = [
    "DETECTORS",
    "Candidate",
    "Detector",
    "Rule",
    "Scanner",
    "Span",
    "default_scanner",
    "scan",
]
