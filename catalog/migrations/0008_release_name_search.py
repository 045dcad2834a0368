from django.db import migrations

# `q` matches release names as well as artist names (catalog.selectors.filters): the same
# accent-free, lower-cased trigram index as `artist_name_search_trgm` (migration 0002).
CREATE_INDEX = """
CREATE INDEX release_name_search_trgm ON catalog_release
    USING gin (catalog_search_text(name) gin_trgm_ops);
"""
DROP_INDEX = "DROP INDEX IF EXISTS release_name_search_trgm;"


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_webhooks_standard_signing")]

    operations = [migrations.RunSQL(CREATE_INDEX, DROP_INDEX)]
