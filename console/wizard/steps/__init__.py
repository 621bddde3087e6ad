"""One view module per wizard step; `common` holds what every step shares."""
