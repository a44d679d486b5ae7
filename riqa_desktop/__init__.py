"""riqa_desktop: a desktop recapture assistant for fundus photography."""

__version__ = "0.1.0"
