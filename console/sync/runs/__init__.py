"""Runs: one frame for every kind of run, its lifecycle (one transition table), leases and claims."""
