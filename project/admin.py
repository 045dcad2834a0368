from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django_q import admin as django_q_admin
from django_q.models import Failure, OrmQ, Schedule, Success

from catalog.task_guard import task_functions_validate

# --- django-q2 ---------------------------------------------------------------------------------
# A schedule or a task names a function the worker runs with its own rights: only superusers may
# add, change, delete or resubmit them, whatever permissions a staff user was given.


class SuperuserEditsOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_actions(
        self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        # "Resubmit selected tasks to queue" queues them again.
        if not request.user.is_superuser:
            return {}
        return super().get_actions(request, action_location)


class ScheduleForm(forms.ModelForm[Schedule]):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            task_functions_validate(func=cleaned.get("func"), hook=cleaned.get("hook"))
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned


class ScheduleAdmin(SuperuserEditsOnly, django_q_admin.ScheduleAdmin):  # type: ignore[misc]
    form = ScheduleForm


class TaskAdmin(SuperuserEditsOnly, django_q_admin.TaskAdmin):  # type: ignore[misc]
    pass


class FailAdmin(SuperuserEditsOnly, django_q_admin.FailAdmin):  # type: ignore[misc]
    pass


class QueueAdmin(SuperuserEditsOnly, django_q_admin.QueueAdmin):  # type: ignore[misc]
    pass


for model, model_admin in (
    (Schedule, ScheduleAdmin),
    (Success, TaskAdmin),
    (Failure, FailAdmin),
    (OrmQ, QueueAdmin),
):
    # django_q registered its own (OrmQ only with the ORM broker); ours replace them.
    if admin.site.is_registered(model):
        admin.site.unregister(model)
        admin.site.register(model, model_admin)
