"""The shared kernel: id, market, category and month types, the clock, the programme rules, the
event and run-claim ports, bounded concurrency. Imports nothing else of Pulse."""
