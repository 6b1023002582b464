"""Benchmarks run by `make bench`: figures next to their floors, never pass/fail."""
