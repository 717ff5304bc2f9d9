"""Customer classification from order history: per-customer metrics fed by the orders module
(the hook, `service.record_order`), RFM scores, spend and frequency levels, and customer levels
by the tenant's rules (issue 12, item 3). See docs/classification.md."""
