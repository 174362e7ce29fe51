"""Fakes for KIE.ai (Kling image-to-video jobs) and catbox (public file upload).

FakeKie keeps tasks in memory: createTask checks the Bearer key and the body, and each
recordInfo poll advances the task through ``states`` (default waiting -> generating ->
success). The finished task's resultUrls point back at this server (/results/<taskId>.mp4),
which serves ``video`` (a real small MP4 by default). A fail state carries failCode/failMsg.

    with FakeCatbox() as catbox, FakeKie(api_key="k") as kie:
        kie.states = ["waiting", "generating", "fail"]
        kie.queue(Reply.json_body(200, {"code": 402, "msg": "insufficient credits"}))
"""

from __future__ import annotations

import json
import uuid

from .base import FakeServer, Recorded, Reply
from .media import mp4_bytes


class FakeKie(FakeServer):
    def __init__(self, api_key: str = "fake-kie-key", video: bytes | None = None):
        super().__init__()
        self.api_key = api_key
        self.video = video if video is not None else mp4_bytes(1.0)
        self.video_reply: Reply | None = None  # override how /results/ answers
        self.states = ["waiting", "generating", "success"]
        self.fail_code = "500"
        self.fail_message = "content moderation: the image was rejected"
        self.tasks: dict[str, dict] = {}

    def answer(self, request: Recorded) -> Reply:
        if request.path.startswith("/results/"):
            if self.video_reply is not None:
                return self.video_reply
            return Reply(200, self.video, {"Content-Type": "video/mp4"})
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return self.body_code(401, "You do not have access permissions")
        if request.method == "POST" and request.path == "/api/v1/jobs/createTask":
            return self._create(request)
        if request.method == "GET" and request.path == "/api/v1/jobs/recordInfo":
            return self._record_info(request)
        return Reply.json_body(404, {"code": 404, "msg": "Not Found"})

    def _create(self, request: Recorded) -> Reply:
        body = request.json
        if not isinstance(body, dict) or not body.get("model"):
            return self.body_code(422, "model is required")
        task_input = body.get("input") or {}
        if not task_input.get("image_url") or not task_input.get("prompt"):
            return self.body_code(422, "input.image_url and input.prompt are required")
        if task_input.get("duration") not in ("5", "10"):
            return self.body_code(422, 'input.duration must be "5" or "10"')
        task_id = uuid.uuid4().hex
        self.tasks[task_id] = {"polls": 0, "body": body}
        return Reply.json_body(200, {"code": 200, "msg": "success", "data": {"taskId": task_id}})

    def _record_info(self, request: Recorded) -> Reply:
        task_id = (request.query.get("taskId") or [""])[0]
        task = self.tasks.get(task_id)
        if task is None:
            return self.body_code(404, f"task {task_id} not found")
        state = self.states[min(task["polls"], len(self.states) - 1)]
        task["polls"] += 1
        data = {
            "taskId": task_id,
            "model": task["body"]["model"],
            "state": state,
            "param": json.dumps(task["body"]),
            "resultJson": None,
            "failCode": None,
            "failMsg": None,
            "costTime": None,
            "completeTime": None,
            "createTime": 1764000000000,
        }
        if state == "success":
            data["resultJson"] = json.dumps({"resultUrls": [f"{self.url}/results/{task_id}.mp4"]})
        elif state == "fail":
            data["failCode"], data["failMsg"] = self.fail_code, self.fail_message
        return Reply.json_body(200, {"code": 200, "msg": "success", "data": data})

    @staticmethod
    def body_code(code: int, message: str, http_status: int = 200) -> Reply:
        """KIE reports many errors as HTTP 200 with the real code in the body."""
        return Reply.json_body(http_status, {"code": code, "msg": message, "data": None})


class FakeCatbox(FakeServer):
    """catbox.moe's user API: multipart reqtype=fileupload + fileToUpload -> plain-text URL."""

    PATH = "/user/api.php"

    def __init__(self):
        super().__init__()
        self.uploads: dict[str, bytes] = {}

    @property
    def api_url(self) -> str:
        return self.url + self.PATH

    def answer(self, request: Recorded) -> Reply:
        if request.method == "POST" and request.path == self.PATH:
            form = request.form()
            if form.get("reqtype", (None, b""))[1] != b"fileupload" or "fileToUpload" not in form:
                return Reply.text(412, "No request type given.")
            filename, content = form["fileToUpload"]
            name = f"{uuid.uuid4().hex[:6]}{'.' + filename.rsplit('.', 1)[-1] if filename else ''}"
            self.uploads[name] = content
            return Reply.text(200, f"{self.url}/files/{name}")
        if request.method == "GET" and request.path.startswith("/files/"):
            content = self.uploads.get(request.path.rsplit("/", 1)[-1])
            if content is not None:
                return Reply(200, content, {"Content-Type": "image/png"})
        return Reply.text(404, "File not found")
