"""Connect Spotify: the OAuth Authorization Code flow, disconnecting, and demo mode's consent page."""

import io
import logging
import secrets
import sys
import time
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.auth import staff_required
from spotify import selectors, services
from spotify.accounts import pkce_code_verifier
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


@require_http_methods(["GET", "POST"])
@staff_required
@manager_required
def login(request: HttpRequest) -> HttpResponse:
    """GET shows the Connect button; only its CSRF-protected POST starts the flow, so that a link
    from another site cannot swap the site's account."""
    replaces = selectors.connection_status().connected
    if request.method != "POST":
        return render(request, "spotify/connect.html", {"replaces": replaces})
    state = secrets.token_urlsafe()
    code_verifier = pkce_code_verifier()
    request.session[STATE_SESSION_KEY] = {
        "state": state,
        "code_verifier": code_verifier,
        "issued_at": time.time(),
    }
    return HttpResponseRedirect(
        accounts_client().authorize_url(
            state=state, code_verifier=code_verifier, show_dialog=replaces
        )
    )


@require_GET
@staff_required
@manager_required
def callback(request: HttpRequest) -> HttpResponse:
    # Popped whatever happens next: a state is good for one callback only.
    pending = request.session.pop(STATE_SESSION_KEY, None)
    if not _consent_pending(pending, state=request.GET.get("state", "")):
        logger.warning(
            "Rejected a Spotify callback with a missing, unknown, expired or spent state"
        )
        return render(request, "spotify/state_invalid.html", status=400)
    if error := request.GET.get("error"):
        if error == "access_denied":
            messages.info(request, "Spotify was not connected: access was not granted.")
        else:
            messages.error(request, f"Spotify could not connect the account ({error[:100]}).")
        return redirect("dashboard")
    code = request.GET.get("code", "")
    if not code:
        return render(request, "spotify/state_invalid.html", status=400)
    try:
        connection = services.connection_connect(code=code, code_verifier=pending["code_verifier"])
    except InvalidGrantError:
        messages.error(
            request, "Spotify refused the sign-in code (already used or expired): connect again."
        )
        return redirect("dashboard")
    except SpotifyError as error:
        logger.warning("Connecting Spotify failed: %s", error)
        messages.error(request, f"Spotify could not be connected: {error}")
        return redirect("dashboard")
    name = connection.display_name or connection.account_id
    messages.success(request, f"Connected to Spotify as {name}.")
    return redirect("dashboard")


@require_POST
@staff_required
@manager_required
def logout(request: HttpRequest) -> HttpResponse:
    if services.connection_delete():
        messages.success(request, "Spotify was disconnected; the sync now uses the app token.")
    else:
        messages.info(request, "Spotify was not connected.")
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
