"""The app: config, members, fan-out, engine, CLI, store and reports."""
