"""A fake Gemini API (generateContent), for images and for text, following api-contracts.md.

with FakeGemini(api_key="fake-key") as gemini:
    env["GEMINI_API_BASE"] = gemini.url
    gemini.queue(FakeGemini.error(429))          # or .blocked("SAFETY"), .prompt_blocked()
    gemini.answer_text(json.dumps(storyboard))   # the next text request's answer

A request is checked the way Google checks it before anything is answered (queued text answers
included): the key header, contents and their roles and parts, the response MIME type, and the
response schema's types; a bad request gets Google's 400 INVALID_ARGUMENT shape. A request
without a key gets 403 PERMISSION_DENIED, a wrong key 400 API_KEY_INVALID, as Google answers.
"""

from __future__ import annotations

import base64
import collections
import json
import re

from .base import FakeServer, Recorded, Reply
from .media import png_bytes

GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}  # fmt: skip
PATH = re.compile(r"^/v1(beta)?/models/(?P<model>[^/:]+):generateContent$")
RESPONSE_MIME_TYPES = (
    "text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum",
)  # fmt: skip
SCHEMA_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"}
# The fields of Google's Schema object; any other name in a response schema is a 400 (REST
# checks field names: 'Unknown name "additionalProperties" ...: Cannot find field.').
SCHEMA_KEYS = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
    "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
    "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
}  # fmt: skip
ROLES = ("user", "model")


class BadRequest(Exception):
    """What Google's 400 INVALID_ARGUMENT would say about a request."""


class FakeGemini(FakeServer):
    def __init__(self, api_key: str = "fake-gemini-key", image: bytes | None = None,
                 mime_type: str = "image/png"):  # fmt: skip
        super().__init__()
        self.api_key = api_key
        self.image = image if image is not None else png_bytes(64, 36)
        self.mime_type = mime_type
        self.text_replies: collections.deque[Reply] = collections.deque()

    def answer_text(self, *texts_or_replies) -> None:
        """Answer the next valid text requests with these texts (or Replies), in order."""
        for item in texts_or_replies:
            self.text_replies.append(item if isinstance(item, Reply) else self.text_reply(item))

    def answer(self, request: Recorded) -> Reply:
        match = PATH.match(request.path)
        if request.method != "POST" or not match:
            return self.error(404, f"Path {request.path} was not found.")
        key = request.headers.get("x-goog-api-key")
        if not key and "key" not in request.query:
            return self.error(403, "Method doesn't allow unregistered callers (callers without "
                              "established identity). Please use API Key or other form of API "
                              "consumer identity to call this API.")  # fmt: skip
        if key != self.api_key:
            # What Google really answers for a wrong key: 400, with reason API_KEY_INVALID.
            return self.error(400, "API key not valid. Please pass a valid API key.",
                              reason="API_KEY_INVALID")  # fmt: skip
        body = request.json
        try:
            wants_image = self.check_request(body)
        except BadRequest as problem:
            return self.error(400, str(problem))
        if wants_image:
            return self.image_reply(self.image, self.mime_type)
        if self.text_replies:
            return self.text_replies.popleft()
        return self.text_reply("{}")

    # ------------------------------------------------------------------ request checks

    @classmethod
    def check_request(cls, body) -> bool:
        """Raise BadRequest as Google would; return True when the request asks for an image."""
        if not isinstance(body, dict):
            raise BadRequest("Invalid JSON payload received.")
        contents = body.get("contents")
        if not contents:
            raise BadRequest("* GenerateContentRequest.contents: contents is not specified")
        for index, content in enumerate(contents):
            where = f"* GenerateContentRequest.contents[{index}]"
            if not isinstance(content, dict) or content.get("role", "user") not in ROLES:
                raise BadRequest(f"{where}.role: Please use a valid role: user, model.")
            cls.check_parts(content.get("parts"), f"{where}.parts")
        system = body.get("systemInstruction")
        if system is not None:
            if not isinstance(system, dict):
                raise BadRequest("* GenerateContentRequest.system_instruction: must be a Content")
            cls.check_parts(
                system.get("parts"), "* GenerateContentRequest.system_instruction.parts"
            )
        config = body.get("generationConfig") or {}
        if not isinstance(config, dict):
            raise BadRequest("* GenerateContentRequest.generation_config: must be an object")
        mime_type = config.get("responseMimeType")
        if mime_type is not None and mime_type not in RESPONSE_MIME_TYPES:
            raise BadRequest(
                "* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes "
                "are " + ", ".join(f"`{allowed}`" for allowed in RESPONSE_MIME_TYPES)
            )
        schema = config.get("responseSchema")
        if schema is not None:
            if mime_type not in ("application/json", "text/x.enum"):
                raise BadRequest(
                    "* GenerateContentRequest.generation_config.response_schema: "
                    "response_mime_type must be application/json or text/x.enum to use a "
                    "response schema"
                )
            cls.check_schema(schema, "generation_config.response_schema")
        temperature = config.get("temperature")
        if temperature is not None and not (
            isinstance(temperature, int | float) and 0 <= temperature <= 2
        ):
            raise BadRequest(
                "* GenerateContentRequest.generation_config.temperature: must be in [0.0, 2.0]"
            )
        return "IMAGE" in (config.get("responseModalities") or [])

    @staticmethod
    def check_parts(parts, where):
        if not isinstance(parts, list) or not parts:
            raise BadRequest(f"{where}: contents.parts must not be empty.")
        for part in parts:
            if not isinstance(part, dict) or not (
                {"text", "inlineData", "inline_data"} & set(part)
            ):
                raise BadRequest(f"{where}: a part needs data (text or inlineData)")

    @classmethod
    def check_schema(cls, schema, where):
        if not isinstance(schema, dict):
            raise BadRequest(f"* GenerateContentRequest.{where}: must be a Schema object")
        for name in schema:
            if name not in SCHEMA_KEYS:
                raise BadRequest(
                    f"Invalid JSON payload received. Unknown name {json.dumps(name)} at "
                    f"'{where}': Cannot find field."
                )
        kind = str(schema.get("type", "")).upper()
        if kind not in SCHEMA_TYPES:
            raise BadRequest(
                f"* GenerateContentRequest.{where}.type: Invalid value {schema.get('type')!r}"
            )
        if kind == "OBJECT":
            properties = schema.get("properties")
            if not properties:
                raise BadRequest(
                    f"* GenerateContentRequest.{where}.properties: should be non-empty for "
                    "OBJECT type"
                )
            for name in schema.get("required") or []:
                if name not in properties:
                    raise BadRequest(
                        f"* GenerateContentRequest.{where}.required[{name}]: property is not "
                        "defined"
                    )
            for name, child in properties.items():
                cls.check_schema(child, f"{where}.properties[{name}]")
        if kind == "ARRAY":
            if "items" not in schema:
                raise BadRequest(f"* GenerateContentRequest.{where}.items: missing field.")
            cls.check_schema(schema["items"], f"{where}.items")

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
    def text_reply(text: str, *, prompt_tokens: int = 1200, output_tokens: int = 900,
                   thoughts_tokens: int = 0, finish_reason: str = "STOP") -> Reply:  # fmt: skip
        usage = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": prompt_tokens + output_tokens + thoughts_tokens,
        }
        if thoughts_tokens:
            usage["thoughtsTokenCount"] = thoughts_tokens
        return Reply.json_body(200, {
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": finish_reason, "index": 0}],
            "usageMetadata": usage,
            "modelVersion": "fake",
        })  # fmt: skip

    @staticmethod
    def json_reply(document, **kwargs) -> Reply:
        return FakeGemini.text_reply(json.dumps(document), **kwargs)

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
