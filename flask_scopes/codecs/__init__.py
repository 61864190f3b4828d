"""Signing and serialising: the mechanisms every cookie and store entry
goes through. Nothing here knows of Flask's request or of the scopes.
"""
