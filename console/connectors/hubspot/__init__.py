"""HubSpot CRM connector: HTTP client, auth, rate limiting, streams."""
