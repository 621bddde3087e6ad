"""Client-facing metrics: readings computed from clean lead records, snapshots, baselines, cards, notes."""
