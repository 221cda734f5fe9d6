"""Policies shared by the mail-system taps, so each problem is solved once.

Each module is one policy; the taps call it from their SDK hooks.
"""
