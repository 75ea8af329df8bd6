class OwnerMigratesRouter:
    """Migrations run only through the `owner` alias (the role that owns the tables).

    Reads and writes of the application go to `default`, the restricted role."""

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "owner"
