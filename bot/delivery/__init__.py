"""Delivery to Discord: the queue (``queue``, no discord import: services write to it) and
the one sender that drains it (``sender``)."""
