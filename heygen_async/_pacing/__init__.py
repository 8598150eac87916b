"""
When to poll: learned render times and the tick plan built on them.

``model`` learns how long renders take from the server's own timestamps;
``planner`` turns those predictions into poll times. The scheduler is their
only user; nothing here does I/O.
"""

from .model import RenderFeatures


__all__ = ["RenderFeatures"]
