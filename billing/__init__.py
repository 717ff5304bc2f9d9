"""Plans, usage metering and Stripe billing for platform operators (to come)."""
