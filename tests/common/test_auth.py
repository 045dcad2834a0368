import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from common.auth import staff_required


@staff_required
def secret_view(request):
    return HttpResponse("secret")


def _request(method, user):
    request = getattr(RequestFactory(), method.lower())("/secret/?page=2")
    request.user = user
    return request


@pytest.mark.django_db
def test_staff_reach_the_view():
    response = secret_view(
        _request("GET", get_user_model().objects.create_user("staff", is_staff=True))
    )
    assert response.content == b"secret"


def test_an_anonymous_page_view_is_sent_to_log_in_and_back():
    response = secret_view(_request("GET", AnonymousUser()))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/secret/%3Fpage%3D2"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "anonymous"), [("POST", True), ("GET", False), ("POST", False)])
def test_anyone_else_is_forbidden(method, anonymous):
    user = AnonymousUser() if anonymous else get_user_model().objects.create_user("member")
    with pytest.raises(PermissionDenied):
        secret_view(_request(method, user))
