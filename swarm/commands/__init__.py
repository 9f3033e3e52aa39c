"""Implementations of the CLI commands (imported lazily by swarm.cli)."""
