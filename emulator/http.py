"""Small HTTP helpers: Discord-style JSON responses, errors and request bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import BodyPartReader, web

from emulator.models import Attachment

# Where :func:`read_body` / :func:`read_json` keep the parsed JSON payload on the request, for
# observers of the exchange (see ``Emulator.observers``): a body can be read only once.
REQUEST_PAYLOAD = web.RequestKey("emulator.payload", object)


class ApiError(Exception):
    """A Discord API error: HTTP status, JSON error code and message."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def unknown(what: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


def form_error(field: str, code: str, message: str) -> ApiError:
    """400 / 50035 with Discord's nested ``errors`` shape; ``field`` may be dotted
    (``embeds.0.title``)."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(field.split(".")):
        errors = {part: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> web.Response:
    """JSON with Content-Type exactly ``application/json`` (discord.py checks it)."""
    if status == 204:
        return web.Response(status=204, headers=headers)
    return web.Response(
        body=json.dumps(data).encode(), status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


async def read_body(request: web.Request, new_id: Callable[[], int]
                    ) -> tuple[dict[str, Any], list[Attachment]]:
    """The JSON payload and any uploaded files (multipart ``payload_json`` + ``files[n]``)."""
    files: list[Attachment] = []
    if request.content_type.startswith("multipart/"):
        payload: dict[str, Any] = {}
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):  # Discord sends no nested multipart
                continue
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            elif part.name and part.name.startswith("files["):
                data = await part.read(decode=False)
                files.append(Attachment(new_id(), part.filename or "file", bytes(data),
                                        part.headers.get("Content-Type")))
        request[REQUEST_PAYLOAD] = payload
        return payload, files
    return await read_json(request), files


async def read_json(request: web.Request) -> Any:
    """The JSON body (``{}`` when empty); 400 / 50109 when it is not JSON."""
    if not request.can_read_body:
        return {}
    text = await request.text()
    if not text:
        return {}
    try:
        request[REQUEST_PAYLOAD] = json.loads(text)
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
    return request[REQUEST_PAYLOAD]
