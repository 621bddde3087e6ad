"""Outbound: console-side changes and associations pushed to the provider."""
