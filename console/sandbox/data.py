"""Deterministic, realistic seed data: the same seed always gives the same portal."""
from __future__ import annotations

import random

from .schema import CURRENCIES, LEAD_STATUS, LIFECYCLE, PIPELINES, SOURCES

# Fixed reference instant (2026-01-01T00:00:00Z): data must not depend on when it is generated.
BASE_MS = 1_767_225_600_000
DAY_MS = 86_400_000

FIRST = ["Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Lucas", "Mia", "Levi",
         "Isabella", "Mateo", "Charlotte", "Ethan", "Harper", "Aiden", "Chloé", "Zoë", "Jürgen", "Siobhán", "Priya",
         "Wei", "Fatima", "Mohammed", "Aarav", "Yuki", "Kwame", "Nadia", "José", "Anaïs"]
LAST = ["Smith", "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Wilson", "MacDonald", "Taylor", "Brown",
        "Martin", "Lee", "Patel", "Nguyen", "O'Brien", "García", "Müller", "Singh", "Chen", "Kowalski", "Dubois",
        "Johnson", "Williams", "Anderson", "Thompson", "Lavoie", "Fortin", "Morin"]
COMPANIES = ["Northwind Dental", "Maple Ridge Legal", "Lakeside Physio", "Harbour Accounting", "Prairie Solar",
             "Summit Realty", "Bluewater Clinics", "Cedar & Pine Law", "Granite Builders", "Aurora Vet Care",
             "Riverbend Optometry", "Evergreen Wealth", "Northern Lights Spa", "Coastal Roofing", "Metro Movers"]
DOMAINS = ["example.com", "mail.example.org", "example.net", "clinic.example.ca"]
CITIES = ["Toronto", "Montréal", "Vancouver", "Calgary", "Ottawa", "Halifax", "Winnipeg", "Boston", "Seattle"]
TITLES = ["Office Manager", "Owner", "Practice Lead", "Operations Director", "Receptionist", "Partner", "CFO"]
INDUSTRIES = ["HEALTH_WELLNESS_AND_FITNESS", "LEGAL_SERVICES", "ACCOUNTING", "REAL_ESTATE", "CONSTRUCTION"]

OWNERS = [
    ("5001", "Dana", "Whitfield", "dana.whitfield@agency.example.com", "PERSON"),
    ("5002", "Marco", "Bellini", "marco.bellini@agency.example.com", "PERSON"),
    ("5003", "Aisha", "Rahman", "aisha.rahman@agency.example.com", "PERSON"),
    ("5004", "Tom", "Okafor", "tom.okafor@agency.example.com", "PERSON"),
    ("5005", "Inbound", "Queue", "inbound.queue@agency.example.com", "QUEUE"),
]


def _ascii(text: str) -> str:
    return text.lower().replace("'", "").translate(str.maketrans("éèëêüöïôçñíóáàzã", "eeeeuoiocnioaaza"))


def phone(rng: random.Random) -> str:
    a, b, c = rng.randint(200, 989), rng.randint(200, 999), rng.randint(0, 9999)
    style = rng.randrange(6)
    return [f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"+1 {a} {b} {c:04d}", f"{a}.{b}.{c:04d}",
            f"1{a}{b}{c:04d}", f"{a} {b} {c:04d} ext. {rng.randint(1, 99)}"][style]


def email(rng: random.Random, first: str, last: str, n: int) -> str:
    roll = rng.random()
    local = f"{_ascii(first)}.{_ascii(last)}{n % 97 or ''}"
    if roll < 0.03:
        return rng.choice([f"{local}@", f"{local}example.com", f"{local}@@example.com", f" {local}@example"])
    if roll < 0.06:
        return f"  {local.title()}@{rng.choice(DOMAINS).upper()} "  # mixed case, stray spaces
    return f"{local}@{rng.choice(DOMAINS)}"


def _times(rng: random.Random) -> tuple[int, int]:
    created = BASE_MS - rng.randint(1, 300) * DAY_MS - rng.randint(0, DAY_MS)
    modified = min(BASE_MS, created + rng.randint(0, 60) * DAY_MS + rng.randint(0, DAY_MS))
    return created, modified


def _next_activity(rng: random.Random) -> int | None:
    roll = rng.random()
    if roll < 0.35:
        return None
    return BASE_MS + rng.randint(-30, 45) * DAY_MS


def contact(rng: random.Random, n: int, company_names: list[str]) -> tuple[dict, int, int]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    created, modified = _times(rng)
    props = {
        "email": email(rng, first, last, n),
        "firstname": first if rng.random() > 0.02 else None,
        "lastname": last,
        "phone": phone(rng) if rng.random() > 0.1 else None,
        "company": rng.choice(company_names) if company_names else rng.choice(COMPANIES),
        "jobtitle": rng.choice(TITLES) if rng.random() > 0.3 else None,
        "city": rng.choice(CITIES),
        "lifecyclestage": rng.choice(LIFECYCLE[:6]),
        "hs_lead_status": rng.choice(LEAD_STATUS) if rng.random() > 0.15 else None,
        "hs_analytics_source": rng.choice(SOURCES) if rng.random() > 0.1 else None,
        "hubspot_owner_id": rng.choice(OWNERS)[0] if rng.random() > 0.2 else None,
        "notes_next_activity_date": _next_activity(rng),
        "hs_email_optout": "true" if rng.random() < 0.05 else "false",
    }
    return props, created, modified


def company(rng: random.Random, n: int) -> tuple[dict, int, int]:
    name = COMPANIES[n % len(COMPANIES)] + ("" if n < len(COMPANIES) else f" {n // len(COMPANIES) + 1}")
    created, modified = _times(rng)
    props = {
        "name": name,
        "domain": _ascii(name).replace(" ", "").replace("&", "and") + ".example.com",
        "industry": rng.choice(INDUSTRIES),
        "city": rng.choice(CITIES),
        "numberofemployees": str(rng.choice([3, 8, 15, 40, 120])),
        "hubspot_owner_id": rng.choice(OWNERS)[0],
        # from n alone (the generator's sequence, and so every other seeded value, is left as it was):
        # dates in 49 of 50 companies ("TBD" in the rest), amounts in 19 of 20 ("n/a")
        "contract_renewal": "TBD" if n % 50 == 49 else f"{2027 + n % 3}-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
        "annual_revenue_text": "n/a" if n % 20 == 19 else f"{(n * 7919) % 900_000 + 50_000}.00",
    }
    return props, created, modified


def deal(rng: random.Random, n: int) -> tuple[dict, int, int]:
    pipeline = "default" if rng.random() < 0.75 else "renewals"
    stage = rng.choice(PIPELINES[pipeline][1])[0]
    created, modified = _times(rng)
    props = {
        "dealname": f"{rng.choice(COMPANIES)} — "
                    f"{rng.choice(['New patient plan', 'Retainer', 'Annual renewal', 'Website refresh', 'Campaign'])}",
        "amount": str(rng.choice([500, 1200, 2500, 4800, 9900, 15000, 32000]) + rng.choice([0, 0, 0.5, 99.99])),
        "deal_currency_code": rng.choice(CURRENCIES),
        "pipeline": pipeline,
        "dealstage": stage,
        "closedate": BASE_MS + rng.randint(-60, 120) * DAY_MS,
        "hs_analytics_source": rng.choice(SOURCES) if rng.random() > 0.2 else None,
        "hubspot_owner_id": rng.choice(OWNERS)[0] if rng.random() > 0.1 else None,
        "notes_next_activity_date": _next_activity(rng),
    }
    return props, created, modified
