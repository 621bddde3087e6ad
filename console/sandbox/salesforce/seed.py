"""A deterministic org: users, accounts, contacts (most at an account), leads and opportunities, their
modification times spread over the last 90 days with about a tenth tied at one instant (a bulk update),
so a reader must page by (SystemModstamp, Id), not by time alone."""
from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta

from . import ids
from .schema import INDUSTRY, LEAD_SOURCE, LEAD_STATUS, OBJECTS, RENEWAL_STAGES, STAGES
from .state import Org, OrgConfig

FIRST = ("Ada", "Bea", "Cal", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kai", "Lou", "Max", "Noa", "Oli")
LAST = ("Adams", "Brown", "Chen", "Diaz", "Evans", "Fox", "Garcia", "Hill", "Ito", "Jones", "Khan", "Lee")
RECORD_TYPES = {"Standard": ids.make("RecordType", 1), "Renewal": ids.make("RecordType", 2)}


def build_org(config: OrgConfig) -> Org:
    org = Org(config, config.client_id or "3MVG9" + secrets.token_urlsafe(30),
              config.client_secret or secrets.token_hex(32))
    seed(org)
    return org


def seed(org: Org) -> None:
    cfg = org.config
    rng = random.Random(cfg.seed)
    base = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(days=90)
    bulk = base + timedelta(days=60)  # the instant a tenth of the records share

    def at() -> datetime:
        if rng.random() < 0.1:
            return bulk
        return base + timedelta(seconds=rng.randrange(90 * 86_400), milliseconds=rng.randrange(1000))

    user = OBJECTS["User"]
    org.integration_user = org.insert(user, {"FirstName": "Integration", "LastName": "User", "Email": cfg.username,
                                             "Username": cfg.username, "IsActive": True}, "", base)["Id"]
    owners = [org.insert(user, {"FirstName": f, "LastName": l, "Email": f"{f.lower()}@sandbox.example",
                                "Username": f"{f.lower()}@sandbox.example", "IsActive": True},
                         org.integration_user, base)["Id"] for f, l in zip(FIRST[:5], LAST[:5])]
    stages = list(dict.fromkeys(STAGES + RENEWAL_STAGES))
    for order, stage in enumerate(stages):
        closed, won = stage.startswith("Closed"), stage == "Closed Won"
        org.insert(OBJECTS["OpportunityStage"], {"ApiName": stage, "MasterLabel": stage, "IsActive": True,
                                                 "IsClosed": closed, "IsWon": won, "SortOrder": float(order),
                                                 "DefaultProbability": 100.0 if won else 0.0 if closed else 10.0 * order},
                   org.integration_user, base)
    accounts = []
    for i in range(cfg.accounts if cfg.accounts is not None else max(1, cfg.contacts // 10)):
        name = f"{rng.choice(LAST)} {rng.choice(('Labs', 'Foods', 'Logistics', 'Partners'))} {i}"
        accounts.append(org.insert(OBJECTS["Account"], {
            "Name": name, "Website": f"https://acct{i}.example", "Phone": f"+1416555{i % 10_000:04d}",
            "Industry": rng.choice(INDUSTRY), "OwnerId": rng.choice(owners)}, rng.choice(owners), at())["Id"])
    for i in range(cfg.contacts):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        org.insert(OBJECTS["Contact"], {
            "FirstName": first, "LastName": last, "Email": f"{first.lower()}.{last.lower()}.{i}@example.com",
            "Phone": f"+1647555{i % 10_000:04d}" if rng.random() < 0.7 else None,
            "Title": rng.choice(("CEO", "Buyer", "Engineer", None)),
            "AccountId": rng.choice(accounts) if accounts and rng.random() < 0.8 else None,
            "LeadSource": rng.choice(LEAD_SOURCE), "OwnerId": rng.choice(owners)}, rng.choice(owners), at())
    for i in range(cfg.leads if cfg.leads is not None else cfg.contacts // 5):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        org.insert(OBJECTS["Lead"], {
            "FirstName": first, "LastName": last, "Company": f"{last} Prospects {i}",
            "Email": f"lead.{i}@prospect.example", "Phone": None, "Status": rng.choice(LEAD_STATUS[:2] + LEAD_STATUS[3:]),
            "LeadSource": rng.choice(LEAD_SOURCE), "IsConverted": False, "ConvertedContactId": None,
            "ConvertedAccountId": None, "OwnerId": rng.choice(owners)}, rng.choice(owners), at())
    for i in range(cfg.opportunities if cfg.opportunities is not None else len(accounts) // 2):
        renewal = rng.random() < 0.25
        org.insert(OBJECTS["Opportunity"], {
            "Name": f"Opportunity {i}", "AccountId": rng.choice(accounts) if accounts else None,
            "Amount": float(rng.randrange(500, 50_000)),
            "CloseDate": (base + timedelta(days=rng.randrange(180))).date().isoformat(),
            "StageName": rng.choice(RENEWAL_STAGES if renewal else STAGES),
            "RecordTypeId": RECORD_TYPES["Renewal" if renewal else "Standard"], "OwnerId": rng.choice(owners)},
            rng.choice(owners), at())
