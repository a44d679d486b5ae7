"""Seed method A (Telesco et al., arXiv 2511.13353): teacher -> pseudo-labels -> multi-task model."""
