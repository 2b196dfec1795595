"""One-click app templates: the format, rendering, the safety check and the built-in catalogue."""
