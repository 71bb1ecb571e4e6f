"""Non-event envelope items: one handler per kind, behind the port in :mod:`.base`."""
