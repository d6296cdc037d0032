"""The TimescaleDB test lane: PGlite + TimescaleDB served over the Postgres wire protocol."""
