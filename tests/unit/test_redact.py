from console.security.redact import MASK, drop_keys, redact, redact_text


def test_secret_keys_masked_recursively():
    data = {"email": "a@b.c", "access_token": "x", "nested": {"clientSecret": "y", "items": [{"password": "z"}]},
            "business_name": "Acme", "ssn": "123"}
    out = redact(data)
    assert out["email"] == "a@b.c" and out["business_name"] == "Acme"
    assert out["access_token"] == MASK and out["nested"]["clientSecret"] == MASK
    assert out["nested"]["items"][0]["password"] == MASK and out["ssn"] == MASK


def test_listed_sensitive_fields_masked():
    assert redact({"phone": "+1555", "name": "x"}, ["phone"]) == {"phone": MASK, "name": "x"}


def test_tokens_in_text_masked():
    text = "401 with Authorization: Bearer pat-na1-11112222-3333-4444 for portal 42"
    out = redact_text(text)
    assert "pat-na1" not in out and "portal 42" in out


def test_drop_keys_removes_entirely():
    assert drop_keys({"Phone": 1, "email": 2}, ["phone"]) == {"email": 2}
