"""Reusable neural network layers with explicit integer arguments."""
