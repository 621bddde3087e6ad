"""Provider adapters behind one small interface. Connectors know nothing about Flask."""
