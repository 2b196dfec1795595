"""Database backups to the S3-compatible storage the admin configures (issue 15)."""
