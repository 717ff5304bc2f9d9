"""The GraphQL API: one endpoint, thin resolvers that call module services."""
