"""Each value transform and each rule of the mapper, on the values an integration owner meets."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from console.connectors.base import SourceRecord
from console.mapping.mapper import FieldRule, MappingSpec, Reference, follow_up_state, map_record
from console.mapping.transforms import TRANSFORMS, MappingFailure


def t(name: str, value, **args):
    return TRANSFORMS[name](value, "field", args)


def failure(name: str, value, **args) -> MappingFailure:
    with pytest.raises(MappingFailure) as caught:
        t(name, value, **args)
    return caught.value


def test_trim_and_none():
    assert t("trim", "  Ada   Lovelace \n") == "Ada Lovelace"
    assert t("trim", "   ") is None and t("trim", None) is None
    assert t("none", "  kept as is ") == "  kept as is "


def test_case():
    assert t("case", " ada LOVELACE ", case="title") == "Ada Lovelace"
    assert t("case", "Ada", case="upper") == "ADA" and t("case", "Ada", case="lower") == "ada"
    assert t("case", "Ada", case="sideways") == "Ada"


def test_email_is_normalised_and_a_bad_one_fails_without_quoting_it():
    assert t("email", "  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
    assert t("email", "") is None
    bad = failure("email", "ada@@example")
    assert bad.code == "invalid_email" and "ada" not in bad.reason and bad.field == "field"


def test_phone_to_e164_in_the_region_given():
    assert t("phone_e164", "(416) 555-0199") == "+14165550199"
    assert t("phone_e164", "020 7946 0958", region="GB") == "+442079460958"
    assert failure("phone_e164", "12").code == "invalid_phone"
    assert failure("phone_e164", "call me").code == "invalid_phone"


def test_datetime_from_epoch_ms_iso_and_a_local_time():
    assert t("datetime_utc", "1700000000000") == datetime(2023, 11, 14, 22, 13, 20)
    assert t("datetime_utc", "2026-03-01T12:00:00Z") == datetime(2026, 3, 1, 12, 0)
    assert t("datetime_utc", "2026-07-01T09:00:00", timezone="America/Toronto") == datetime(2026, 7, 1, 13, 0)
    assert failure("datetime_utc", "next tuesday").code == "invalid_date"


def test_decimal_to_cents():
    assert t("decimal", "1,234.5") == Decimal("1234.50")
    assert t("decimal", "  ") is None
    assert failure("decimal", "12 dollars").code == "invalid_number"


def _spec(*rules: FieldRule, enums=None, reference=None, object_type="deals") -> MappingSpec:
    return MappingSpec(object_type, list(rules), enums or {}, reference or Reference())


def _map(spec: MappingSpec, **props):
    return map_record(SourceRecord("1", props, 0), spec)


def test_enum_mapped_ignored_and_unmapped():
    spec = _spec(FieldRule("hs_lead_status", "lead_status", "enum"),
                 enums={("hs_lead_status", "NEW"): ("New", False), ("hs_lead_status", "JUNK"): (None, True)})
    assert _map(spec, hs_lead_status="NEW").values["lead_status"] == "New"
    ignored = _map(spec, hs_lead_status="JUNK")
    assert ignored.values["lead_status"] is None and not ignored.failures
    unmapped = _map(spec, hs_lead_status="VIP")
    assert [f.code for f in unmapped.failures] == ["unmapped_value"] and "VIP" in unmapped.failures[0].reason


def test_reference_data_owner_pipeline_stage_and_state():
    ref = Reference(owners={"7": "Sam Lee"}, pipelines={"default": "Sales"}, stages={"s1": "Proposal"},
                    stage_states={"s1": "open"})
    spec = _spec(FieldRule("hubspot_owner_id", "owner_name", "owner_name"),
                 FieldRule("pipeline", "pipeline", "pipeline_label"),
                 FieldRule("dealstage", "deal_stage", "stage_label"),
                 FieldRule("dealstage", "deal_state", "stage_state"), reference=ref)
    good = _map(spec, hubspot_owner_id="7", pipeline="default", dealstage="s1")
    assert (good.values["owner_name"], good.values["pipeline"], good.values["deal_stage"], good.values["deal_state"]) \
        == ("Sam Lee", "Sales", "Proposal", "open")
    bad = _map(spec, hubspot_owner_id="8", pipeline="other", dealstage="s9")
    assert sorted(f.code for f in bad.failures) == ["unknown_owner", "unknown_stage", "unknown_stage", "unknown_stage"]


def test_currency_conversion_concat_and_split():
    spec = _spec(FieldRule("amount", "amount_base", "currency_convert",
                           {"currency_field": "deal_currency_code", "rates": {"CAD": 1, "USD": "1.36"}}),
                 FieldRule("firstname", "deal_name", "concat", {"fields": ["firstname", "lastname"], "separator": " "}),
                 FieldRule("fullname", "last_name", "split", {"index": -1}),
                 FieldRule("fullname", "first_name", "split", {"index": 5}))
    mapped = _map(spec, amount="100", deal_currency_code="usd", firstname=" Ada ", lastname="Lovelace",
                  fullname="Ada King Lovelace")
    assert mapped.values["amount_base"] == Decimal("136.00") and mapped.values["deal_name"] == "Ada Lovelace"
    assert mapped.values["last_name"] == "Lovelace" and mapped.values["first_name"] is None
    assert [f.code for f in _map(spec, amount="5", deal_currency_code="EUR").failures] == ["no_rate"]
    assert set(spec.source_fields) >= {"amount", "deal_currency_code", "firstname", "lastname", "fullname"}


def test_required_and_unknown_transforms_fail_with_the_field():
    spec = _spec(FieldRule("email", "email", "email", required=True), FieldRule("x", "phone", "rot13"))
    codes = {f.field: f.code for f in _map(spec, email="").failures}
    assert codes == {"email": "required_missing", "phone": "unknown_transform"}


def test_follow_up_state_and_a_hash_that_ignores_it():
    now = datetime(2026, 1, 10)
    assert follow_up_state(None, now) == "none"
    assert follow_up_state(now - timedelta(minutes=1), now) == "overdue"
    assert follow_up_state(now + timedelta(days=7), now) == "due"
    assert follow_up_state(now + timedelta(days=8), now) == "scheduled"
    spec = _spec(FieldRule("dealname", "deal_name"), FieldRule("notes_next_activity_date", "next_activity_at",
                                                               "datetime_utc"))
    a = _map(spec, dealname="A", notes_next_activity_date="2020-01-01T00:00:00Z")
    b = _map(spec, dealname="A", notes_next_activity_date="2020-01-01T00:00:00Z")
    b.values["follow_up_state"] = "scheduled"  # the clock moved; the provider's values did not
    assert a.values["follow_up_state"] == "overdue" and a.content_hash() == b.content_hash()
    assert a.content_hash() != _map(spec, dealname="B", notes_next_activity_date="2020-01-01T00:00:00Z").content_hash()


def test_provider_times_convert_exactly_as_fromtimestamp_did():
    """The writer's integer conversion of epoch milliseconds stores the instant the float one stored (to
    2100; near year 9999 the float one lost the milliseconds, the integer one keeps them)."""
    import random
    from datetime import UTC, datetime

    from console.sync.inbound.decision import ms_to_dt as _ms_to_dt

    rng = random.Random(17)
    values = [1, 999, 1000, 1_700_000_000_001, *(rng.randrange(1, 4_102_444_800_000)
                                                                      for _ in range(200_000))]
    assert _ms_to_dt(0) is None and _ms_to_dt(None) is None
    assert _ms_to_dt(253_402_300_799_999) == datetime(9999, 12, 31, 23, 59, 59, 999000)
    assert [v for v in values if _ms_to_dt(v) != datetime.fromtimestamp(v / 1000, UTC).replace(tzinfo=None)] == []


def test_clean_text_is_returned_as_the_collapsing_path_would_return_it():
    """`_text` returns clean text without splitting it; for every character Python calls whitespace,
    alone, doubled, leading, trailing or inside a value, the answer equals the split-and-join one."""
    import sys

    from console.mapping.transforms import _text

    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    assert len(spaces) > 20  # the ASCII controls, NBSP, the Unicode space separators, line/paragraph ones
    values = ["", "Ada", "Ada Lovelace", "Zoë  Ng", 42, 4.5]
    for ws in spaces:
        values += [ws, ws * 2, f"{ws}Ada", f"Ada{ws}", f"Ada{ws}Lovelace", f"Ada{ws} Lovelace", f"A{ws}{ws}B"]
    for value in values:
        slow = " ".join(str(value).split()) or None
        assert _text(value) == slow, repr(value)
