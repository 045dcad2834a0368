from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations

# unaccent() is only STABLE (its dictionary could change), so PostgreSQL refuses it in an index.
# This wrapper pins the dictionary and is declared IMMUTABLE, the usual way to index it.
CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION catalog_search_text(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;
"""
DROP_FUNCTION = "DROP FUNCTION IF EXISTS catalog_search_text(text);"

CREATE_INDEX = """
CREATE INDEX artist_name_search_trgm ON catalog_artist
    USING gin (catalog_search_text(name) gin_trgm_ops);
"""
DROP_INDEX = "DROP INDEX IF EXISTS artist_name_search_trgm;"


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        UnaccentExtension(),
        TrigramExtension(),
        migrations.RunSQL(CREATE_FUNCTION, DROP_FUNCTION),
        migrations.RunSQL(CREATE_INDEX, DROP_INDEX),
    ]
