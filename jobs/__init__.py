"""APScheduler wiring: the scheduler is only a ticker; work is claimed through database leases."""
