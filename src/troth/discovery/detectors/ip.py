"""IP addresses (v4 and v6); a four-part version number is not an address."""

from __future__ import annotations

import ipaddress
import re

from troth.discovery.base import DETECTORS, Candidate, Rule

_VERSION = re.compile(r"(?<![a-z])(?:version|ver|build|release|firmware|sdk|oid)\W*$")


class IpDetector:
    name: str = "ip_address"
    entity: str = "IP_ADDRESS"
    category: str = "user.device.ip_address"
    context: tuple[str, ...] = ("ip", "address", "addr", "host", "client", "login from", "remote")
    rules: tuple[Rule, ...] = (
        Rule(
            "ip.v4",
            r"\d",
            r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
            r"(?![\w]|\.\d)",
            0.7,
        ),
        Rule(
            "ip.v6",
            r"0-9A-Fa-f:",
            r"(?<![\w:.])(?![0-2]?\d:[0-5]\d(?::[0-5]\d)?(?![\w:]))(?:[0-9A-Fa-f]{1,4}:|::?)"
            r"(?:[0-9A-Fa-f]{0,4}:){1,7}[0-9A-Fa-f]{0,4}"
            r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])",
            0.85,
            needs=(":",),
        ),
    )

    @staticmethod
    def validate(candidate: Candidate) -> float | None:
        value = candidate.value
        if candidate.rule.name == "ip.v4":
            before = candidate.before(12)
            if before.endswith(("v", "v.")) or _VERSION.search(before):
                return None
            return candidate.rule.confidence
        if value.count(":") < 2:
            return None
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            return None
        return candidate.rule.confidence


DETECTORS.add("ip_address", IpDetector())
