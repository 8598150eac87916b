"""Coordination between processes that share one HeyGen account (private)."""
