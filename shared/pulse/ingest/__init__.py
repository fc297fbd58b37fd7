"""Inbound batches (spec §3): manifests, part files, records, the one read phase, reports, batch runs."""
