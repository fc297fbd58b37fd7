"""`pulse`, the operators' command line: dry runs on local files, and batches, schedules and
look-ups against a local or a deployed stack."""
