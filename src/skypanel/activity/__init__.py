"""The activity log: every state change, who made it and from where."""
