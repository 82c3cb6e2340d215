"""Wire formats: one module per API (which strings are text, how answers are restored).

``base.py`` holds the interface and the relay's order; ``proxy/relay.py`` runs it.
"""
