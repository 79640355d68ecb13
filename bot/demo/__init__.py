"""Offline mode and the scripted demo: Familia against the local Discord emulator."""
