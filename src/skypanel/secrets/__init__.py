"""Secrets at rest: which columns hold ciphertexts, and re-encrypting them under a new key."""
