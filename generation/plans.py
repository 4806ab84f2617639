"""What one submission of the Generate form becomes (issue #13): the tasks to store, each with its vendor
parameters, and for a batch or a sweep the group that holds them. Plain data, shared by the form's planning
(generation.planning) and the services that store it (generation.services.submit)."""

from dataclasses import dataclass, field


@dataclass
class TaskPlan:
    """One task to store: its task_submit parameters (vendor names; input images as ``"input:<pk>"``), the base
    model's display name, and for a sweep the index of its value on each axis."""

    params: dict
    model_name: str = ""
    cell: list[int] | None = None
    style_ids: list[int] = field(default_factory=list)
    style_names: str = ""

    @property
    def n_images(self) -> int:
        return int(self.params.get("n_images") or 2)


@dataclass
class Plan:
    """The tasks of one submission. ``kind`` is None for a single ordinary task, else ``"batch"`` or ``"sweep"``
    (generation.models.TaskGroup.Kind); ``axes`` are a sweep's axes as stored on its group."""

    tasks: list[TaskPlan]
    kind: str | None = None
    axes: list[dict] = field(default_factory=list)
    base_params: dict = field(default_factory=dict)

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def n_images(self) -> int:
        return sum(task.n_images for task in self.tasks)
