"""Connect Spotify: the OAuth Authorization Code flow, disconnecting, and demo mode's consent page."""

import io
import logging
import secrets
import sys
import time
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.csp import CSP
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.auth import staff_required
from spotify import selectors, services
from spotify.accounts import USER_SCOPE, pkce_code_verifier
from spotify.client import accounts_client
from spotify.conf import is_demo_mode
from spotify.demo import demo_app
from spotify.errors import InvalidGrantError, SpotifyError

logger = logging.getLogger(__name__)

# The consent under way: its state, PKCE verifier and when it was asked for.
STATE_SESSION_KEY = "spotify_oauth_state"
STATE_TTL_SECONDS = 10 * 60
# Connecting replaces the account every sync uses: more than being staff.
MANAGE_CONNECTION_PERMISSION = "spotify.manage_site_connection"

manager_required = permission_required(MANAGE_CONNECTION_PERMISSION, raise_exception=True)


# Which connection a Connect or Disconnect form is about: the site's (the sync's account, for
# holders of the permission) or the signed-in user's own (any user, for the artists they follow).
CONNECTION_FIELD = "connection"
MINE = "mine"


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get(CONNECTION_FIELD) == MINE:
        return _user_login(request)
    return _site_login(request)


@staff_required
@manager_required
def _site_login(request: HttpRequest) -> HttpResponse:
    """GET shows the Connect button; only its CSRF-protected POST starts the flow, so that a link
    from another site cannot swap the site's account."""
    replaces = selectors.connection_status().connected
    if request.method != "POST":
        return render(request, "spotify/connect.html", {"replaces": replaces})
    return _consent_start(request, show_dialog=replaces, scope=USER_SCOPE, pending={})


@login_required
def _user_login(request: HttpRequest) -> HttpResponse:
    """The user's own account. `scope` may add the playlist's scope (an incremental consent:
    what was granted before is asked again, so that nothing is lost)."""
    extra = [scope for scope in request.POST.getlist("scope") if scope]
    try:
        scopes = services.user_connection_scopes_request(user=request.user, extra=extra)
    except ValueError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    replaces = selectors.user_connection_get(user=request.user) is not None
    return _consent_start(
        request,
        show_dialog=replaces,
        scope=" ".join(scopes),
        pending={CONNECTION_FIELD: MINE, "user_pk": request.user.pk, "next": next_url},
    )


def _consent_start(
    request: HttpRequest, *, show_dialog: bool, scope: str, pending: dict[str, object]
) -> HttpResponse:
    state = secrets.token_urlsafe()
    code_verifier = pkce_code_verifier()
    request.session[STATE_SESSION_KEY] = {
        "state": state,
        "code_verifier": code_verifier,
        "issued_at": time.time(),
        **pending,
    }
    return HttpResponseRedirect(
        accounts_client().authorize_url(
            state=state, code_verifier=code_verifier, show_dialog=show_dialog, scope=scope
        )
    )


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(STATE_SESSION_KEY)
    if isinstance(pending, dict) and pending.get(CONNECTION_FIELD) == MINE:
        return _user_callback(request)
    return _site_callback(request)


@staff_required
@manager_required
def _site_callback(request: HttpRequest) -> HttpResponse:
    def connect(code: str, code_verifier: str) -> str:
        connection = services.connection_connect(code=code, code_verifier=code_verifier)
        return connection.display_name or connection.account_id

    return _consent_finish(request, connect=connect, done_url=reverse("dashboard"))


@login_required
def _user_callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(STATE_SESSION_KEY) or {}
    if pending.get("user_pk") != request.user.pk:
        # Asked by another user of this browser session: never connect it to this one.
        request.session.pop(STATE_SESSION_KEY, None)
        return render(request, "spotify/state_invalid.html", status=400)

    def connect(code: str, code_verifier: str) -> str:
        connection = services.user_connection_connect(
            user=request.user, code=code, code_verifier=code_verifier
        )
        return connection.display_name or connection.account_id

    return _consent_finish(
        request, connect=connect, done_url=pending.get("next") or reverse("dashboard")
    )


