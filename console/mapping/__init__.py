"""Field mappings, enum mappings, value transforms and defaults."""
