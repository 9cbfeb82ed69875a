"""Cliply: long videos in, short vertical clips out."""

__version__ = "0.1.0"
