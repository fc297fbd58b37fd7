"""Creator eligibility (spec §2.2): the rules of a record, and applying a creators snapshot."""
