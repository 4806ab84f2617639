"""Vendor error codes, and the HTTP status the simulator answers them with in the `seed` shape.

Every refusal is an envelope `{"code": <vendor code>, "info": "", "msg": "<message naming the field>"}`, in
every shape, since the vendor's document shows no bare error. In the default `live` shape (and `envelope`)
its HTTP status is 200, as public clients of the live service read it (digest, "Error transport"); in the
`seed` shape it is the status below (see api.py).

| code | meaning (vendor table)                        | seed | raised by                                   |
| ---- | --------------------------------------------- | ---- | ------------------------------------------- |
| 101  | email not registered                          | 401  | get_token                                   |
| 102  | wrong password                                | 401  | get_token                                   |
| 401  | authentication failed: no token sent          | 401  | every authenticated endpoint                |
| 411  | token expired (lifetime or forced expiry)     | 401  | every authenticated endpoint                |
| 412  | token could not be decoded (not our format)   | 401  | every authenticated endpoint                |
| 413  | invalid token (our format, but not issued)    | 401  | every authenticated endpoint                |
| 416  | user banned (SimAccount.banned)               | 403  | every authenticated endpoint                |
| 429  | too many requests (task_results: 6/s/token)   | 429  | task_results                                |
| 129  | illegal parameter                             | 400  | generation, uploads, img2txt, catalogs      |
| 403  | general parameter error (see msg)             | 400  | malformed bodies, datasets, training        |
| 400  | invalid image                                 | 400  | dataset, dataset/add_images, delete_images  |
| 106  | task does not exist (or another account's)    | 404  | task_result                                 |
| 107  | training task does not exist                  | 404  | train_progress                              |
| 118  | daily download limit reached                  | 200  | only injected (faults.py `error_code=118`)  |
| 123  | too many running tasks (max_running_tasks)    | 200  | task_submit                                 |
| 124  | balance too low (credits)                     | 200  | task_submit                                 |
| 430  | input contains sensitive content              | 200  | task_submit (the sensitive marker)          |
| 704  | image is sensitive                            | 200  | upload_img(s) (the marker in a file name)   |

Not vendor codes: an unknown endpoint answers 404 and a wrong method 405 (in every shape), both with code
403; injected faults (faults.py) answer 429/500/503/504 with bodies that are not always JSON, like a
gateway's.

The token format is `mh.` followed by 43 URL-safe characters: anything else is "not decodable" (412);
that format with a key the simulator never issued (or issued before the tables were flushed) is 413.
"""

HTTP_STATUS = {
    101: 401,
    102: 401,
    401: 401,
    411: 401,
    412: 401,
    413: 401,
    416: 403,
    429: 429,
    129: 400,
    403: 400,
    400: 400,
    106: 404,
    107: 404,
    108: 404,
    118: 200,
    123: 200,
    124: 200,
    430: 200,
    704: 200,
}

ILLEGAL_PARAMETER = 129
PARAMETER_ERROR = 403
INVALID_IMAGE = 400


class ApiError(Exception):
    """A refusal in the vendor's terms; api.py turns it into the error envelope."""

    def __init__(self, code: int, msg: str, *, http_status: int | None = None):
        """`http_status` given: the web server's answer (404, 405), kept in every shape."""
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.http_status = http_status or HTTP_STATUS.get(code, 400)
        self.keeps_status = http_status is not None


def illegal(msg: str) -> ApiError:
    return ApiError(ILLEGAL_PARAMETER, msg)


def parameter_error(msg: str) -> ApiError:
    return ApiError(PARAMETER_ERROR, msg)


def require(body: dict, name: str, *, code: int = ILLEGAL_PARAMETER, hint: str = ""):
    """A field the document marks required (是): missing (or null) is refused, an empty string is a value."""
    value = body.get(name)
    if value is None:
        raise ApiError(code, f"{name} is required" + (f" ({hint})" if hint else ""))
    return value
