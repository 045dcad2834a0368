from django.http import HttpRequest, HttpResponse


def dashboard(request: HttpRequest) -> HttpResponse:
    # Placeholder until the dashboard lands: the OAuth flow and messages redirect here.
    return HttpResponse("Spotify New Releases: see /api/artists/")
