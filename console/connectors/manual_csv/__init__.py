"""The manual CSV path: read an uploaded file (any of the encodings clients' spreadsheets produce)."""
