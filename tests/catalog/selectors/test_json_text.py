"""PostgreSQL writes JSON text that is served as it is: byte for byte what `json.dumps` writes."""

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from ninja import Schema

from catalog.selectors.json_text import ascii_json, json_text_sql

pytestmark = pytest.mark.django_db

AWKWARD_TEXT = [
    "plain",
    'quote " and backslash \\ and slash /',
    "controls \b\f\n\r\t \x01 \x1f",
    "DEL \x7f",
    "Björk Guðmundsdóttir",
    "ÿ then Ā",  # the last of Latin-1, the first past it
    "check ✓ and \ufffd \uffff",
    "astral 😀 𝄞",  # surrogate pairs
    "a backslash, then x41: \\x41; then U: \\U0001F600",
    "\\u00e9 as text",
    "",
]


def _postgres(sql: str, params: list[Any] | dict[str, Any]) -> str:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (text,) = cursor.fetchone()
    return str(text)


@pytest.mark.parametrize("text", AWKWARD_TEXT)
def test_postgresql_strings_once_escaped_are_what_json_dumps_writes(text):
    written = _postgres("SELECT to_json(%s::text)::text", [text])

    assert ascii_json(written) == json.dumps(text).encode()


def test_lists_of_strings_are_written_as_json_dumps_writes_them():
    written = _postgres("SELECT to_jsonb(%s::varchar[])::text", [AWKWARD_TEXT])

    assert ascii_json(written) == json.dumps(AWKWARD_TEXT).encode()


class Inner(Schema):
    name: str
    rank: int | None


class Every(Schema):
    text: str
    number: int
    missing: int | None
    flag: bool
    day: date
    moment: datetime
    exact_moment: datetime
    no_day: date | None
    words: list[str]
    inner: Inner | None
    inners: list[Inner]


EVERY_FIELDS_SQL = {
    "text": "%(text)s::text",
    "number": "-42",
    "missing": "NULL::int",
    "flag": "true",
    "day": "'2026-11-30'::date",
    "moment": "'2026-11-30 06:00:00+00'::timestamptz",
    "exact_moment": "'2026-11-30 07:00:00.123456+01'::timestamptz",
    "no_day": "NULL::date",
    "words": "%(words)s::varchar[]",
    "inner": json_text_sql(Inner, {"name": "%(text)s::text", "rank": "7"}),
    "inners": "'[' || "
    + " || ', ' || ".join(
        json_text_sql(Inner, {"name": name, "rank": rank})
        for name, rank in (("'one'::text", "1"), ("'two'::text", "NULL::int"))
    )
    + " || ']'",
}


@pytest.mark.parametrize("text", AWKWARD_TEXT)
def test_an_object_is_written_as_ninja_renders_its_schema(text):
    written = _postgres(
        f"SELECT {json_text_sql(Every, EVERY_FIELDS_SQL)}", {"text": text, "words": AWKWARD_TEXT}
    )

    expected = Every(
        text=text,
        number=-42,
        missing=None,
        flag=True,
        day=date(2026, 11, 30),
        moment=datetime(2026, 11, 30, 6, tzinfo=UTC),
        exact_moment=datetime(2026, 11, 30, 6, 0, 0, 123456, tzinfo=UTC),
        no_day=None,
        words=AWKWARD_TEXT,
        inner=Inner(name=text, rank=7),
        inners=[Inner(name="one", rank=1), Inner(name="two", rank=None)],
    )
    # What django-ninja's renderer writes: json.dumps with Django's encoder.
    assert ascii_json(written) == json.dumps(expected.model_dump(), cls=DjangoJSONEncoder).encode()


@pytest.mark.parametrize("annotation", [float, dict[str, int], list[float], int | str])
def test_a_field_whose_text_could_differ_is_refused(annotation):
    drifted = type("Drifted", (Schema,), {"__annotations__": {"value": annotation}})

    with pytest.raises(TypeError, match="no JSON text"):
        json_text_sql(drifted, {"value": "1"})
