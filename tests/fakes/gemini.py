"""A fake Gemini image API (generateContent), following api-contracts.md.

with FakeGemini(api_key="fake-key") as gemini:
    env["GEMINI_API_BASE"] = gemini.url
    gemini.queue(FakeGemini.error(429))          # or .blocked("SAFETY"), .prompt_blocked()
"""

from __future__ import annotations

import base64
import re

from .base import FakeServer, Recorded, Reply
from .media import png_bytes

GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}  # fmt: skip
PATH = re.compile(r"^/v1(beta)?/models/(?P<model>[^/:]+):generateContent$")


class FakeGemini(FakeServer):
    def __init__(self, api_key: str = "fake-gemini-key", image: bytes | None = None,
                 mime_type: str = "image/png"):  # fmt: skip
        super().__init__()
        self.api_key = api_key
        self.image = image if image is not None else png_bytes(64, 36)
        self.mime_type = mime_type

    def answer(self, request: Recorded) -> Reply:
        match = PATH.match(request.path)
        if request.method != "POST" or not match:
            return self.error(404, f"Path {request.path} was not found.")
        if request.headers.get("x-goog-api-key") != self.api_key:
            # What Google really answers for a wrong key: 400, with reason API_KEY_INVALID.
            return self.error(400, "API key not valid. Please pass a valid API key.",
                              reason="API_KEY_INVALID")  # fmt: skip
        body = request.json
        if not isinstance(body, dict) or not body.get("contents"):
            return self.error(400, "* GenerateContentRequest.contents: contents is not specified")
        return self.image_reply(self.image, self.mime_type)

    # ------------------------------------------------------------------ canned answers

    @staticmethod
    def image_reply(image: bytes, mime_type: str = "image/png", text: str | None = None) -> Reply:
        parts = [{"text": text}] if text else []
        parts.append({"inlineData": {"mimeType": mime_type,
                                     "data": base64.b64encode(image).decode()}})  # fmt: skip
        return Reply.json_body(200, {
            "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1290},
        })  # fmt: skip

    @staticmethod
    def blocked(finish_reason: str = "IMAGE_SAFETY", text: str | None = None) -> Reply:
        content = {"role": "model", "parts": [{"text": text}]} if text else {}
        return Reply.json_body(200, {
            "candidates": [{"content": content, "finishReason": finish_reason}],
            "usageMetadata": {"promptTokenCount": 12},
        })  # fmt: skip

    @staticmethod
    def prompt_blocked(block_reason: str = "SAFETY") -> Reply:
        return Reply.json_body(200, {
            "promptFeedback": {"blockReason": block_reason},
            "usageMetadata": {"promptTokenCount": 12},
        })  # fmt: skip

    @staticmethod
    def error(status: int, message: str = "", reason: str | None = None) -> Reply:
        details = []
        if reason:
            details.append({"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": reason, "domain": "googleapis.com"})  # fmt: skip
        return Reply.json_body(status, {"error": {
            "code": status,
            "message": message or f"fake {GOOGLE_STATUS.get(status, 'ERROR')}",
            "status": GOOGLE_STATUS.get(status, "UNKNOWN"),
            "details": details,
        }})  # fmt: skip
