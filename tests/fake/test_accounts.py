"""The accounts service: consent page, the three grants, codes, rotation and revocation."""

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from spotify.fake import FakeConfig, FakeSpotify
from spotify.fake.tokens import Claims, TokenKind, TokenSigner
from tests.fake.helpers import CLIENT, REDIRECT_URI, authorize_code, bearer, user_tokens

AUTHORIZE = {
    "client_id": CLIENT[0],
    "response_type": "code",
    "redirect_uri": REDIRECT_URI,
    "state": "s-1",
    "scope": "user-read-private user-read-email",
}


def token_request(client: httpx.Client, auth=CLIENT, **form: str) -> httpx.Response:
    return client.post("/api/token", data=form, auth=auth)


def fake_client(**config: object) -> httpx.Client:
    fake = FakeSpotify(FakeConfig.from_mapping(config))
    return httpx.Client(transport=httpx.WSGITransport(app=fake), base_url="http://fake.test")


# --- /authorize -------------------------------------------------------------------------------


def test_consent_page_shows_client_scopes_and_buttons(client):
    response = client.get("/authorize", params=AUTHORIZE)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "demo-client-id" in page
    assert "user-read-private" in page
    assert "user-read-email" in page
    assert 'value="agree"' in page
    assert 'value="cancel"' in page
    # Self-contained: no scripts, stylesheets or images fetched from elsewhere.
    assert "<script" not in page
    assert "<link" not in page
    assert "src=" not in page


def test_consent_page_escapes_parameters(client):
    response = client.get("/authorize", params={**AUTHORIZE, "state": '"><script>x</script>'})

    assert "<script>x</script>" not in response.text
    assert "&quot;&gt;&lt;script&gt;" in response.text


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"client_id": "someone-else"}, "Invalid client"),
        ({"redirect_uri": ""}, "Invalid redirect URI"),
        ({"redirect_uri": "http://localhost:8000/cb"}, "Insecure redirect URI"),
        ({"redirect_uri": "http://example.com/cb"}, "Insecure redirect URI"),
        ({"response_type": "token"}, "response_type"),
    ],
)
def test_authorize_rejects_bad_requests_with_a_400_page(client, override, problem):
    response = client.get("/authorize", params={**AUTHORIZE, **override})

    assert response.status_code == 400
    assert problem in response.text


def test_authorize_accepts_https_redirects(client):
    params = {**AUTHORIZE, "redirect_uri": "https://app.example.com/callback"}

    assert client.get("/authorize", params=params).status_code == 200


def test_configured_redirect_uris_are_enforced():
    with fake_client(redirect_uris=["https://app.example.com/callback"]) as http:
        allowed = http.get(
            "/authorize", params={**AUTHORIZE, "redirect_uri": "https://app.example.com/callback"}
        )
        other = http.get("/authorize", params=AUTHORIZE)

    assert allowed.status_code == 200
    assert other.status_code == 400


def test_agree_redirects_with_code_and_state(client):
    response = client.post("/authorize", data={**AUTHORIZE, "decision": "agree"})

    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["s-1"]
    assert query["code"][0].startswith("AQ")


def test_cancel_redirects_with_access_denied(client):
    response = client.post("/authorize", data={**AUTHORIZE, "decision": "cancel"})

    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query == {"error": ["access_denied"], "state": ["s-1"]}


def test_post_authorize_is_validated_too(client):
    response = client.post(
        "/authorize", data={**AUTHORIZE, "client_id": "nope", "decision": "agree"}
    )

    assert response.status_code == 400


# --- client credentials -----------------------------------------------------------------------


def test_client_credentials_with_basic_auth(client):
    response = token_request(client, grant_type="client_credentials")

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["access_token", "token_type", "expires_in"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600


def test_client_credentials_with_form_fields(client):
    response = token_request(
        client,
        auth=None,
        grant_type="client_credentials",
        client_id=CLIENT[0],
        client_secret=CLIENT[1],
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "auth", [("demo-client-id", "wrong"), ("other-client", "demo-client-secret"), None]
)
def test_bad_client_credentials_are_invalid_client(client, auth):
    response = token_request(client, auth=auth, grant_type="client_credentials")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client", "error_description": "Invalid client"}


def test_unknown_grant_type(client):
    response = token_request(client, grant_type="password")

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_token_endpoint_requires_a_form_body(client):
    response = client.post("/api/token", json={"grant_type": "client_credentials"}, auth=CLIENT)

    assert response.status_code == 400
    assert response.json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant_type parameter is missing",
    }


def test_configured_credentials_are_the_ones_accepted():
    with fake_client(client_id="abc", client_secret="s3cret") as http:
        good = token_request(http, auth=("abc", "s3cret"), grant_type="client_credentials")
        default = token_request(http, grant_type="client_credentials")

    assert good.status_code == 200
    assert default.status_code == 400


# --- authorization code -----------------------------------------------------------------------


