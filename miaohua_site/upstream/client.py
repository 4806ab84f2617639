"""MiaohuaClient: one typed method per endpoint of the Miaohua API v1b (see the digest of the contract).

Plain Python + requests; it imports nothing of the project, so it could be published on its own.

- Every answer is accepted bare or wrapped in the envelope ``{"code", "info", "msg"}`` (digest, decision 1):
  ``info`` is unwrapped when ``code`` is present, and ``code != 0`` raises the error class of ``errors.py``.
- An expired/invalid token (``AuthenticationError``) makes the client log in once with the stored email and
  password, hand the new token to ``on_token``, and repeat the call once.
- Reads, polls and uploads are repeated with exponential back-off and jitter on ``UpstreamUnavailable`` and
  ``RateLimited``; submissions (``task_submit``, ``train_submit``, ``dataset_create``) and dataset edits never
  are, since the vendor has no idempotency key.
- Tokens and passwords never reach a log line, a ``repr`` or an exception message.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from .errors import (
    AuthenticationError,
    NotFound,
    ProtocolError,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    error_for,
)
from .types import (
    ControlNet,
    DatasetPage,
    GenerationForm,
    ModelPage,
    Task,
    TaskParams,
    TrainForm,
    TrainProgress,
)

__all__ = ["MAX_PER_PAGE", "MAX_TASK_IDS", "MiaohuaClient", "Upload"]

logger = logging.getLogger(__name__)

MAX_TASK_IDS = 50  # task_results: "at most 50" (digest: "task_results")
MAX_PER_PAGE = 100  # digest, decision 7
MAX_BACKOFF = 60.0
UPLOAD_FIELD = "init_img"
USER_AGENT = "miaohua-client/1.0 (+python-requests)"

# What an upload may be: a path, bytes, a binary file object (with a name), or (filename, any of those).
Upload = str | os.PathLike | bytes | bytearray | BinaryIO | tuple[str, Any]


class MiaohuaClient:
    """A client of the Miaohua API v1b for one account.

    ``base_url`` ends at ``.../api/v1b/``. With ``email`` and ``password`` the client logs in by itself
    when it has no token, and again (once per call) when the token is refused; ``on_token(token)`` is
    called with each new token so the caller can store it (if it raises, that is logged and the call goes
    on with the token). ``sleep`` waits between retries (injectable for tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        email: str | None = None,
        password: str | None = None,
        token: str | None = None,
        on_token: Callable[[str], None] | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        pool_maxsize: int = 10,
    ) -> None:
        if not base_url:
            raise ValueError("MiaohuaClient needs the API's base URL (e.g. https://<host>/api/v1b/)")
        self.base_url = base_url.rstrip("/") + "/"
        self.email = email
        self._password = password
        self._token = token or None
        self.on_token = on_token
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self._sleep = sleep
        self._login_lock = threading.Lock()
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session

    def __repr__(self) -> str:
        return (
            f"MiaohuaClient(base_url={self.base_url!r}, email={self.email!r}, "
            f"token={'<set>' if self._token else None}, password={'<set>' if self._password else None})"
        )

    def __enter__(self) -> MiaohuaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    @property
    def token(self) -> str | None:
        """The current token (for the caller to persist; never logged)."""
        return self._token

    @property
    def can_login(self) -> bool:
        return bool(self.email and self._password)

    # --- Authentication ------------------------------------------------------------------------------------

    def get_token(self) -> str:
        """Log in with the stored email and password; keep the new token and pass it to ``on_token``.

        Raises ``LoginFailed`` when the vendor refuses the email/password (never retried)."""
        if not self.can_login:
            raise ValueError("get_token needs the client's email and password")
        data = self._call(
            "get_token",
            payload={"email": self.email, "password": self._password},
            auth=False,
            repeatable=True,
        )
        token = (
            data.get("token") if isinstance(data, dict) else data
        )  # bare {"token"} or envelope info=<token>
        if not isinstance(token, str) or not token:
            raise ProtocolError("the answer carries no token", endpoint="get_token")
        self._token = token
        if self.on_token is not None:
            try:
                self.on_token(token)
            except Exception as exc:
                # The token works in memory: failing the call because it could not be stored helps no one.
                # Scrubbed, as its message might quote the token.
                logger.error(
                    "on_token failed, the new Miaohua token was not stored: %s: %s",
                    type(exc).__name__,
                    self._scrub(str(exc)),
                )
        return token

    # --- Generation ----------------------------------------------------------------------------------------

    def task_submit(self, params: Mapping[str, Any] | TaskParams) -> str:
        """Submit a generation task; returns its ``task_id``. Sent once (again only after a token refusal)."""
        payload = params.to_payload() if isinstance(params, TaskParams) else dict(params)
        payload.pop("token", None)
        data = self._call("task_submit", payload=payload, repeatable=False)
        return _id_from(data, "task_id", "task_submit")

    def task_result(self, task_id: str, sensitive_limit_value: float | None = None) -> Task:
        """One task's state and images (``Task.status`` is ``pending``/``done``/``failed``)."""
        payload: dict[str, Any] = {"task_id": task_id}
        if sensitive_limit_value is not None:
            payload["sensitive_limit_value"] = sensitive_limit_value
        data = self._call("task_result", payload=payload)
        task = Task.from_api(data, "task_result", task_id=task_id)
        task.task_id = task_id
        return task

    def task_results(
        self, task_ids: Iterable[str], sensitive_limit_value: float | None = None
    ) -> dict[str, Task]:
        """Several tasks at once (at most 50 distinct ids, else ``ValueError`` before anything is sent).

        Returns a dict keyed by every requested task_id, in request order. The vendor's items are matched by
        their own ``task_id`` or their images' ``task_id``; an id the answer does not account for is a pending
        ``Task`` with ``reported=False`` (digest: "task_results"). An item without any id (no images: pending
        or failed) is placed by elimination; a finished one that cannot be is looked up with ``task_result``
        for the unaccounted ids, so a failure is never reported as pending. The endpoint allows 6 calls/s.
        """
        if isinstance(task_ids, str):
            raise TypeError("task_results takes a list of task ids, not one string")
        ids = list(dict.fromkeys(task_ids))
        if len(ids) > MAX_TASK_IDS:
            raise ValueError(f"task_results takes at most {MAX_TASK_IDS} task ids, got {len(ids)}")
        if not ids:
            return {}
        payload: dict[str, Any] = {"task_ids": ids}
        if sensitive_limit_value is not None:
            payload["sensitive_limit_value"] = sensitive_limit_value
        data = self._call("task_results", payload=payload)
        if not isinstance(data, list):
            raise ProtocolError(
                f"expected a list of tasks, got {type(data).__name__}", endpoint="task_results"
            )
        results, unplaced = _match_tasks(ids, [Task.from_api(item, "task_results") for item in data])
        if unplaced:
            # Finished items without any task_id that elimination cannot place (e.g. a failed task beside a
            # pending one): ask task_result about the unaccounted ids until they are all found.
            for task_id in [task_id for task_id, task in results.items() if not task.reported]:
                try:
                    task = self.task_result(task_id, sensitive_limit_value)
                except NotFound:
                    continue
                except UpstreamError as exc:
                    # The batch answer stands; the rest stays unaccounted (pending) until the next poll.
                    logger.info(
                        "miaohua task_results: look-up of an unaccounted id stopped by %s", type(exc).__name__
                    )
                    break
                results[task_id] = task
                unplaced -= task.is_finished
                if unplaced <= 0:
                    break
        return results

    def img2txt(self, init_img: str) -> str:
        """A caption for an uploaded image (synchronous at the vendor)."""
        data = self._call("img2txt", payload={"init_img": init_img})
        if isinstance(data, dict):
            data = data.get("caption", data.get("text"))
        if not isinstance(data, str):
            raise ProtocolError("the answer carries no caption", endpoint="img2txt")
        return data

    def get_generation_form(self) -> GenerationForm:
        """The vendor's field specs for generation (GET, no token)."""
        data = self._call("get_generation_form", method="GET", auth=False)
        return GenerationForm.from_api(data, "get_generation_form")

    # --- Catalogs ------------------------------------------------------------------------------------------

    def models_base(self, page: int = 1, per_page: int = 20, query: str = "") -> ModelPage:
        return self._models("models/base", page, per_page, query)

    def models_lora(self, page: int = 1, per_page: int = 20, query: str = "") -> ModelPage:
        return self._models("models/lora", page, per_page, query)

    def models_private(self, page: int = 1, per_page: int = 20, query: str = "") -> ModelPage:
        """The account's own uploaded and trained models."""
        return self._models("models/private", page, per_page, query)

    def cn_artist(self) -> list[ControlNet]:
        """ControlNet units for the vendor's own base models (``is_opensource`` false)."""
        return ControlNet.list_from_api(self._call("cn/artist"), "cn/artist")

    def cn_opensource(self) -> list[ControlNet]:
        """ControlNet units for open-source base models."""
        return ControlNet.list_from_api(self._call("cn/opensource"), "cn/opensource")

    def _models(self, endpoint: str, page: int, per_page: int, query: str) -> ModelPage:
        if per_page > MAX_PER_PAGE:
            raise ValueError(f"per_page is at most {MAX_PER_PAGE}, got {per_page}")
        data = self._call(endpoint, payload={"page": page, "per_page": per_page, "query": query})
        return ModelPage.from_api(data, endpoint)

    # --- Uploads -------------------------------------------------------------------------------------------

    def upload_img(self, file: Upload) -> str:
        """Upload one image; returns its (opaque, possibly expiring) URL."""
        urls = self._upload("upload_img", [file])
        return urls[0]

    def upload_imgs(self, files: Sequence[Upload]) -> list[str]:
        """Upload several images in one request; returns their URLs in the order of ``files``.

        Files are streamed from disk one after the other; none is read whole into memory."""
        files = list(files)
        if not files:
            return []
        return self._upload("upload_imgs", files)

    def _upload(self, endpoint: str, files: list[Upload]) -> list[str]:
        uploads = [_UploadSource.of(file) for file in files]
        data = self._call(endpoint, uploads=uploads)
        if isinstance(data, str):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(url, str) and url for url in data):
            raise ProtocolError("expected a list of URLs", endpoint=endpoint)
        if len(data) != len(uploads):
            raise ProtocolError(f"sent {len(uploads)} images, got {len(data)} URLs", endpoint=endpoint)
        return data

    # --- Datasets and training -----------------------------------------------------------------------------

    def dataset_create(self, name: str, description: str, images: Iterable[str]) -> int:
        """Create a dataset from uploaded image URLs; returns its id. Never re-sent on unavailability."""
        payload = {"name": name, "description": description, "images": list(images)}
        data = self._call("dataset", payload=payload, repeatable=False)
        dataset_id = _id_from(data, "dataset_id", "dataset", kinds=(int, str))
        try:
            return int(dataset_id)
        except ValueError:
            raise ProtocolError(
                f"dataset_id should be a number, got {dataset_id!r}", endpoint="dataset"
            ) from None

    def dataset_all(self, page: int = 1) -> DatasetPage:
        """One page of the account's datasets (the page number travels in the query string)."""
        data = self._call("dataset_all", query={"page": page})
        return DatasetPage.from_api(data, "dataset_all")

    def dataset_add_images(self, dataset_id: int, images: Iterable[str]) -> None:
        # Not repeated: a second add after a lost answer could duplicate images.
        self._call(
            "dataset/add_images", payload={"dataset": dataset_id, "images": list(images)}, repeatable=False
        )

    def dataset_delete_images(self, dataset_id: int, images: Iterable[str]) -> None:
        # Not repeated: after a lost answer a second delete fails with "invalid image" and misleads.
        self._call(
            "dataset/delete_images", payload={"dataset": dataset_id, "images": list(images)}, repeatable=False
        )

    def train_submit(
        self,
        name: str,
        description: str,
        base_model: str,
        trigger_word: str,
        main_body: str,
        datasets: Iterable[int],
    ) -> str:
        """Train a LoRA on the given datasets; returns its task_id. Never re-sent on unavailability.

        An empty ``base_model`` is left out, so the vendor chooses (the document: optional, "系统指定")."""
        payload = {
            "name": name,
            "description": description,
            "trigger_word": trigger_word,
            "main_body": main_body,
            "dataset": list(datasets),
        }
        if base_model:
            payload["base_model"] = base_model
        data = self._call("train_submit", payload=payload, repeatable=False)
        return _id_from(data, "task_id", "train_submit")

    def train_progress(self, task_id: str) -> TrainProgress:
        data = self._call("train_progress", payload={"task_id": task_id})
        return TrainProgress.from_api(data, "train_progress", task_id=task_id)

    def get_train_form(self) -> TrainForm:
        """The base models one may train on and the ``main_body`` choices (GET, no token)."""
        data = self._call("get_train_form", method="GET", auth=False)
        return TrainForm.from_api(data, "get_train_form")

    # --- The one way a call is made ------------------------------------------------------------------------

    def _call(
        self,
        endpoint: str,
        *,
        method: str = "POST",
        payload: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        uploads: list[_UploadSource] | None = None,
        auth: bool = True,
        repeatable: bool = True,
    ) -> Any:
        """Send one call and return its unwrapped answer, logging in again once and retrying where safe."""
        if auth and self._token is None and self.can_login:
            self._login(stale=None)
        relogged = False
        attempt = 0
        while True:
            token = self._token if auth else None
            try:
                return self._send(endpoint, method, payload, query, uploads, auth, token)
            except AuthenticationError:
                # The vendor refused the token, so it did not act on the call: safe to re-send, even a submit.
                if not auth or relogged or not self.can_login:
                    raise
                relogged = True
                logger.info("miaohua %s: token refused, logging in again", endpoint)
                self._login(stale=token)
            except (UpstreamUnavailable, RateLimited) as exc:
                if not repeatable or attempt >= self.max_retries:
                    raise
                delay = self._delay(attempt, exc)
                attempt += 1
                logger.warning(
                    "miaohua %s: %s; retry %d of %d in %.2f s",
                    endpoint, type(exc).__name__, attempt, self.max_retries, delay,
                )  # fmt: skip
                self._sleep(delay)

    def _login(self, *, stale: str | None) -> None:
        with self._login_lock:
            if self._token != stale:  # another thread logged in meanwhile
                return
            self.get_token()

    def _delay(self, attempt: int, exc: UpstreamError) -> float:
        delay = self.backoff * (2**attempt) + random.uniform(0, self.backoff)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            delay = max(delay, retry_after)
        return min(delay, MAX_BACKOFF)

    def _send(
        self,
        endpoint: str,
        method: str,
        payload: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
        uploads: list[_UploadSource] | None,
        auth: bool,
        token: str | None,
    ) -> Any:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        kwargs: dict[str, Any] = {"timeout": self.timeout, "allow_redirects": False, "params": query}
        body = None
        if uploads is not None:
            # Multipart: the token travels as a Bearer header only (digest, decision 4).
            body = _MultipartBody(UPLOAD_FIELD, uploads)
            headers["Content-Type"] = body.content_type
            if token:
                headers["Authorization"] = f"Bearer {token}"
            kwargs["data"] = body
        elif method == "POST":
            json_body = dict(payload or {})
            if auth:
                json_body["token"] = token or ""
            kwargs["json"] = json_body
        started = time.monotonic()
        try:
            response = self.session.request(method, self.base_url + endpoint, headers=headers, **kwargs)
        except requests.exceptions.ReadTimeout as exc:
            self._log(method, endpoint, "timeout", started)
            raise UpstreamTimeout(
                f"timed out ({_reason(exc)})", endpoint=endpoint, seconds=self.timeout[1]
            ) from None
        except requests.exceptions.Timeout as exc:
            self._log(method, endpoint, "timeout", started)
            raise UpstreamUnavailable(
                f"timed out ({_reason(exc)})",
                endpoint=endpoint,
                may_have_reached_vendor=not isinstance(exc, requests.exceptions.ConnectTimeout),
            ) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ):
            raise ProtocolError(f"invalid API address {self.base_url!r}", endpoint=endpoint) from None
        except requests.exceptions.RequestException as exc:
            self._log(method, endpoint, "connection error", started)
            raise UpstreamUnavailable(
                f"cannot connect ({self._scrub(_reason(exc))})",
                endpoint=endpoint,
                may_have_reached_vendor=not _never_sent(exc),
            ) from None
        finally:
            if body is not None:
                body.close()
        try:
            data = self._decode(endpoint, response)
        except UpstreamError as error:
            # The live service refuses with HTTP 200 and a code (digest, "Error transport"): log both.
            outcome = response.status_code if error.code is None else f"{response.status_code} code {error.code}"
            self._log(method, endpoint, outcome, started)
            error.message = self._scrub(error.message)
            raise
        self._log(method, endpoint, response.status_code, started)
        return data

    def _decode(self, endpoint: str, response: requests.Response) -> Any:
        status = response.status_code
        retry_after = _retry_after(response.headers.get("Retry-After"))
        try:
            body = response.json()
        except ValueError:
            body = _NOT_JSON
        if isinstance(body, dict) and "code" in body:
            code = _code(body["code"], endpoint, status)
            msg = body.get("msg")
            msg = msg if isinstance(msg, str) else ("" if msg is None else str(msg))
            if code != 0:
                if retry_after is None:
                    retry_after = _retry_after(body.get("retry_after"))
                raise error_for(code, msg, status, endpoint, retry_after=retry_after)
            if status >= 300:
                raise error_for(None, msg, status, endpoint, retry_after=retry_after)
            return body.get("info")
        if status >= 300:
            msg = (
                (body.get("msg") or body.get("detail") or body.get("error")) if isinstance(body, dict) else ""
            )
            if 300 <= status < 400:
                msg = f"unexpected redirect to {response.headers.get('Location', '?')!r}"
            raise error_for(
                None, msg if isinstance(msg, str) else "", status, endpoint, retry_after=retry_after
            )
        if body is _NOT_JSON:
            kind = response.headers.get("Content-Type", "no content type")
            raise ProtocolError(f"the answer is not JSON ({kind})", status=status, endpoint=endpoint)
        return body

    def _log(self, method: str, endpoint: str, outcome: object, started: float) -> None:
        logger.debug(
            "miaohua %s %s -> %s in %.0f ms", method, endpoint, outcome, (time.monotonic() - started) * 1000
        )

    def _scrub(self, text: str) -> str:
        """``text`` without the token or the password (a vendor message might echo them)."""
        for secret in (self._token, self._password):
            if secret and len(secret) >= 3:
                text = text.replace(secret, "***")
        return text


