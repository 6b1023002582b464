"""Screens of the studbook terminal UI, one per module."""
