"""Telling people what happened: events written with the change they report, fanned out to
emails (sent by the worker from an outbox) and to messages in the panel."""