# --- Answer helpers ----------------------------------------------------------------------------------------

_NOT_JSON = object()


def _code(value: Any, endpoint: str, status: int) -> int:
    if isinstance(value, bool):
        raise ProtocolError(f"'code' should be a number, got {value!r}", status=status, endpoint=endpoint)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ProtocolError(
            f"'code' should be a number, got {value!r}", status=status, endpoint=endpoint
        ) from None


def _retry_after(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def _id_from(data: Any, key: str, endpoint: str, kinds: tuple[type, ...] = (str,)) -> Any:
    """An id answered bare (``{key: id}``), wrapped (``info: {key: id}``) or as ``info`` itself."""
    value = data.get(key) if isinstance(data, dict) else data
    if isinstance(value, bool) or not isinstance(value, kinds) or value == "":
        raise ProtocolError(f"the answer carries no {key}", endpoint=endpoint)
    return value


def _match_tasks(ids: list[str], items: list[Task]) -> tuple[dict[str, Task], int]:
    """Pair ``task_results`` items with the requested ids (digest: "task_results"; order not documented).

    Returns the tasks keyed by id, and how many finished items could not be placed."""
    wanted = set(ids)
    found: dict[str, Task] = {}
    unmatched: list[Task] = []
    for task in items:
        if task.task_id in wanted:
            found.setdefault(task.task_id, task)
        elif task.task_id is None:
            unmatched.append(task)
        else:
            logger.debug("miaohua task_results: ignoring an item for an id that was not asked for")
    missing = [task_id for task_id in ids if task_id not in found]
    unplaced = 0
    if unmatched:
        # Items without any id (no images: pending or failed) can be placed only where the placement cannot
        # matter: one left over for one id, or as many as the ids left and all alike.
        placeable = len(unmatched) == len(missing) and (
            len(unmatched) == 1 or all(_same_outcome(unmatched[0], task) for task in unmatched)
        )
        if placeable:
            for task_id, task in zip(missing, unmatched, strict=True):
                found[task_id] = task
        else:
            # A pending item needs no placing (an id left out is pending); a finished one does.
            unplaced = sum(task.is_finished for task in unmatched)
    result = {}
    for task_id in ids:
        task = found.get(task_id) or Task.pending(task_id)
        task.task_id = task_id
        result[task_id] = task
    return result, unplaced


def _same_outcome(a: Task, b: Task) -> bool:
    return not a.images and not b.images and (a.state, a.error_msg) == (b.state, b.error_msg)


def _reason(exc: BaseException) -> str:
    return type(exc).__name__


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """True when the connection was never made, so the vendor cannot have seen the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else None
    return isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))


# --- Streaming multipart uploads ---------------------------------------------------------------------------

_SNIFF = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF8", ".gif"))


class _UploadSource:
    """One file to upload: its name, size and a way to read it from the start, as often as a retry needs."""

    def __init__(self, filename: str, size: int, opener: Callable[[], BinaryIO], closes: bool) -> None:
        self.filename = filename
        self.size = size
        self._opener = opener
        self._closes = closes

    @classmethod
    def of(cls, file: Upload) -> _UploadSource:
        filename = None
        if isinstance(file, tuple):
            filename, file = file
        if isinstance(file, str | os.PathLike):
            path = os.fspath(file)
            size = os.path.getsize(path)
            return cls(filename or os.path.basename(path), size, lambda: open(path, "rb"), closes=True)
        if isinstance(file, bytes | bytearray | memoryview):
            content = bytes(file)
            return cls(
                filename or _sniffed_name(content), len(content), lambda: io.BytesIO(content), closes=True
            )
        if hasattr(file, "read"):
            start = file.tell()
            file.seek(0, io.SEEK_END)
            size = file.tell() - start
            file.seek(start)
            if filename is None:
                name = getattr(file, "name", None)
                filename = os.path.basename(name) if isinstance(name, str) and name else None
            if filename is None:
                head = file.read(16)
                file.seek(start)
                filename = _sniffed_name(head)

            def rewind(file=file, start=start) -> BinaryIO:
                file.seek(start)
                return file

            return cls(filename, size, rewind, closes=False)
        raise TypeError(f"cannot upload a {type(file).__name__}: give a path, bytes or a binary file object")

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.filename)[0] or "application/octet-stream"

    def chunks(self, size: int) -> Iterator[bytes]:
        handle = self._opener()
        try:
            remaining = self.size
            while remaining > 0:
                chunk = handle.read(min(size, remaining))
                if not chunk:
                    raise ProtocolError(f"{self.filename} is shorter than when the upload started")
                remaining -= len(chunk)
                yield chunk
        finally:
            if self._closes:
                handle.close()


def _sniffed_name(head: bytes) -> str:
    for magic, extension in _SNIFF:
        if head.startswith(magic):
            return "image" + extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image.webp"
    return "image.bin"


class _MultipartBody:
    """A multipart/form-data body of known length that requests reads piece by piece.

    requests' own ``files=`` builds the whole body in memory; this one opens each file only when reached."""

    CHUNK = 64 * 1024

    def __init__(self, field: str, uploads: list[_UploadSource]) -> None:
        self.boundary = uuid.uuid4().hex
        self._parts = []
        for upload in uploads:
            safe_name = upload.filename.replace('"', "%22").replace("\r", "").replace("\n", "")
            head = (
                f"--{self.boundary}\r\n"
                f'Content-Disposition: form-data; name="{field}"; filename="{safe_name}"\r\n'
                f"Content-Type: {upload.content_type}\r\n\r\n"
            ).encode()
            self._parts.append((head, upload))
        self._tail = f"--{self.boundary}--\r\n".encode()
        self.len = sum(len(head) + upload.size + 2 for head, upload in self._parts) + len(self._tail)
        self._stream = self._generate()
        self._buffer = b""

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self.len

    def _generate(self) -> Iterator[bytes]:
        for head, upload in self._parts:
            yield head
            yield from upload.chunks(self.CHUNK)
            yield b"\r\n"
        yield self._tail

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(self.CHUNK):
            yield chunk

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.len
        while len(self._buffer) < size:
            piece = next(self._stream, None)
            if piece is None:
                break
            self._buffer += piece
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk

    def close(self) -> None:
        self._stream.close()
