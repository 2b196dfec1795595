"""SkyPanel: a self-hosted control panel that sells containers as a service on top of Easypanel."""
