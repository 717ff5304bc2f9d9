"""Infrastructure: settings, database engines and sessions, embedded servers, migrations, CLI."""
