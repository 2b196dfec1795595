"""Deployments of app services: history, redeploys, rollbacks, git push deploys, build settings."""
