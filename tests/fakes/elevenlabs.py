"""A fake ElevenLabs API: text-to-speech and sound generation, errors as api-contracts.md says.

with FakeElevenLabs(api_key="k", voice_id="voice123") as eleven:
    eleven.queue(FakeElevenLabs.busy())                # 429 too_many_concurrent_requests
    eleven.character_header = "x-character-count"      # which header reports the cost
"""

from __future__ import annotations

import re

from .base import FakeServer, Recorded, Reply
from .media import mp3_bytes

TTS_PATH = re.compile(r"^/v1/text-to-speech/(?P<voice>[^/]+)(/stream)?$")


class FakeElevenLabs(FakeServer):
    def __init__(self, api_key: str = "fake-eleven-key", voice_id: str = "fake-voice-id"):
        super().__init__()
        self.api_key = api_key
        self.voice_ids = {voice_id}
        self.speech = mp3_bytes(1.0, 220)
        self.effect = mp3_bytes(2.0, 880)
        self.character_header: str | None = "character-cost"

    def answer(self, request: Recorded) -> Reply:
        if request.headers.get("xi-api-key") != self.api_key:
            return self.detail(401, "invalid_api_key", "Invalid API key")
        if request.method != "POST":
            return Reply.json_body(405, {"detail": "Method Not Allowed"})
        body = request.json
        if not isinstance(body, dict):
            return self.validation(["body"], "Input should be a valid dictionary")
        match = TTS_PATH.match(request.path)
        if match:
            if match["voice"] not in self.voice_ids:
                return self.detail(
                    400, "voice_not_found", f"A voice with voice_id {match['voice']} was not found."
                )
            if not body.get("text"):
                return self.validation(["body", "text"], "Field required")
            headers = {"Content-Type": "audio/mpeg"}
            if self.character_header:
                headers[self.character_header] = str(len(body["text"]))
            return Reply(200, self.speech, headers)
        if request.path == "/v1/sound-generation":
            if not body.get("text"):
                return self.validation(["body", "text"], "Field required")
            duration = body.get("duration_seconds")
            if duration is not None and not 0.5 <= float(duration) <= 30:
                return self.validation(["body", "duration_seconds"],
                                       "Input should be between 0.5 and 30")  # fmt: skip
            return Reply(200, self.effect, {"Content-Type": "audio/mpeg"})
        return Reply.json_body(404, {"detail": "Not Found"})

    # ------------------------------------------------------------------ canned answers

    @staticmethod
    def detail(status: int, code: str, message: str) -> Reply:
        return Reply.json_body(status, {"detail": {"status": code, "message": message}})

    @staticmethod
    def validation(location: list[str], message: str) -> Reply:
        return Reply.json_body(422, {"detail": [
            {"loc": location, "msg": message, "type": "value_error"}]})  # fmt: skip

    @classmethod
    def busy(cls, code: str = "too_many_concurrent_requests") -> Reply:
        return cls.detail(429, code, "Too many concurrent requests for your plan")

    @classmethod
    def quota_exceeded(cls) -> Reply:
        return cls.detail(400, "quota_exceeded", "This request exceeds your quota")
