"""Inbound: the provider's pages through the page writer, decided, mapped and written."""
