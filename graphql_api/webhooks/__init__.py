"""GraphQL of webhooks: subscriptions, the delivery log, redelivery."""
