"""Business domains: each has models, repository, service, schemas, errors and events."""
