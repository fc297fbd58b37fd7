"""The top 4% and its published lists (spec §2.3): ranking, atomic publication, lookups."""
