"""Benchmarks: each prints its figures and the ratios that hold on a noisy machine."""
