"""Departments, declared once for the kit (`modules.kit`)."""

from __future__ import annotations

from modules.departments.models import Department
from modules.kit import Contains, Entity, Equals, Field, Sort, standard_sorts
from tenancy.permissions import Permission

_SORTS = {s.name: s for s in standard_sorts()}

DEPARTMENT = Entity(
    name="department", type_name="Department", model=Department,
    # Everyone sees the organisation (as owner pickers see colleagues); admins shape it.
    read=Permission.MEMBERS_READ, write=Permission.USERS_MANAGE,
    sorts=(Sort("POSITION_ASC", ("position",), False,
                "By position (siblings' order in the tree)."),
           *(_SORTS[n] for n in ("NAME_ASC", "NAME_DESC", "CREATED_AT_DESC",
                                 "CREATED_AT_ASC", "UPDATED_AT_DESC"))),
    filters={"search": Contains("name"), "parent_id": Equals("parent_id")},
    fields={"parent_id": Field(reference="Department")},
    unique={"departments_sibling_name_key": "name"},
)
