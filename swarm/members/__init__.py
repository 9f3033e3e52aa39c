"""Swarm members: litellm models and local quant strategies."""
