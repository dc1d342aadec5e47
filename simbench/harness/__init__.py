"""Harness: run methods on suites, record results, rank them."""
