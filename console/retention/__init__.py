"""Retention and archive: each high-volume table keeps its rows for a set time; older rows are written to
a gzip JSON Lines archive (sensitive values left out) and then deleted, in small batches."""
