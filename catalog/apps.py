from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "New releases catalog"

    def ready(self) -> None:
        # Connects the checks on what django-q2 schedules and queues.
        from catalog import task_guard  # noqa: F401
