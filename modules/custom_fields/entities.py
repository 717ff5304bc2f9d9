"""Custom field definitions, declared once for the kit: a tenant's own fields of an entity."""

from __future__ import annotations

from modules.custom_fields.models import CustomField
from modules.kit import Contains, Entity, Equals, Field, standard_sorts
from tenancy.permissions import Permission

CUSTOM_FIELD = Entity(
    name="custom_field", type_name="CustomField", model=CustomField,
    read=Permission.FIELDS_READ, write=Permission.FIELDS_MANAGE,
    delete=Permission.FIELDS_MANAGE,  # "remove": soft, restorable until purged
    sorts=standard_sorts(name="label"),
    filters={"entity": Equals("entity"), "search": Contains("label")},
    fields={"entity": Field(enum=True), "type": Field(enum=True)},
    # A key is unique per tenant and entity, removed fields included: restoring never clashes.
    unique={"custom_fields_key_key": "key"},
    label="custom field",
)
