"""Query strings: one set of rules for the API, the pages and the feed. Each value is checked
before any query runs, so a wrong one is a 4xx that says which and why, never a 500."""

from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, Literal, get_args, get_origin

from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema
from pydantic import AfterValidator, BaseModel, StringConstraints, ValidationError

from spotify.conf import configured_markets, default_market

AlbumType = Literal["album", "single", "compilation"]
# Part of an artist's (or, on the dashboard, a release's) name.
SearchTerm = Annotated[str, StringConstraints(max_length=200)]
Genre = Annotated[str, StringConstraints(max_length=200)]
SpotifyId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,64}$")]


def _market_configured(market: str) -> str:
    markets = configured_markets()
    if market not in markets:
        served = ", ".join(code for code in markets if code)
        raise ValueError(
            f"not a market this site syncs (it syncs {served})"
            if served
            else "not a market this site syncs (it syncs Spotify's global list only)"
        )
    return market


# A market this site syncs (SPOTIFY_MARKETS), any case; reads default to the first one.
Market = Annotated[
    str, StringConstraints(to_upper=True, max_length=2), AfterValidator(_market_configured)
]
MARKET_DESCRIPTION = (
    "A market this site syncs (ISO 3166-1 alpha-2, as in SPOTIFY_MARKETS); the first one "
    "when omitted."
)


def _markets_listed(schema: dict[str, Any]) -> None:
    """The OpenAPI document lists the markets this site syncs: the only values it accepts."""
    schema["enum"] = list(configured_markets())


class MarketChoice(Schema):
    market: Market = Field(
        default_factory=default_market,
        description=MARKET_DESCRIPTION,
        json_schema_extra=_markets_listed,
    )


class Pagination(Schema):
    limit: int = Field(50, ge=1, le=200, description="Page size, 1 to 200.")
    offset: int = Field(0, ge=0, le=1_000_000, description="Items to skip.")


def query_parse[Model: BaseModel](request: HttpRequest, model: type[Model]) -> Model:
    """The query string as `model` reads it: unknown names are ignored, an empty value (a cleared
    form field) means "not given", and a name repeated fills a tuple or list field."""
    values: dict[str, Any] = {}
    for name in request.GET:
        field = model.model_fields.get(name)
        if field is None:
            continue
        if get_origin(field.annotation) in (tuple, list):
            values[name] = [value for value in request.GET.getlist(name) if value != ""]
        elif (value := request.GET[name]) != "":
            values[name] = value
    return model.model_validate(values)


def query_problems(error: ValidationError) -> str:
    """Which parameters are wrong and why, in plain words (never echoing the value)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'query'}: {problem['msg']}"
        for problem in error.errors()
    )


InvalidQueryResponse = Callable[[HttpRequest, str], HttpResponse]


def query_checked(
    model: type[BaseModel], *, invalid: InvalidQueryResponse
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view decorator: the view gets the parsed query after the request; a query that does not
    validate gets `invalid(request, problems)` instead. The model stays on the view
    (`query_model`), so that tests can find every parameter a page reads."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                query = query_parse(request, model)
            except ValidationError as error:
                return invalid(request, query_problems(error))
            return view(request, query, *args, **kwargs)

        checked.query_model = model  # type: ignore[attr-defined]
        return checked

    return decorate


def album_types() -> tuple[str, ...]:
    return get_args(AlbumType)
