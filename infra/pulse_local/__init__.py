"""Pulse on one machine: moto resources built from template.yaml, the local run and the benchmarks."""
