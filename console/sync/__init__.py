"""The provider-neutral sync engine: runs, pages, mapping, accounting, cursors, retries."""
