"""Custom fields: fields a tenant's admins define for an entity, and the values records hold."""
