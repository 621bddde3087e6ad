"""Monitoring: alert conditions evaluated every minute, notifications, freshness, data quality, the
ops dashboard's figures and the Prometheus endpoint."""
