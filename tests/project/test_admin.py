"""django-q2's admin: schedules and tasks name a function the worker runs with its own rights, so
only superusers edit them, and a schedule can only name one of the project's tasks."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from django_q.models import Failure, Schedule

from catalog.scheduling import SYNC_TASK

pytestmark = pytest.mark.django_db

ADD_SCHEDULE = "/admin/django_q/schedule/add/"


def schedule_form(func: str, **extra: str) -> dict[str, str]:
    now = timezone.localtime()
    return {
        "name": "evil",
        "func": func,
        "hook": "",
        "args": "'id'",
        "kwargs": "",
        "schedule_type": Schedule.MINUTES,
        "minutes": "1",
        "repeats": "-1",
        "next_run_0": now.strftime("%Y-%m-%d"),
        "next_run_1": now.strftime("%H:%M:%S"),
        "cron": "",
        "cluster": "",
        "intended_date_kwarg": "",
        **extra,
    }


@pytest.fixture
def staff_with_every_task_permission(client: Client) -> Client:
    """What a staff user got in the report: every django-q2 permission, but not superuser."""
    user = get_user_model().objects.create_user("operator", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="django_q"))
    client.force_login(user)
    return client


@pytest.fixture
def superuser(client: Client) -> Client:
    client.force_login(get_user_model().objects.create_superuser("root", password=None))
    return client


def test_staff_who_are_not_superusers_cannot_add_a_schedule(staff_with_every_task_permission):
    client = staff_with_every_task_permission

    assert client.get(ADD_SCHEDULE).status_code == 403
    assert client.post(ADD_SCHEDULE, schedule_form("os.system")).status_code == 403
    assert not Schedule.objects.exists()


@pytest.mark.parametrize("model", ["schedule", "success", "failure", "ormq"])
def test_staff_who_are_not_superusers_may_look_but_not_edit(
    staff_with_every_task_permission, model
):
    page = staff_with_every_task_permission.get(f"/admin/django_q/{model}/")

    assert page.status_code == 200
    assert page.context["has_add_permission"] is False
    assert page.context["cl"].model_admin.get_actions(page.wsgi_request) == {}


def test_staff_who_are_not_superusers_cannot_change_or_delete_a_schedule(
    staff_with_every_task_permission,
):
    schedule = Schedule.objects.create(name="sync", func=SYNC_TASK)
    url = f"/admin/django_q/schedule/{schedule.pk}/"

    changed = staff_with_every_task_permission.post(f"{url}change/", schedule_form("os.system"))
    deleted = staff_with_every_task_permission.post(f"{url}delete/", {"post": "yes"})

    assert changed.status_code == 403
    assert deleted.status_code == 403
    assert Schedule.objects.get().func == SYNC_TASK


def test_staff_who_are_not_superusers_cannot_resubmit_a_failed_task(
    staff_with_every_task_permission,
):
    failure = Failure.objects.create(
        id="a" * 32,
        name="old",
        func="os.system",
        args=("id",),
        started=timezone.now(),
        stopped=timezone.now(),
        success=False,
    )

    staff_with_every_task_permission.post(
        "/admin/django_q/failure/",
        {"action": "resubmit_task", "_selected_action": [failure.pk]},
    )

    assert Failure.objects.filter(pk=failure.pk).exists()


@pytest.mark.parametrize(
    "fields",
    [{"func": "os.system"}, {"func": "builtins.exec"}, {"func": SYNC_TASK, "hook": "os.system"}],
)
def test_a_superuser_cannot_save_a_schedule_that_names_another_function(superuser, fields):
    response = superuser.post(ADD_SCHEDULE, schedule_form(**fields))

    assert response.status_code == 200
    assert "is not one of this project&#x27;s tasks" in response.content.decode()
    assert not Schedule.objects.exists()


def test_a_superuser_can_schedule_one_of_the_projects_tasks(superuser):
    response = superuser.post(ADD_SCHEDULE, schedule_form(SYNC_TASK, args=""))

    assert response.status_code == 302
    assert Schedule.objects.get().func == SYNC_TASK
