"""Custom domains with DNS verification and HTTPS, published ports, database external access."""
