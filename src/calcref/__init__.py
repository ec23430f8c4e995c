"""calcref: an offline clinical reference for calcinosis cutis. A reference, not medical advice."""

__version__ = "0.2.0"
