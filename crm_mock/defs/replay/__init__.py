"""Replay: the per-tier plan of business events, and the job that sends it to a running system."""
