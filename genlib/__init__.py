"""genlib: a declarative, Make-style app generator that heals itself."""

__version__ = "0.1.0"
