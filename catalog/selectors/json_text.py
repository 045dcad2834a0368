"""JSON text written by PostgreSQL, byte for byte what `json.dumps` (django-ninja's renderer)
writes, so that a read can be served as PostgreSQL returns it: decoding and re-encoding a page
of artists in Python costs a third of an uncached answer, and PostgreSQL's own JSON writers put
`" : "` between a key and its value and leave non-ASCII characters as they are."""

import codecs
import json
from datetime import date, datetime
from json.encoder import encode_basestring_ascii
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from ninja import Schema

# `to_json` writes these as `json.dumps` does (strings: the same escapes, but for non-ASCII,
# which `ascii_json` escapes; dates: ISO 8601).
_TO_JSON_TYPES: frozenset[Any] = frozenset({str, int, bool, date})


def json_text_sql(schema: type[Schema], fields_sql: dict[str, str]) -> str:
    """SQL writing the schema's fields, in its order, as `json.dumps` writes an object once
    `ascii_json` has escaped it: keys from `json.dumps`, `", "` and `": "` between them, values
    from `to_json` (lists of values from `to_jsonb`, which writes `", "` between items; date and
    times as Django's encoder writes them). A field holding a schema, or a list of them, is
    JSON text already in `fields_sql` (from this function). A type whose text could differ
    fails here, when the SQL is built."""
    parts = []
    for position, (name, field) in enumerate(schema.model_fields.items()):
        separator = "{" if position == 0 else ", "
        parts.append(_sql_text(f"{separator}{json.dumps(name)}: "))
        parts.append(_value_sql(field.annotation, fields_sql[name]))
    return f"({' || '.join([*parts, _sql_text('}')])})"


def _value_sql(annotation: Any, sql: str) -> str:
    is_union = get_origin(annotation) in (Union, UnionType)
    kinds = (
        [arg for arg in get_args(annotation) if arg is not NoneType] if is_union else [annotation]
    )
    if len(kinds) != 1:
        raise TypeError(f"no JSON text for {annotation!r}")
    (kind,) = kinds
    item = get_args(kind)[0] if get_origin(kind) is list else None
    if _is_schema(kind) or _is_schema(item):
        return sql
    if kind is datetime:
        return f"coalesce(to_json({_utc_timestamp_sql(sql)}), 'null')"
    if kind in _TO_JSON_TYPES:
        return f"coalesce(to_json({sql})::text, 'null')"
    if item in _TO_JSON_TYPES:
        return f"coalesce(to_jsonb({sql})::text, 'null')"
    raise TypeError(f"no JSON text for {annotation!r}")


def _is_schema(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, Schema)


def _sql_text(text: str) -> str:
    # Keys are field names: no `%`, which the driver would read as a parameter.
    assert "%" not in text
    return "'" + text.replace("'", "''") + "'"


def _utc_timestamp_sql(moment: str) -> str:
    """A timestamptz as Django's JSON encoder writes it: UTC, milliseconds (if any), then Z."""
    utc = f"({moment} AT TIME ZONE 'UTC')"
    return f"""to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS') || CASE
        WHEN extract(microseconds FROM {utc})::bigint %% 1000000 = 0 THEN 'Z'
        ELSE to_char({utc}, '.MS"Z"') END"""


def _escaped(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeEncodeError)
    run = error.object[error.start : error.end]
    # json.dumps's own escaping (`\u00f8`, a surrogate pair past the BMP).
    return encode_basestring_ascii(run)[1:-1], error.end


codecs.register_error("catalog.json_escape", _escaped)


def ascii_json(text: str) -> bytes:
    """PostgreSQL's JSON text with what `json.dumps` escapes and PostgreSQL does not (DEL and
    every character past ASCII) escaped as `json.dumps` escapes it. Outside its strings JSON is
    ASCII, so each such character is in a string, where its escape means the same."""
    if "\x7f" in text:
        text = text.replace("\x7f", "\\u007f")
    return text.encode("ascii", "catalog.json_escape")
