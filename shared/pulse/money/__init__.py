"""Revenue share (spec §2.4, §2.5): the ledger, payout arithmetic and the month-end run."""
