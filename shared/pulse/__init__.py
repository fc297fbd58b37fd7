"""Pulse: the domain and its AWS adapters, shared by every function (deployed as SharedLayer)."""
