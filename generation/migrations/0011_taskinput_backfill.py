"""TaskInput rows for the tasks stored before lineage: read once from each task's params (``"input:<pk>"`` in
init_img and cn_configs[i]["img"]). References to input images that are gone, or not the task's owner's, are
left out. Reversing does nothing: the rows go with 0010's table."""

from django.db import migrations

PREFIX = "input:"
CHUNK = 2000


def _pk(value):
    if not (isinstance(value, str) and value.startswith(PREFIX)):
        return None
    try:
        pk = int(value[len(PREFIX) :])
    except ValueError:
        return None
    return pk if 0 < pk < 2**63 else None


def _slots(params):
    """(role, position, pk) as generation.services.submit.task_input_slots, frozen here as migrations are."""
    if not isinstance(params, dict):
        return []
    slots = []
    pk = _pk(params.get("init_img"))
    if pk is not None:
        slots.append(("init", 0, pk))
    units = params.get("cn_configs") or []
    for position, unit in enumerate(units if isinstance(units, list) else []):
        pk = _pk(unit.get("img")) if isinstance(unit, dict) else None
        if pk is not None:
            slots.append(("controlnet", position, pk))
    return slots


def _flush(TaskInput, InputImage, pending):
    """Insert a chunk's rows: (task_id, owner_id, role, position, input pk), kept when the input exists and is
    the task owner's."""
    owners = dict(InputImage.objects.filter(pk__in={row[4] for row in pending}).values_list("pk", "owner_id"))
    rows = [
        TaskInput(task_id=task_id, image_id=pk, role=role, position=position)
        for task_id, owner_id, role, position, pk in pending
        if owners.get(pk) == owner_id
    ]
    TaskInput.objects.bulk_create(rows, ignore_conflicts=True)


def backfill_task_inputs(apps, schema_editor):
    GenerationTask = apps.get_model("generation", "GenerationTask")
    InputImage = apps.get_model("generation", "InputImage")
    TaskInput = apps.get_model("generation", "TaskInput")
    # Only tasks that may have inputs: img2img, or with ControlNet units (txt2img with cn_types).
    tasks = (
        GenerationTask.objects.exclude(kind="txt2img", cn_types="")
        .order_by("pk")
        .values_list("pk", "owner_id", "params")
    )
    pending = []
    for task_id, owner_id, params in tasks.iterator(chunk_size=CHUNK):
        pending.extend((task_id, owner_id, role, position, pk) for role, position, pk in _slots(params))
        if len(pending) >= CHUNK:
            _flush(TaskInput, InputImage, pending)
            pending = []
    if pending:
        _flush(TaskInput, InputImage, pending)


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0010_taskinput"),
    ]

    operations = [
        migrations.RunPython(backfill_task_inputs, migrations.RunPython.noop, elidable=True),
    ]
