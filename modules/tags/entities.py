"""Tags, and the links that put them on contacts and companies, declared once for the kit."""

from __future__ import annotations

from modules.kit import Contains, Entity, Link, standard_sorts
from modules.tags.models import CompanyTag, ContactTag, Tag
from tenancy.permissions import Permission

_SORTS = {s.name: s for s in standard_sorts()}

TAG = Entity(
    name="tag", type_name="Tag", model=Tag,
    read=Permission.TAGS_READ, write=Permission.TAGS_WRITE, delete=Permission.TAGS_DELETE,
    # A list of tags reads best alphabetically: the default.
    sorts=tuple(_SORTS[name] for name in ("NAME_ASC", "NAME_DESC", "CREATED_AT_DESC",
                                          "CREATED_AT_ASC", "UPDATED_AT_DESC")),
    filters={"search": Contains("name")},
    # Names are unique per tenant whatever their case, deleted tags included (a deleted
    # tag's name is taken until it is renamed: restoring it never clashes).
    unique={"tags_name_key": "name"},
)

# A customer's tags: hidden while a tag is deleted, back when it is restored.
CONTACT_TAGS = Link(
    name="contact_tags", model=ContactTag, owner="contact", owner_key="contact_id",
    target=TAG, target_key="tag_id", field="tagIds", actions=("tagged", "untagged"),
)
COMPANY_TAGS = Link(
    name="company_tags", model=CompanyTag, owner="company", owner_key="company_id",
    target=TAG, target_key="tag_id", field="tagIds", actions=("tagged", "untagged"),
)
