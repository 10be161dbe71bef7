"""Secrets and tokens: cloud and SaaS keys of known shapes, OAuth access tokens, JWTs, private
keys, and ``password=...``-style assignments of a value that looks random."""

from __future__ import annotations

from troth.discovery.base import DETECTORS, Candidate, Rule

_TOKEN = "OAUTH_TOKEN"


class SecretDetector:
    name: str = "secret"
    entity: str = "SECRET"
    category: str = "system.authentication"
    context: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = (
        Rule(
            "secret.private_key",
            r"-",
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY-----",
            0.99,
            needs=("-----begin ",),
        ),
        Rule(
            "secret.aws_key",
            r"A",
            r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])",
            0.95,
            needs=("akia", "asia"),
        ),
        Rule(
            "secret.github",
            r"g",
            r"(?<![\w])gh[pousr]_[A-Za-z0-9]{36,255}(?![\w])",
            0.95,
            needs=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        ),
        Rule(
            "secret.slack",
            r"x",
            r"(?<![\w])xox[abprs]-[A-Za-z0-9-]{10,72}(?![\w])",
            0.9,
            needs=("xox",),
        ),
        Rule(
            "secret.stripe",
            r"rs",
            r"(?<![\w])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,99}(?![\w])",
            0.95,
            needs=("_live_", "_test_"),
        ),
        Rule(
            "secret.google_api_key",
            r"A",
            r"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])",
            0.95,
            needs=("aiza",),
        ),
        Rule(
            "secret.google_access_token",
            r"y",
            r"(?<![\w.])ya29\.[0-9A-Za-z_-]{20,}(?![\w-])",
            0.95,
            needs=("ya29.",),
            entity=_TOKEN,
        ),
        Rule(
            "secret.jwt",
            r"e",
            r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?![\w-])",
            0.9,
            needs=("eyj",),
            entity=_TOKEN,
        ),
        Rule(
            "secret.assignment",
            r"A-Za-z",
            r"(?<![\w])(?i:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token"
            r"|client[_-]?secret)\s*[:=]\s*[\"']?([^\s\"',;]{8,128})",
            0.75,
            group=True,
            needs=("passw", "pwd", "secret", "key", "token"),
        ),
    )

    @staticmethod
    def validate(candidate: Candidate) -> float | None:
        if candidate.rule.name != "secret.assignment":
            return candidate.rule.confidence
        value = candidate.value
        kinds = (
            any(c.islower() for c in value)
            + any(c.isupper() for c in value)
            + any(c.isdigit() for c in value)
            + any(not c.isalnum() for c in value)
        )
        if kinds < 3 or len(set(value)) < 6:  # a word, not a secret
            return None
        return candidate.rule.confidence


DETECTORS.add("secret", SecretDetector())
