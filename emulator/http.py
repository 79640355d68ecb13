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


EMBED_LIMITS = {"title": 256, "description": 4096}


def _check_embed(index: int, embed: dict[str, Any]) -> None:
    def too_long(where: str, value: Any, limit: int) -> None:
        if value is not None and len(str(value)) > limit:
            raise form_error(f"embeds.{index}.{where}", "BASE_TYPE_MAX_LENGTH",
                             f"Must be {limit} or fewer in length.")

    for key, limit in EMBED_LIMITS.items():
        too_long(key, embed.get(key), limit)
    too_long("footer.text", (embed.get("footer") or {}).get("text"), 2048)
    too_long("author.name", (embed.get("author") or {}).get("name"), 256)
    fields = embed.get("fields") or []
    if len(fields) > 25:
        raise form_error(f"embeds.{index}.fields", "BASE_TYPE_MAX_LENGTH",
                         "Must be 25 or fewer in length.")
    for number, fld in enumerate(fields):
        too_long(f"fields.{number}.name", fld.get("name"), 256)
        too_long(f"fields.{number}.value", fld.get("value"), 1024)


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


def validate_message(payload: dict[str, Any], files: list[Attachment], *, edit: bool = False
                     ) -> None:
    """Discord's message limits, with Discord's error codes (an edit may leave it empty)."""
    content = payload.get("content") or ""
    embeds = payload.get("embeds") or []
    if len(content) > 2000:
        raise form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    if len(embeds) > 10:
        raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        _check_embed(index, embed)
        total += len(embed.get("title") or "") + len(embed.get("description") or "")
        total += len((embed.get("footer") or {}).get("text") or "")
        total += len((embed.get("author") or {}).get("name") or "")
        for fld in embed.get("fields") or []:
            total += len(fld.get("name") or "") + len(fld.get("value") or "")
    if total > 6000:
        raise form_error(
            "embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )
    if not edit and not (content or embeds or files or payload.get("components")
                         or payload.get("sticker_ids") or payload.get("attachments")
                         or payload.get("poll")):
        raise ApiError(400, 50006, "Cannot send an empty message")
