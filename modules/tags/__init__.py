"""Tags: the tenant's shared labels, put on contacts and companies."""
