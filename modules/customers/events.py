"""Event names of the customers domain, as they appear in the outbox (`<entity>.<action>`), and
how its records read in audit rows and event payloads (the API's forms, see tenancy.audit)."""

from tenancy.audit import ApiForm, declare_api_form

CONTACT = "contact"
COMPANY = "company"
CREATED, UPDATED, DELETED, RESTORED = "created", "updated", "deleted", "restored"

declare_api_form(CONTACT, ApiForm({"owner_id": "User", "company_id": "Company"},
                                  enums=frozenset({"gender"})))
declare_api_form(COMPANY, ApiForm({"owner_id": "User"}))
