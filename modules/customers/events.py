"""Event names of the customers domain, as they appear in the outbox (`<entity>.<action>`)."""

CONTACT = "contact"
COMPANY = "company"
CREATED, UPDATED, DELETED, RESTORED = "created", "updated", "deleted", "restored"
