"""make doctor: the live cluster against what the lab deployed (doctor/cli.py)."""
