"""Reads of an X/Y/Z sweep (issue #13): the owner's sweep (anyone else: 404) and its grid, a block per Z value
(and per task of the batch), Y rows × X columns, each cell the task of that cell."""

from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.http import Http404
from django.utils.translation import gettext

from generation.models import GeneratedImage, GenerationTask, TaskGroup
from generation.sweeps import AXES, KIND_LABELS

State = GenerationTask.State
SETTLED = (State.DONE, State.FAILED)


def sweep_for_user(user, pk) -> TaskGroup:
    """The user's own sweep, or Http404 (a teammate's, an admin's look, a batch, a made-up id)."""
    group = (
        TaskGroup.objects.filter(owner=user, kind=TaskGroup.Kind.SWEEP, pk=pk).first()
        if user.is_authenticated
        else None
    )
    if group is None:
        raise Http404(gettext("No such sweep."))
    return group


def sweep_tasks(group: TaskGroup):
    """The sweep's tasks in their order (trashed ones too: they are still the sweep's cells)."""
    return GenerationTask.objects.filter(group=group).order_by("group_index", "id")


@dataclass
class Cell:
    task: GenerationTask | None
    x_label: str = ""
    y_label: str = ""

    @property
    def image(self) -> GeneratedImage | None:
        if self.task is None:
            return None
        images = list(self.task.images.all())
        return images[0] if images else None


@dataclass
class Row:
    label: str
    cells: list[Cell]


@dataclass
class Block:
    title: str
    rows: list[Row]


@dataclass
class SweepGrid:
    group: TaskGroup
    axes: dict  # letter → the stored axis
    x_labels: list[str]
    y_labels: list[str]
    blocks: list[Block]
    total: int = 0
    done: int = 0
    failed: int = 0
    running: int = 0
    queued: int = 0
    tasks: list = field(default_factory=list)

    @property
    def settled(self) -> int:
        return self.done + self.failed

    @property
    def finished(self) -> bool:
        """Every task final and every image of the done ones stored (or its download given up)."""
        return all(task.is_settled for task in self.tasks)

    def axis_title(self, letter: str) -> str:
        axis = self.axes.get(letter)
        return str(KIND_LABELS.get(axis["kind"], axis.get("label", ""))) if axis else ""

    @property
    def axis_rows(self) -> list[tuple[str, str, dict]]:
        """(letter, the setting's name in the reader's language, the stored axis), X to Z."""
        return [(letter, self.axis_title(letter), self.axes[letter]) for letter in AXES if letter in self.axes]

    @property
    def x_title(self) -> str:
        return self.axis_title("x")

    @property
    def y_title(self) -> str:
        return self.axis_title("y")


def sweep_grid(group: TaskGroup) -> SweepGrid:
    """The grid, in two queries (the tasks, their images)."""
    axes = {axis.get("axis", AXES[i]): axis for i, axis in enumerate(group.axes or [])}

    def labels(letter):
        axis = axes.get(letter)
        return [str(label) for label in axis.get("labels", [])] if axis else [""]

    x_labels, y_labels, z_labels = labels("x"), labels("y"), labels("z")
    n_cells = len(x_labels) * len(y_labels) * len(z_labels)
    images = GeneratedImage.objects.order_by("save_index")
    tasks = list(sweep_tasks(group).prefetch_related(Prefetch("images", queryset=images)))
    by_place = {}
    for position, task in enumerate(tasks):
        index = task.group_index if task.group_index is not None else position
        x, y, z = (list(task.cell or []) + [0, 0, 0])[:3]
        by_place[(index // max(n_cells, 1), z, y, x)] = task
    n_batch = max(1, -(-len(tasks) // max(n_cells, 1)))
    z_title = ""
    if "z" in axes:
        z_title = str(KIND_LABELS.get(axes["z"]["kind"], ""))
    blocks = []
    for b in range(n_batch):
        for z, z_label in enumerate(z_labels):
            parts = []
            if "z" in axes:
                parts.append(f"{z_title}: {z_label}")
            if n_batch > 1:
                parts.append(gettext("batch %(n)s of %(total)s") % {"n": b + 1, "total": n_batch})
            rows = [
                Row(
                    label=y_label,
                    cells=[Cell(by_place.get((b, z, y, x)), x_label, y_label) for x, x_label in enumerate(x_labels)],
                )
                for y, y_label in enumerate(y_labels)
            ]
            blocks.append(Block(title=" · ".join(parts), rows=rows))
    grid = SweepGrid(group=group, axes=axes, x_labels=x_labels, y_labels=y_labels, blocks=blocks, tasks=tasks)
    grid.total = len(tasks)
    for task in tasks:
        if task.state == State.DONE:
            grid.done += 1
        elif task.state == State.FAILED:
            grid.failed += 1
        elif task.state == State.QUEUED:
            grid.queued += 1
        else:
            grid.running += 1
    return grid
