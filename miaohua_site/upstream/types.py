"""What the Miaohua API answers, as dataclasses, and the parsers that check each answer's shape.

Field names are the vendor's (``versionid``, ``select_seed``, ``save_index``) so the code can be held against
the vendor's document. Every parser raises ``ProtocolError`` for an answer that is not the documented shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ProtocolError

__all__ = [
    "ControlNet",
    "Dataset",
    "DatasetPage",
    "FormField",
    "GenerationForm",
    "Model",
    "ModelPage",
    "Task",
    "TaskImage",
    "TaskParams",
    "TrainForm",
    "TrainProgress",
]

_REQUIRED = object()


def _field(
    data: Any, key: str, types: type | tuple[type, ...], endpoint: str, default: Any = _REQUIRED
) -> Any:
    """``data[key]`` checked against ``types``; a missing or null optional field gives ``default``."""
    if not isinstance(data, dict):
        raise ProtocolError(f"expected an object, got {type(data).__name__}", endpoint=endpoint)
    value = data.get(key)
    if value is None:
        if default is _REQUIRED:
            raise ProtocolError(f"the answer lacks {key!r}", endpoint=endpoint)
        return default
    # bool is an int in Python: accept it only where bool is asked for.
    wanted = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in wanted:
        raise ProtocolError(f"{key!r} should be {_names(wanted)}, got bool", endpoint=endpoint)
    if not isinstance(value, wanted):
        raise ProtocolError(
            f"{key!r} should be {_names(wanted)}, got {type(value).__name__}", endpoint=endpoint
        )
    if float in wanted and isinstance(value, int):
        value = float(value)
    return value


def _names(types: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in types)


def _object(value: Any, what: str, endpoint: str) -> dict:
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} should be an object, got {type(value).__name__}", endpoint=endpoint)
    return value


def _list_of(value: Any, what: str, endpoint: str) -> list:
    if not isinstance(value, list):
        raise ProtocolError(f"{what} should be a list, got {type(value).__name__}", endpoint=endpoint)
    return value


def _str_list(data: dict, key: str, endpoint: str) -> list[str]:
    values = _list_of(_field(data, key, list, endpoint), repr(key), endpoint)
    if not all(isinstance(v, str) for v in values):
        raise ProtocolError(f"{key!r} should be a list of strings", endpoint=endpoint)
    return values


# --- Generation ------------------------------------------------------------------------------------------


@dataclass
class TaskParams:
    """The body of ``task_submit`` without the token (digest: "task_submit"); ``None`` fields are not sent."""

    prompt: str = ""
    versionid: str | None = "sgl_artist_v0.3.5_0925"
    neg_prompt: str | None = None
    n_images: int = 2
    scale: int = 7
    strength: float | None = 0.6
    ddim_steps: int | None = None
    select_seed: int | None = None
    output_size: str | None = "960x960"
    init_img: str | None = None
    add_prompt: bool | None = None
    cn_configs: list[dict] | None = None
    lora_configs: list[dict] | None = None
    model_name: str | None = None  # deprecated name-only form: send versionid

    def to_payload(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass
class TaskImage:
    """One image of a task. ``small``, ``task_id`` and ``task_type`` come only from ``task_results``."""

    large: str
    middle: str = ""
    small: str = ""
    save_index: int = 0
    share: bool = False
    shareable: bool = False
    task_id: str | None = None
    task_type: str | None = None

    @classmethod
    def from_api(cls, data: Any, endpoint: str) -> TaskImage:
        return cls(
            large=_field(data, "large", str, endpoint),
            middle=_field(data, "middle", str, endpoint, ""),
            small=_field(data, "small", str, endpoint, ""),
            save_index=_field(data, "save_index", int, endpoint, 0),
            share=_field(data, "share", bool, endpoint, False),
            shareable=_field(data, "shareable", bool, endpoint, False),
            task_id=_field(data, "task_id", str, endpoint, None),
            task_type=_field(data, "task_type", str, endpoint, None),
        )


TASK_PENDING = "pending"
TASK_DONE = "done"
TASK_FAILED = "failed"


@dataclass
class Task:
    """A generation task as ``task_result``/``task_results`` report it.

    The vendor documents only ``pending`` and ``done``; a task is failed when it carries an ``error_msg`` or
    any other state (digest: "task_result"). Use ``status`` for the one of ``pending``/``done``/``failed``.
    ``reported`` is False for an id that ``task_results`` left out of its answer (still pending).
    """

    task_id: str | None
    state: str
    images: list[TaskImage] = field(default_factory=list)
    select_seed: int | None = None
    error_msg: str = ""
    wait_time: int | float | None = None
    reported: bool = True

    @property
    def status(self) -> str:
        if self.error_msg or self.state not in (TASK_PENDING, TASK_DONE):
            return TASK_FAILED
        return self.state

    @property
    def is_pending(self) -> bool:
        return self.status == TASK_PENDING

    @property
    def is_done(self) -> bool:
        return self.status == TASK_DONE

    @property
    def is_failed(self) -> bool:
        return self.status == TASK_FAILED

    @property
    def is_finished(self) -> bool:
        return self.status != TASK_PENDING

    @classmethod
    def pending(cls, task_id: str) -> Task:
        """What ``task_results`` means by leaving an id out."""
        return cls(task_id=task_id, state=TASK_PENDING, reported=False)

    @classmethod
    def from_api(cls, data: Any, endpoint: str, task_id: str | None = None) -> Task:
        data = _object(data, "a task", endpoint)
        images = [
            TaskImage.from_api(item, endpoint)
            for item in _list_of(data.get("images") or [], "images", endpoint)
        ]
        own_id = _field(data, "task_id", str, endpoint, None)
        if own_id is None:
            # task_results' items carry their id only on their images (digest: "task_results").
            own_id = next((image.task_id for image in images if image.task_id), None)
        return cls(
            task_id=own_id or task_id,
            state=_field(data, "state", str, endpoint),
            images=images,
            select_seed=_field(data, "select_seed", int, endpoint, None),
            error_msg=_field(data, "error_msg", str, endpoint, ""),
            wait_time=_field(data, "wait_time", (int, float), endpoint, None),
        )


@dataclass
class FormField:
    """A field spec of ``get_generation_form``; ``choices``: a list, or for ``resolution`` ratio → sizes."""

    name: str
    type: str = ""
    default: Any = None
    description: str = ""
    min: int | float | None = None
    max: int | float | None = None
    choices: list | dict | None = None

    @classmethod
    def from_api(cls, data: Any, endpoint: str) -> FormField:
        data = _object(data, "a form field", endpoint)
        return cls(
            name=_field(data, "name", str, endpoint),
            type=_field(data, "type", str, endpoint, ""),
            default=data.get("default"),
            description=_field(data, "description", str, endpoint, ""),
            min=_field(data, "min", (int, float), endpoint, None),
            max=_field(data, "max", (int, float), endpoint, None),
            choices=_field(data, "choices", (list, dict), endpoint, None),
        )


@dataclass
class GenerationForm:
    fields: list[FormField]

    def __getitem__(self, name: str) -> FormField:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def get(self, name: str) -> FormField | None:
        try:
            return self[name]
        except KeyError:
            return None

    @property
    def resolutions(self) -> dict[str, list[str]]:
        """The ``resolution`` presets grouped by aspect ratio, e.g. ``{"1:1": ["512x512", ...]}``."""
        spec = self.get("resolution")
        if spec is None or not isinstance(spec.choices, dict):
            return {}
        return spec.choices

    @classmethod
    def from_api(cls, data: Any, endpoint: str) -> GenerationForm:
        return cls(
            fields=[FormField.from_api(item, endpoint) for item in _list_of(data, "the form", endpoint)]
        )


# --- Catalogs --------------------------------------------------------------------------------------------


@dataclass
class Model:
    """A base model, a LoRA or a private model (``models/base``, ``models/lora``, ``models/private``)."""

    versionid: str
    model_name: str
    model_id: int | str | None = None
    tag: str = ""
    author: str = ""
    base_model: str = ""
    description: str = ""
    demo_picture: str = ""
    is_opensource: bool = False

    @classmethod
    def from_api(cls, data: Any, endpoint: str) -> Model:
        return cls(
            versionid=_field(data, "versionid", str, endpoint),
            model_name=_field(data, "model_name", str, endpoint),
            model_id=_field(data, "model_id", (int, str), endpoint, None),
            tag=_field(data, "tag", str, endpoint, ""),
            author=_field(data, "author", str, endpoint, ""),
            base_model=_field(data, "base_model", str, endpoint, ""),
            description=_field(data, "description", str, endpoint, ""),
            demo_picture=_field(data, "demo_picture", str, endpoint, ""),
            is_opensource=_field(data, "is_opensource", bool, endpoint, False),
        )


@dataclass
class ModelPage:
    models: list[Model]
    page: int = 1
    per_page: int = 20
    has_next: bool = False

    @classmethod
    def from_api(cls, data: Any, endpoint: str) -> ModelPage:
        models = _list_of(_field(data, "models", list, endpoint), "models", endpoint)
        return cls(
            models=[Model.from_api(item, endpoint) for item in models],
            page=_field(data, "page", int, endpoint, 1),
            per_page=_field(data, "per_page", int, endpoint, len(models)),
            has_next=_field(data, "has_next", bool, endpoint, False),
        )


@dataclass
class ControlNet:
    """A ControlNet unit of ``cn/artist`` (the vendor's models) or ``cn/opensource`` (open-source models)."""

    name: str
    local_name: str = ""
    desc: str = ""
    demo_picture: str = ""
    demo_preview: str = ""
    demo_result: str = ""

    @classmethod
    def from_api(cls, data: Any, endpoint: str) -> ControlNet:
        return cls(
            name=_field(data, "name", str, endpoint),
            local_name=_field(data, "local_name", str, endpoint, ""),
            desc=_field(data, "desc", str, endpoint, ""),
            demo_picture=_field(data, "demo_picture", str, endpoint, ""),
            demo_preview=_field(data, "demo_preview", str, endpoint, ""),
            demo_result=_field(data, "demo_result", str, endpoint, ""),
        )

    @classmethod
    def list_from_api(cls, data: Any, endpoint: str) -> list[ControlNet]:
        return [cls.from_api(item, endpoint) for item in _list_of(data, "the ControlNet list", endpoint)]


# --- Datasets and training -------------------------------------------------------------------------------


@dataclass
class Dataset:
    id: int
    name: str
    description: str = ""
    demo_picture: str = ""
    create_time: str = ""
    update_time: str = ""
    images: list[str] = field(default_factory=list)
    images_num: int = 0

    @classmethod
    def from_api(cls, data: Any, endpoint: str) -> Dataset:
        data = _object(data, "a dataset", endpoint)
        images = _str_list(data, "images", endpoint) if data.get("images") is not None else []
        return cls(
            id=_field(data, "id", int, endpoint),
            name=_field(data, "name", str, endpoint),
            description=_field(data, "description", str, endpoint, ""),
            demo_picture=_field(data, "demo_picture", str, endpoint, ""),
            create_time=_field(data, "create_time", str, endpoint, ""),
            update_time=_field(data, "update_time", str, endpoint, ""),
            images=images,
            images_num=_field(data, "images_num", int, endpoint, len(images)),
        )


@dataclass
class DatasetPage:
    items: list[Dataset]
    page: int = 1
    per_page: int = 20
    has_next: bool = False
    has_prev: bool = False
    total_pages: int = 1

    @classmethod
    def from_api(cls, data: Any, endpoint: str) -> DatasetPage:
        items = _list_of(_field(data, "items", list, endpoint), "items", endpoint)
        return cls(
            items=[Dataset.from_api(item, endpoint) for item in items],
            page=_field(data, "page", int, endpoint, 1),
            per_page=_field(data, "per_page", int, endpoint, 20),
            has_next=_field(data, "has_next", bool, endpoint, False),
            has_prev=_field(data, "has_prev", bool, endpoint, False),
            total_pages=_field(data, "totalPages", int, endpoint, 1),
        )


TRAIN_DONE = "done"
TRAIN_FAILED_STATES = ("failed", "error")


@dataclass
class TrainProgress:
    """``train_progress``: ``training_progress`` runs 0–1; when ``state`` is ``done`` the LoRA is usable.

    The document shows only ``done``; ``pending``/``running`` are in progress, and a failed training says
    ``failed`` (or carries an ``error_msg``)."""

    state: str
    training_progress: float = 0.0
    model_name: str = ""
    description: str = ""
    main_body: str = ""
    trigger_word: str = ""
    create_time: str = ""
    error_msg: str = ""
    task_id: str | None = None

    @property
    def is_done(self) -> bool:
        return self.state == TRAIN_DONE and not self.error_msg

    @property
    def is_failed(self) -> bool:
        return self.state in TRAIN_FAILED_STATES or bool(self.error_msg)

    @property
    def is_finished(self) -> bool:
        return self.is_done or self.is_failed

    @classmethod
    def from_api(cls, data: Any, endpoint: str, task_id: str | None = None) -> TrainProgress:
        return cls(
            state=_field(data, "state", str, endpoint),
            training_progress=_field(data, "training_progress", (int, float), endpoint, 0.0),
            model_name=_field(data, "model_name", str, endpoint, ""),
            description=_field(data, "description", str, endpoint, ""),
            main_body=_field(data, "main_body", str, endpoint, ""),
            trigger_word=_field(data, "trigger_word", str, endpoint, ""),
            create_time=_field(data, "create_time", str, endpoint, ""),
            error_msg=_field(data, "error_msg", str, endpoint, ""),
            task_id=task_id,
        )


@dataclass
class TrainForm:
    """``get_train_form``: the base models one may train on and the subject kinds (``main_body``)."""

    base_models: list[str]
    main_bodies: list[str]

    @classmethod
    def from_api(cls, data: Any, endpoint: str) -> TrainForm:
        return cls(
            base_models=_str_list(data, "base_model", endpoint),
            main_bodies=_str_list(data, "main_body", endpoint),
        )
