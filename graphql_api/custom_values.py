"""The GraphQL forms of custom-field values, for every entity declared with
`custom_fields=True` (`modules.kit.custom_values`): the `customFields` field of its type, the
`customFields` of its create and update inputs and of its list filter, and its lists'
`sortBy`. Wired by `graphql_api.kit`; no module declares them itself.
"""

from typing import Any

import strawberry
from strawberry.scalars import JSON

from modules.kit.custom_values import Value

_VALUE = ("The value as JSON: text, a whole number, a decimal as text (\"12.50\"), a date as "
          "YYYY-MM-DD, true/false, an option's key, or a list of option keys.")


@strawberry.type(name="CustomFieldValue",
                 description="A record's value of one of the tenant's custom fields.")
class CustomFieldValueType:
    key: str = strawberry.field(description="The field's API name.")
    label: str
    type: str = strawberry.field(description="TEXT, NUMBER, DECIMAL, DATE, BOOLEAN, SELECT or "
                                             "MULTI_SELECT.")
    value: JSON = strawberry.field(description=_VALUE)
    display: str = strawberry.field(description="The value as a person reads it: an option's "
                                                "label, labels joined by \", \", yes/no as "
                                                "true/false.")
    sensitive: bool = strawberry.field(
        default=False, description="A sensitive field: the value is masked (••••); "
                                   "`revealContactPii` gives it to `pii:read` holders.")

    @staticmethod
    def of(v: Value) -> "CustomFieldValueType":
        d, value = v.field, v.api()
        if d.type == "select":
            display = d.option_label(value)
        elif d.type == "multi_select":
            display = ", ".join(d.option_label(k) for k in value)
        else:
            display = str(value).lower() if isinstance(value, bool) else str(value)
        return CustomFieldValueType(key=d.key, label=d.label, type=d.type.upper(), value=value,
                                    display=display, sensitive=d.sensitive)


@strawberry.input(description="Sets one custom field by its key; a null value clears it.")
class CustomFieldValueInput:
    key: str
    value: JSON | None = strawberry.field(description=_VALUE)


@strawberry.input(description="A condition on one custom field: give `equals`, `in`, `min` "
                              "and/or `max` (numbers, decimals, dates), or `present`.")
class CustomFieldCondition:
    key: str
    equals: JSON | None = strawberry.field(
        default=None, description="The value (a multiple select: holds this option).")
    in_: list[JSON] | None = strawberry.field(
        default=None, name="in", description="Any of these values (1 to 100).")
    min: JSON | None = strawberry.field(default=None, description="At least this.")
    max: JSON | None = strawberry.field(default=None, description="At most this.")
    present: bool | None = strawberry.field(
        default=None, description="true: holds a value; false: holds none.")


@strawberry.input(description="Sorts a list by one custom field (records without a value "
                              "last); overrides `sort`.")
class CustomFieldSort:
    custom_field: str = strawberry.field(description="The field's key.")
    descending: bool = False


def condition_dict(c: CustomFieldCondition) -> dict[str, Any]:
    return {"key": c.key, "equals": c.equals, "in": c.in_, "min": c.min, "max": c.max,
            "present": c.present}
