"""Connected Easypanel servers (the seed's `easypanel_config`) and their clients."""
