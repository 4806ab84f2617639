"""A client for SenseTime's Miaohua image-generation API v1b: plain Python + requests, no Django.

from miaohua_site.upstream import MiaohuaClient, UpstreamError

client = MiaohuaClient("https://<vendor host>/api/v1b/", email=..., password=..., on_token=save)
task_id = client.task_submit({"prompt": "one girl, beautiful", "versionid": ...})
"""

from .client import MAX_PER_PAGE, MAX_TASK_IDS, MiaohuaClient
from .errors import (
    AccountLimit,
    AuthenticationError,
    ContentRefused,
    InvalidParameter,
    LoginFailed,
    NotFound,
    ProtocolError,
    RateLimited,
    SubmissionFailed,
    UpstreamError,
    UpstreamUnavailable,
    error_for,
)
from .types import (
    ControlNet,
    Dataset,
    DatasetPage,
    FormField,
    GenerationForm,
    Model,
    ModelPage,
    Task,
    TaskImage,
    TaskParams,
    TrainForm,
    TrainProgress,
)

__all__ = [
    "MAX_PER_PAGE",
    "MAX_TASK_IDS",
    "AccountLimit",
    "AuthenticationError",
    "ContentRefused",
    "ControlNet",
    "Dataset",
    "DatasetPage",
    "FormField",
    "GenerationForm",
    "InvalidParameter",
    "LoginFailed",
    "MiaohuaClient",
    "Model",
    "ModelPage",
    "NotFound",
    "ProtocolError",
    "RateLimited",
    "SubmissionFailed",
    "Task",
    "TaskImage",
    "TaskParams",
    "TrainForm",
    "TrainProgress",
    "UpstreamError",
    "UpstreamUnavailable",
    "error_for",
]
