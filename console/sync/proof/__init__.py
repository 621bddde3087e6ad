"""Proof: reconciliations, test-batch verdicts, value waivers."""
