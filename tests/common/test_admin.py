from django.contrib.admin import site
from django.test import RequestFactory

from catalog.models import SyncRun
from common.admin import ReadOnlyAdmin


def test_read_only_admin_shows_rows_but_never_adds_changes_or_deletes():
    model_admin = ReadOnlyAdmin(SyncRun, site)
    request = RequestFactory().get("/admin/")

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, None)
    assert not model_admin.has_delete_permission(request, None)
