"""Fake outside services for tests: real servers on loopback speaking the real wire formats."""
