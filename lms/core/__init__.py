"""What every domain uses and nothing domain-specific: settings, database, errors, clock, time, templating."""
