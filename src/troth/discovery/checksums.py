"""Check digits used by the detectors: Luhn, ISO 7064 mod 97-10, mod 11."""

from __future__ import annotations


def digits_of(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def luhn_ok(number: str) -> bool:
    """The Luhn check (payment cards, some national ids); ``number`` holds digits only."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    s = "".join(iban.split()).upper()
    if len(s) < 15 or not s.isalnum():
        return False
    return int((s[4:] + s[:4]).translate(_BASE36)) % 97 == 1


#: IBAN letters to their numbers (A -> 10 ... Z -> 35), digits unchanged
_BASE36 = str.maketrans({chr(65 + i): str(10 + i) for i in range(26)})


def nhs_ok(number: str) -> bool:
    """UK NHS number: 10 digits, weights 10..2, check = 11 - sum mod 11 (10 is invalid)."""
    if len(number) != 10:
        return False
    total = sum(int(d) * w for d, w in zip(number[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(number[9])


def bsn_ok(number: str) -> bool:
    """Dutch BSN: 9 digits, the 'elfproef' (weights 9..2 and -1) divisible by 11."""
    if len(number) != 9 or number == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(number[:8], range(9, 1, -1), strict=True))
    total -= int(number[8])
    return total % 11 == 0


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_ok(value: str) -> bool:
    """Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter): the letter is the
    number mod 23 in a fixed table."""
    s = value.upper().replace("-", "").replace(" ", "")
    if len(s) != 9:
        return False
    head = s[:8]
    if head[0] in "XYZ":
        head = str("XYZ".index(head[0])) + head[1:]
    if not head.isdigit():
        return False
    return _DNI_LETTERS[int(head) % 23] == s[8]


def ssn_ok(number: str) -> bool:
    """US SSN rules (no check digit): area not 000, 666 or 9xx; group not 00; serial not 0000."""
    if len(number) != 9:
        return False
    area, group, serial = number[:3], number[3:5], number[5:]
    return area not in {"000", "666"} and area[0] != "9" and group != "00" and serial != "0000"
