"""Resource quotas: what an organization's services declare, against its plan's limits."""
