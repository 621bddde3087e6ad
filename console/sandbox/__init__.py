"""A local HubSpot-compatible API server for demos, tests and benchmarks.

An independent imitation of HubSpot's public API: it shares no code with the console's HubSpot
connector, so tests against it check the connector against HubSpot's documented behaviour.
"""
from .app import create_sandbox_app
from .server import SandboxServer
from .state import SandboxConfig

__all__ = ["SandboxConfig", "SandboxServer", "create_sandbox_app"]
