from typing import Any

from django.db import migrations, models


def _best_image(images: Any, width: int = 300) -> str:
    # A frozen copy of catalog.selectors.best_image, as it was when this migration was written.
    if not isinstance(images, list) or not images:
        return ""
    return str(min(images, key=lambda image: abs((image.get("width") or width) - width))["url"])


def backfill(apps: Any, schema_editor: Any) -> None:
    for name in ("Artist", "Release"):
        model = apps.get_model("catalog", name)
        rows = list(model.objects.only("pk", "images"))
        for row in rows:
            row.image_url = _best_image(row.images)
        model.objects.bulk_update(rows, ["image_url"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_webhooks")]

    operations = [
        migrations.AddField(
            model_name="artist",
            name="image_url",
            field=models.URLField(blank=True, default="", max_length=500),
        ),
        migrations.AddField(
            model_name="release",
            name="image_url",
            field=models.URLField(blank=True, default="", max_length=500),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
