"""Monitoring: what the console exposes about itself (Prometheus metrics). Alerts and notifications
(issue 8) are not built yet."""
