"""Benchmarks: `python -m bench` (or `make bench`) prints tables; nothing here is a timed test."""
