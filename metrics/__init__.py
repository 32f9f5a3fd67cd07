"""Metrics, one module per idea: each a pure kernel on tensors plus a ``Metric`` adapter."""