def test_authorization_code_exchange(client):
    code = authorize_code(client, "user-read-private user-read-email")

    response = token_request(
        client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["access_token", "token_type", "scope", "expires_in", "refresh_token"]
    assert body["scope"] == "user-read-private user-read-email"
    assert body["refresh_token"].startswith("AQ")
    assert client.get("/v1/me", headers=bearer(body["access_token"])).status_code == 200


def test_code_is_single_use(client):
    code = authorize_code(client)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}

    first = token_request(client, **form)
    second = token_request(client, **form)

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_code_redirect_uri_must_match(client):
    code = authorize_code(client)

    response = token_request(
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri="http://127.0.0.1:8000/other/",
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid redirect URI",
    }


def test_redirect_mismatch_does_not_spend_the_code(client):
    code = authorize_code(client)
    token_request(client, grant_type="authorization_code", code=code, redirect_uri="https://x.io/")

    retry = token_request(
        client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )

    assert retry.status_code == 200


def test_garbage_and_expired_codes_are_invalid_grant(client):
    config = FakeConfig()
    past = int(time.time()) - 3600
    expired = TokenSigner(config.signing_secret).sign(
        Claims.new(
            TokenKind.CODE,
            client_id=config.client_id,
            expires_at=past + 600,
            scope="",
            user="fakeuser",
            auth_time=past,
            redirect_uri=REDIRECT_URI,
        )
    )

    for code in ("nonsense", expired):
        response = token_request(
            client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


def test_code_exchange_needs_the_client_secret(client):
    code = authorize_code(client)

    response = token_request(
        client,
        auth=None,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        client_id=CLIENT[0],
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_pkce_flow_without_a_secret(client):
    verifier = "v" * 64
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    code = authorize_code(client, code_challenge=challenge, code_challenge_method="S256")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT[0],
    }

    wrong = token_request(client, auth=None, **form, code_verifier="w" * 64)
    right = token_request(client, auth=None, **form, code_verifier=verifier)

    assert wrong.status_code == 400
    assert right.status_code == 200
    refreshed = token_request(
        client,
        auth=None,
        grant_type="refresh_token",
        refresh_token=right.json()["refresh_token"],
        client_id=CLIENT[0],
    )
    assert refreshed.status_code == 200


def _s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def test_pkce_with_the_client_secret_still_needs_the_right_verifier(client):
    verifier = "v" * 64
    code = authorize_code(client, code_challenge=_s256(verifier), code_challenge_method="S256")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}

    missing = token_request(client, **form)
    wrong = token_request(client, **form, code_verifier="w" * 64)
    right = token_request(client, **form, code_verifier=verifier)

    assert missing.json()["error"] == "invalid_grant"
    assert wrong.json()["error"] == "invalid_grant"
    assert right.status_code == 200


def test_a_pkce_verifier_outside_rfc_7636_is_refused(client):
    verifier = "short"  # 43 to 128 characters, as Spotify and RFC 7636 require
    code = authorize_code(client, code_challenge=_s256(verifier), code_challenge_method="S256")

    response = token_request(
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_verifier_for_a_code_asked_for_without_a_challenge_is_refused(client):
    # RFC 9700 2.1.1: otherwise a stolen non-PKCE code could be passed off as a PKCE one.
    code = authorize_code(client)

    response = token_request(
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier="v" * 64,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# --- refresh ----------------------------------------------------------------------------------


def test_refresh_without_rotation_has_no_new_refresh_token(client):
    tokens = user_tokens(client, "user-read-private")

    response = token_request(
        client, grant_type="refresh_token", refresh_token=str(tokens["refresh_token"])
    )

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["access_token", "token_type", "scope", "expires_in"]
    assert body["scope"] == "user-read-private"
    assert body["access_token"] != tokens["access_token"]
    assert client.get("/v1/me", headers=bearer(body["access_token"])).status_code == 200


def test_refresh_with_rotation_returns_a_new_refresh_token():
    with fake_client(rotate_refresh_tokens=True) as http:
        tokens = user_tokens(http, "user-follow-modify")
        first = token_request(
            http, grant_type="refresh_token", refresh_token=str(tokens["refresh_token"])
        ).json()
        second = token_request(
            http, grant_type="refresh_token", refresh_token=first["refresh_token"]
        )

    assert set(first) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert first["refresh_token"] != tokens["refresh_token"]
    assert second.status_code == 200


def test_revoked_refresh_tokens():
    with fake_client(refresh_tokens_revoked=True) as http:
        tokens = user_tokens(http)
        response = token_request(
            http, grant_type="refresh_token", refresh_token=str(tokens["refresh_token"])
        )

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Refresh token revoked",
    }


def test_refresh_tokens_expire_six_months_after_authorisation(client):
    config = FakeConfig()
    authorised = int(time.time()) - 200 * 24 * 3600
    old = TokenSigner(config.signing_secret).sign(
        Claims.new(
            TokenKind.REFRESH,
            client_id=config.client_id,
            expires_at=authorised + 183 * 24 * 3600,
            scope="",
            user="fakeuser",
            auth_time=authorised,
        )
    )

    response = token_request(client, grant_type="refresh_token", refresh_token=old)

    assert response.json()["error_description"] == "Refresh token revoked"


def test_bad_refresh_token_is_invalid_grant(client, auth):
    access = auth["Authorization"].removeprefix("Bearer ")

    for token in ("nope", access):
        response = token_request(client, grant_type="refresh_token", refresh_token=token)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
