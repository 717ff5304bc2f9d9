"""GraphQL of departments, data scopes and shares."""
