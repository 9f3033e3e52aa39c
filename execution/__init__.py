"""Risk engine, venues (paper, Pacifica), orders, positions and the trade journal."""