def _consent_finish(
    request: HttpRequest, *, connect: Callable[[str, str], str], done_url: str
) -> HttpResponse:
    # Popped whatever happens next: a state is good for one callback only.
    pending = request.session.pop(STATE_SESSION_KEY, None)
    if not _consent_pending(pending, state=request.GET.get("state", "")):
        logger.warning(
            "Rejected a Spotify callback with a missing, unknown, expired or spent state"
        )
        return render(request, "spotify/state_invalid.html", status=400)
    assert isinstance(pending, dict)  # checked by _consent_pending
    if error := request.GET.get("error"):
        if error == "access_denied":
            messages.info(request, "Spotify was not connected: access was not granted.")
        else:
            messages.error(request, f"Spotify could not connect the account ({error[:100]}).")
        return redirect(done_url)
    code = request.GET.get("code", "")
    if not code:
        return render(request, "spotify/state_invalid.html", status=400)
    try:
        name = connect(code, pending["code_verifier"])
    except InvalidGrantError:
        messages.error(
            request, "Spotify refused the sign-in code (already used or expired): connect again."
        )
        return redirect(done_url)
    except SpotifyError as error:
        logger.warning("Connecting Spotify failed: %s", error)
        messages.error(request, f"Spotify could not be connected: {error}")
        return redirect(done_url)
    messages.success(request, f"Connected to Spotify as {name}.")
    return redirect(done_url)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    if request.POST.get(CONNECTION_FIELD) == MINE:
        return _user_logout(request)
    return _site_logout(request)


@staff_required
@manager_required
def _site_logout(request: HttpRequest) -> HttpResponse:
    if services.connection_delete():
        messages.success(request, "Spotify was disconnected; the sync now uses the app token.")
    else:
        messages.info(request, "Spotify was not connected.")
    return redirect("dashboard")


@login_required
def _user_logout(request: HttpRequest) -> HttpResponse:
    if services.user_connection_delete(user=request.user):
        messages.success(
            request, "Your Spotify account was disconnected; its follows were forgotten."
        )
    else:
        messages.info(request, "Your Spotify account was not connected.")
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect("dashboard")


def _consent_pending(pending: object, *, state: str) -> bool:
    """Whether the callback's state is the one this session asked for in the last 10 minutes."""
    if not (isinstance(pending, dict) and state):
        return False
    if time.time() - pending["issued_at"] > STATE_TTL_SECONDS:
        return False
    return secrets.compare_digest(pending["state"], state)


@csrf_exempt  # the fake's own consent form posts back here, as Spotify's page does on its site
# The page stands in for Spotify's own site and styles itself inline; our pages keep the strict CSP.
@csp_override(
    {"default-src": [CSP.NONE], "style-src": [CSP.UNSAFE_INLINE], "form-action": [CSP.SELF]}
)
def demo_authorize(request: HttpRequest) -> HttpResponse:
    """Demo mode's consent page: the in-process fake Spotify's `/authorize`, served on our site."""
    if not is_demo_mode():
        raise Http404
    body = request.body
    environ = {
        "REQUEST_METHOD": request.method or "GET",
        "SCRIPT_NAME": request.path.removesuffix("/authorize"),
        "PATH_INFO": "/authorize",
        "QUERY_STRING": request.META.get("QUERY_STRING", ""),
        "CONTENT_TYPE": request.META.get("CONTENT_TYPE", ""),
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": request.get_host().partition(":")[0],
        "SERVER_PORT": request.get_port(),
        "HTTP_HOST": request.get_host(),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: object = None
    ) -> Callable[[bytes], object]:
        started.append((status, headers))
        return lambda data: None

    content = b"".join(demo_app()(environ, start_response))
    status, headers = started[0]
    response = HttpResponse(content, status=int(status.split()[0]))
    for name, value in headers:
        if name.lower() != "content-length":
            response[name] = value
    return response
