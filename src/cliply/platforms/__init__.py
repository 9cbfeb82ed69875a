"""Publishing platforms: one adapter each behind the `Platform` protocol (see base.py)."""
