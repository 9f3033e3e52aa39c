"""Versioned prompt templates and their rendering."""
