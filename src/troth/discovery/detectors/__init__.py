"""The built-in detectors, one per module; importing this package registers them."""

from troth.discovery.detectors import (
    address,
    card,
    dob,
    email,
    google,
    iban,
    ip,
    national_id,
    person_name,
    phone,
    postal,
    secrets,
)

__all__ = [
    "address",
    "card",
    "dob",
    "email",
    "google",
    "iban",
    "ip",
    "national_id",
    "person_name",
    "phone",
    "postal",
    "secrets",
]
