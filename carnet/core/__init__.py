"""Foundations every layer may use: the error types, secret masking, memory release."""
