"""The labelled corpus for the discovery benchmark (not a test): generator and loader.

Each text is a short support-desk, log or chat line built from templates; each holds zero to three
entities (e-mail, phone, card, IBAN, IP, SSN, NHS, DNI/NIE, BSN, birth date, street address,
postal code, person,
secrets and tokens, Google API shapes) mixed with look-alikes that are not entities: order and
ticket numbers, version and build strings, digit runs that fail Luhn, dates that are not birth
dates, UUIDs, hashes, times, amounts. The labels are the entities' exact spans. All data is
fictional (example.com addresses, 555 numbers, documentation IP ranges, generated check digits).

    .venv/bin/python bench/discovery_corpus.py            # writes bench/data/discovery_corpus.jsonl.gz
    .venv/bin/python bench/discovery_corpus.py --texts 12000 --seed 13

The generated file is kept in the repository; the same seed gives the same file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import string
from collections.abc import Callable
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "discovery_corpus.jsonl.gz"

Label = tuple[int, int, str]

# names: half from troth's shipped lists' kind of names, half from outside them
FIRST = [
    "Maria",
    "James",
    "Aisha",
    "Kenji",
    "Olga",
    "Pedro",
    "Emma",
    "Liam",
    "Fatima",
    "Noah",
    "Zuzana",
    "Tariq",
    "Ingrid",
    "Bongani",
    "Siobhan",
    "Anouk",
    "Matteo",
    "Yara",
]
LAST = [
    "Garcia",
    "Smith",
    "Khan",
    "Tanaka",
    "Petrov",
    "Silva",
    "Schmidt",
    "Murphy",
    "Jansen",
    "Okafor",
    "Lindqvist",
    "Haddad",
    "Novotny",
    "Brennan",
    "Dlamini",
    "Moretti",
]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "corp.example.co.uk"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
US_STATES = ["CA", "NY", "TX", "IL", "WA", "MA", "FL", "OR"]
TOWNS_US = ["Springfield", "Riverside", "Fairview", "Madison", "Georgetown"]
DNI = "TRWAGMYFPDXBNJZSQVHLCKE"


def luhn_digit(body: str) -> str:
    for d in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(body + d)):
            v = int(ch) * (2 if i % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            return d
    raise AssertionError


class Gen:
    def __init__(self, rng: random.Random) -> None:
        self.r = rng

    def digits(self, n: int) -> str:
        return "".join(self.r.choice(string.digits) for _ in range(n))

    # -- entities --
    def email(self) -> str:
        f, last = self.r.choice(FIRST).lower(), self.r.choice(LAST).lower()
        local = self.r.choice(
            [
                f"{f}.{last}",
                f"{f[0]}{last}",
                f"{f}_{last}{self.r.randint(1, 99)}",
                f"{f}+support",
                f"{last}.{f}",
            ]
        )
        return f"{local}@{self.r.choice(DOMAINS)}"

    def phone(self) -> str:
        area = self.r.choice(["202", "212", "312", "415", "617", "303", "206"])
        line = f"01{self.r.randint(0, 9)}{self.r.randint(0, 9)}"
        return self.r.choice(
            [
                f"({area}) 555-{line}",
                f"+1 {area} 555 {line}",
                f"{area}-555-{line}",
                f"{area}.555.{line}",
                f"+44 20 7946 0{self.digits(3)}",
                f"020 7946 0{self.digits(3)}",
                f"+49 30 901820{self.digits(2)}",
            ]
        )

    def card(self) -> str:
        kind = self.r.choice(["visa", "visa", "mc", "amex", "disc"])
        if kind == "amex":
            body = self.r.choice(["34", "37"]) + self.digits(12)
        elif kind == "mc":
            body = str(self.r.randint(51, 55)) + self.digits(13)
        elif kind == "disc":
            body = "6011" + self.digits(11)
        else:
            body = "4" + self.digits(14)
        n = body + luhn_digit(body)
        style = self.r.choice(["space", "dash", "plain"])
        parts = (
            [n[:4], n[4:10], n[10:]] if len(n) == 15 else [n[i : i + 4] for i in range(0, 16, 4)]
        )
        return {"space": " ".join(parts), "dash": "-".join(parts), "plain": n}[style]

    def iban(self) -> str:
        country, n = self.r.choice([("DE", 18), ("GB", 18), ("FR", 23), ("NL", 14), ("ES", 20)])
        if country == "GB":
            bban = self.r.choice(["WEST", "NWBK", "BARC"]) + self.digits(14)
        elif country == "NL":
            bban = self.r.choice(["ABNA", "INGB", "RABO"]) + self.digits(10)
        else:
            bban = self.digits(n)
        num = "".join(str(int(c, 36)) for c in bban + country + "00")
        iban = f"{country}{98 - int(num) % 97:02d}{bban}"
        if self.r.random() < 0.5:
            iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
        return iban

    def ip(self) -> str:
        if self.r.random() < 0.75:
            net = self.r.choice(["192.0.2", "198.51.100", "203.0.113", "10.20.30", "172.16.5"])
            return f"{net}.{self.r.randint(1, 254)}"
        return f"2001:db8:{self.r.randint(1, 0xFFFF):x}::{self.r.randint(1, 0xFFFF):x}"

    def ssn(self) -> str:
        area = self.r.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}-{self.r.randint(1, 99):02d}-{self.r.randint(1, 9999):04d}"

    def nhs(self) -> str:
        while True:
            body = self.digits(9)
            total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
            check = (11 - total % 11) % 11
            if check != 10:
                n = body + str(check)
                return f"{n[:3]} {n[3:6]} {n[6:]}"

    def dni(self) -> str:
        if self.r.random() < 0.7:
            n = self.digits(8)
            return n + DNI[int(n) % 23]
        p = self.r.choice("XYZ")
        n = self.digits(7)
        return p + n + DNI[int(str("XYZ".index(p)) + n) % 23]

    def bsn(self) -> str:
        while True:
            b = self.digits(8)
            total = sum(int(d) * w for d, w in zip(b, range(9, 1, -1), strict=True))
            for last in range(10):
                if (total - last) % 11 == 0 and b[0] != "0":
                    return b + str(last)

    def dob(self) -> str:
        y, m, d = self.r.randint(1940, 2005), self.r.randint(1, 12), self.r.randint(1, 28)
        return self.r.choice(
            [
                f"{y}-{m:02d}-{d:02d}",
                f"{d:02d}/{m:02d}/{y}",
                f"{d} {MONTHS[m - 1]} {y}",
                f"{MONTHS[m - 1]} {d}, {y}",
            ]
        )

    def person(self) -> str:
        return f"{self.r.choice(FIRST)} {self.r.choice(LAST)}"

    def secret(self) -> tuple[str, str]:
        alnum = string.ascii_letters + string.digits
        k = self.r.choice(["aws", "gh", "stripe", "gkey"])
        body = {
            "aws": "AKIA"
            + "".join(self.r.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
            "gh": "ghp_" + "".join(self.r.choice(alnum) for _ in range(36)),
            "stripe": "sk_live_" + "".join(self.r.choice(alnum) for _ in range(24)),
            "gkey": "AIza" + "".join(self.r.choice(alnum + "_-") for _ in range(35)),
        }[k]
        return body, "SECRET"

    def token(self) -> tuple[str, str]:
        alnum = string.ascii_letters + string.digits
        if self.r.random() < 0.5:
            return "ya29." + "".join(self.r.choice(alnum + "_-") for _ in range(60)), "OAUTH_TOKEN"
        return "1//0" + "".join(
            self.r.choice(alnum + "_-") for _ in range(40)
        ), "GOOGLE_REFRESH_TOKEN"

    def gmail_id(self) -> str:
        return "1" + "".join(self.r.choice("0123456789abcdef") for _ in range(15))

    def contact(self) -> str:
        return "people/c" + self.digits(19)

    def event_id(self) -> str:
        chars = "abcdefghijklmnopqrstuv0123456789"
        while True:
            e = "".join(self.r.choice(chars) for _ in range(26))
            if sum(c.isdigit() for c in e) >= 3 and any(c.isalpha() for c in e):
                return e

    # -- look-alikes (never labelled) --
    def lookalike(self) -> str:
        r = self.r
        bad_card = "4" + self.digits(14)
        bad_card += str((int(luhn_digit(bad_card)) + 1) % 10)
        return r.choice(
            [
                f"order #{r.randint(2019, 2025)}-{self.digits(6)}",
                f"ORD-{self.digits(8)}",
                f"ticket INC{self.digits(7)}",
                f"v{r.randint(1, 12)}.{r.randint(0, 30)}.{r.randint(0, 99)}",
                f"version {r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 99)}",
                f"build 10.0.{self.digits(5)}.{self.digits(4)}",
                f"ref {bad_card[:4]} {bad_card[4:8]} {bad_card[8:12]} {bad_card[12:]}",
                f"invoice date {r.randint(2019, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                f"shipped on {r.randint(1, 28):02d}/{r.randint(1, 12):02d}/{r.randint(2019, 2025)}",
                f"request {self.uuid()}",
                f"commit {''.join(r.choice('0123456789abcdef') for _ in range(40))}",
                f"at {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
                f"total {r.randint(1, 9)},{self.digits(3)}.{self.digits(2)} EUR",
                f"tracking {self.digits(22)}",
                f"SKU {self.digits(9)}",
                f"batch {self.digits(10)}",
                f"qty {r.randint(1, 500)}",
                f"room {r.randint(100, 999)}",
            ]
        )

    def uuid(self) -> str:
        h = "".join(self.r.choice("0123456789abcdef") for _ in range(32))
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# (template, slots): a slot is a labelled entity {E:kind} or a look-alike {L}
TEMPLATES = [
    "Hi, I can't log in. My e-mail is {E:email} and my {L} did not arrive.",
    "Please call me back on {E:phone} about {L}.",
    "Customer wrote: card {E:card} was charged twice for {L}.",
    "Refund to IBAN {E:iban} please, see {L}.",
    "Failed login for account from {E:ip} ({L}).",
    "Applicant SSN {E:ssn}, {L}.",
    "Patient NHS number {E:nhs} registered, {L}.",
    "DNI {E:dni} verified by the agent; {L}.",
    "BSN {E:bsn} on file for payroll, {L}.",
    "Date of birth: {E:dob}. Account created after {L}.",
    "I was born on {E:dob} and need to update my profile.",
    "Ship to {E:street_gb}, London {E:postal_gb}. {L}",
    "Mailing address: {E:street_us}, {E:postal_us_town}, {E:postal_us}. {L}",
    "{E:street_de}, {E:postal_de} Berlin; {L}",
    "{E:street_nl}, {E:postal_nl} Amsterdam. {L}",
    "Dear {E:person}, your {L} is ready.",
    "Escalated by {E:person} after {L}.",
    "Thanks, {E:person}",
    "Deploy log: key {E:secret} leaked in {L}, rotate now.",
    "Authorization header had {E:token} on {L}.",
    "Synced gmail message {E:gmail_id} to cache ({L}).",
    "Contact {E:contact} imported from Google.",
    "Calendar event {E:event_id} moved; {L}.",
    "Contact {E:email} or {E:phone} for {L}.",
    "Card {E:card}, billing IP {E:ip}, {L}.",
    "User {E:person} ({E:email}) asked about {L}.",
    "Nothing personal here: {L} and {L}.",
    "Status update: {L}; {L}; all fine.",
    "The printer on floor 3 is broken again since {L}.",
    "Please reset the VPN, error {L}.",
    "Invoice {L} paid, {L}.",
    "Thread with {E:email}: can you resend {L}?",
    "Whitelist {E:ip} and {E:ip} for the office.",
    "SEPA transfer from {E:iban} received ({L}).",
    "New phone number: {E:phone}",
    "Customer's DOB {E:dob}, SSN {E:ssn}.",
]

ENTITY = {
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "card": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "ip": "IP_ADDRESS",
    "ssn": "US_SSN",
    "nhs": "UK_NHS",
    "dni": "ES_NIF",
    "bsn": "NL_BSN",
    "dob": "DATE_OF_BIRTH",
    "postal_gb": "POSTAL_CODE",
    "postal_us": "POSTAL_CODE",
    "postal_de": "POSTAL_CODE",
    "postal_nl": "POSTAL_CODE",
    "person": "PERSON",
    "street_gb": "STREET_ADDRESS",
    "street_us": "STREET_ADDRESS",
    "street_de": "STREET_ADDRESS",
    "street_nl": "STREET_ADDRESS",
    "gmail_id": "GMAIL_ID",
    "contact": "GOOGLE_CONTACT",
    "event_id": "GOOGLE_CALENDAR_EVENT",
}


def fill(g: Gen, template: str) -> tuple[str, list[Label]]:
    out: list[str] = []
    labels: list[Label] = []
    pos = 0
    rest = template
    state = ""
    while "{" in rest:
        head, _, tail = rest.partition("{")
        slot, _, rest = tail.partition("}")
        out.append(head)
        pos += len(head)
        if slot == "L":
            value, entity = g.lookalike(), None
        else:
            kind = slot[2:]
            entity = ENTITY.get(kind)
            if kind == "postal_us":
                state = g.r.choice(US_STATES)
            makers: dict[str, Callable[[], str]] = {
                "postal_gb": lambda: g.r.choice(
                    ["SW1A 2AA", "EC1A 1BB", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX"]
                ),
                "postal_us": lambda st=state: (  # type: ignore[misc]
                    f"{st} {g.digits(5)}"
                    if g.r.random() < 0.7
                    else f"{st} {g.digits(5)}-{g.digits(4)}"
                ),
                "postal_us_town": lambda: g.r.choice(TOWNS_US),
                "street_gb": lambda: (
                    f"{g.r.randint(1, 250)}{g.r.choice(['', 'A', 'B'])} "
                    f"{g.r.choice(['Baker', 'High', 'Church', 'Station', 'Victoria'])} "
                    f"{g.r.choice(['Street', 'Road', 'Lane'])}"
                ),
                "street_us": lambda: (
                    f"{g.r.randint(1, 9999)} {g.r.choice(['Main', 'Oak', 'Maple', 'Cedar', 'Elm'])} "
                    f"{g.r.choice(['St', 'Ave', 'Blvd', 'Dr'])}"
                ),
                "street_de": lambda: (
                    f"{g.r.choice(['Haupt', 'Bahnhof', 'Schiller', 'Goethe', 'Linden'])}"
                    f"{g.r.choice(['straße', 'weg', 'allee'])} {g.r.randint(1, 200)}"
                ),
                "street_nl": lambda: (
                    f"{g.r.choice(['Keizers', 'Heren', 'Prinsen'])}"
                    f"{g.r.choice(['gracht', 'straat'])} {g.r.randint(1, 400)}"
                ),
                "postal_de": lambda: f"{g.r.randint(10, 99)}{g.digits(3)}",
                "postal_nl": lambda: (
                    f"{g.r.randint(1000, 9999)} {g.r.choice(['AB', 'CJ', 'KL', 'TV', 'XP'])}"
                ),
            }
            if kind in ("secret", "token"):
                value, entity = g.secret() if kind == "secret" else g.token()
            elif kind in makers:
                value = makers[kind]()
            else:
                value = getattr(g, kind)()
            if kind == "postal_us":  # the label is the ZIP, not the state before it
                out.append(value[:3])
                pos += 3
                value = value[3:]
            if kind == "postal_us_town":
                entity = None
        out.append(value)
        if entity:
            labels.append((pos, pos + len(value), entity))
        pos += len(value)
    out.append(rest)
    return "".join(out), labels


def generate(n: int, seed: int) -> list[dict[str, object]]:
    g = Gen(random.Random(seed))
    rows: list[dict[str, object]] = []
    for _ in range(n):
        text, labels = fill(g, g.r.choice(TEMPLATES))
        rows.append({"text": text, "spans": [list(x) for x in labels]})
    return rows


def load(path: Path = CORPUS) -> list[tuple[str, list[Label]]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [
            (row["text"], [(int(a), int(b), str(e)) for a, b, e in row["spans"]])
            for row in map(json.loads, f)
        ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", type=Path, default=CORPUS)
    args = ap.parse_args()
    rows = generate(args.texts, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same seed gives the same bytes
    with open(args.out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
    entities = sum(len(r["spans"]) for r in rows)  # type: ignore[arg-type]
    print(f"{len(rows)} texts, {entities} labelled entities -> {args.out}")


if __name__ == "__main__":
    main()
