"""Services (apps and databases) inside projects."""
