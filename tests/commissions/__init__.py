"""Commission rules and engine (issue 6): pure, table-tested, no database."""
