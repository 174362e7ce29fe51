"""A fake Notion API (version 2025-09-03) on 127.0.0.1: the subset videogen uses.

Databases retrieve (with data_sources), data source retrieve/update/query (last_edited_time
filter, Task ID filter, ascending sort, page_size/start_cursor/has_more/next_cursor), pages
create/retrieve/update (archived), block children list and append; errors as Notion sends them
({"object": "error", "status", "code", "message", "request_id"}).

It ASSERTS what clients send: the `Notion-Version: 2025-09-03` header, a known bearer token
(else 401 unauthorized), request body shapes and property value shapes (else 400
validation_error). Every shape violation is also kept in `problems`, which the tests' fixture
requires to be empty. It records request times (`times`, for the rate test) and per-page update
counts (`updates`). last_edited_time is rounded down to the minute, like Notion's. Faults:
`fail_next(Reply...)` answers the next requests with a canned reply (429 with Retry-After, 5xx).

As strict as Notion's documentation:
- size limits counted as Notion counts them (JavaScript string length, UTF-16 code units: an
  emoji counts 2): 2,000 per rich-text object's content and per URL, 100 rich-text objects per
  property (400 validation_error); a long code block comes back as several rich-text objects;
- editing a trashed page is refused (400 validation_error "Can't edit block that is archived");
  only `{"in_trash": false}` restores it. `archived` (a deprecated alias in 2025-09-03) is
  accepted but recorded in `problems`;
- property values may be keyed by name or by property id (the title property's id is "title");
- appending block children (PATCH /v1/blocks/{id}/children): at most 100 blocks, each with a
  `type` and the object of that type; a code block's `language` one of Notion's names ("yaml",
  not "yml"), its rich text as a property's (2,000 UTF-16 units per object, 100 objects); a
  trashed page's body refuses it like any edit;
- ids are accepted with or without dashes, as Notion accepts them;
- `rate_limit=3.0` answers 429 rate_limited with Retry-After by itself when a client sends more
  than that many requests in any second (Notion's average of 3 per second);
- a person can rename a property, delete a select/status option, or trash a card
  (`rename_property`, `delete_option`, `trash_card`);
- every page carries `created_by` and `last_edited_by`, partial user objects
  ({"object": "user", "id": ...}) as Notion sends them: an edit through the API names the
  integration's bot user (one per token, `bot_user_id(token)`), a person's edit in the test
  (`add_card`, `move_card`, `trash_card`) names that person (`by=`, default `person_id`).
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import json
import re
import threading
import time
import uuid

from tests.fakes.base import FakeServer, Recorded, Reply

NOTION_VERSION = "2025-09-03"
PROPERTY_TYPES = {"title", "rich_text", "status", "select", "number", "url"}
BLOCK_TYPES = {"paragraph", "code", "heading_1", "heading_2", "heading_3", "quote", "callout"}
# Some of the code block languages Notion accepts (its list has ~70; "yml" is not one of them).
CODE_LANGUAGES = {"yaml", "json", "plain text", "python", "markdown", "javascript", "bash", "shell"}


def notion_error(status, code, message):
    body = {
        "object": "error",
        "status": status,
        "code": code,
        "message": message,
        "request_id": str(uuid.uuid4()),
    }
    return Reply.json_body(status, body)


def rate_limited(retry_after=1):
    reply = notion_error(429, "rate_limited", "You have been rate limited. Please try again.")
    reply.headers["Retry-After"] = str(retry_after)
    return reply


def server_error(status=503, code="service_unavailable"):
    return notion_error(status, code, "Notion is unavailable, please try again later.")


def utf16_length(text):
    """The length Notion checks: JavaScript's string length, in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _dashed(object_id):
    """Notion accepts ids with or without dashes; the fake stores them dashed."""
    bare = object_id.replace("-", "").lower()
    if len(bare) != 32:
        return object_id
    return str(uuid.UUID(bare))


def _split_utf16(text, size=2000):
    chunks, current, units = [], [], 0
    for char in text:
        width = utf16_length(char)
        if units + width > size:
            chunks.append("".join(current))
            current, units = [], 0
        current.append(char)
        units += width
    if current or not chunks:
        chunks.append("".join(current))
    return chunks


def _minute(moment):
    return moment.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def board_schema(*, omit_properties=(), omit_status_options=(), status_options=None):
    """The full board layout as Notion returns a data source's properties."""
    from pipeline.status import BOARD_COLUMNS

    options = [
        {"id": uuid.uuid4().hex[:4], "name": name, "color": "default"}
        for name in (status_options or BOARD_COLUMNS)
        if name not in omit_status_options
    ]
    properties = {
        "Title": {"id": "title", "type": "title", "title": {}},
        "Status": {"type": "status", "status": {"options": options, "groups": []}},
        "Channel": {"type": "select", "select": {"options": []}},
        "Topic": {"type": "rich_text", "rich_text": {}},
        "Story Direction": {"type": "rich_text", "rich_text": {}},
        "Priority": {
            "type": "select",
            "select": {"options": [{"id": n[:2], "name": n} for n in ("High", "Normal", "Low")]},
        },
        "Error Log": {"type": "rich_text", "rich_text": {}},
        "Task ID": {"type": "rich_text", "rich_text": {}},
        "Progress": {"type": "number", "number": {"format": "percent"}},
        "Cost": {"type": "number", "number": {"format": "dollar"}},
        "Review Link": {"type": "url", "url": {}},
        "YouTube URL": {"type": "url", "url": {}},
    }
    for name in omit_properties:
        properties.pop(name)
    for name, prop in properties.items():
        prop.setdefault("id", uuid.uuid4().hex[:4])
        prop["name"] = name
    return properties


class Invalid(Exception):
    pass


class TooLong(Exception):
    """A size limit: Notion answers 400 validation_error (a client's mistake, but a plausible
    one, so not a shape problem of the fake's own)."""


class FakeNotion(FakeServer):
    def __init__(self, tokens=(), *, rate_limit=None):
        super().__init__()
        self.tokens = set(tokens)
        self.rate_limit = rate_limit  # requests per second before a 429, None: no limit
        self.rate_limited = 0  # 429 answers given by the rate limit
        self.databases = {}  # database id -> [data source ids]
        self.schemas = {}  # data source id -> properties
        self.pages = {}  # page id -> page object
        self.blocks = {}  # page id -> [blocks]
        self.updates = collections.Counter()  # page id -> PATCH count
        self.creates = 0
        self.times = []  # (time.time(), method, path) of every request
        self.problems = []
        self.clock = lambda: dt.datetime.now(dt.UTC)
        self.person_id = str(uuid.uuid4())  # the person who edits cards when a test names nobody
        self._bots = {}  # token -> the integration's bot user id
        self._editor = None  # the bot user of the request being answered
        self._faults = collections.deque()
        self._state = threading.Lock()

    # ------------------------------------------------------------------ test helpers

    def fail_next(self, *replies):
        with self._state:
            self._faults.extend(replies)

    def add_board(self, **schema_options):
        database_id, data_source_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.databases[database_id] = [data_source_id]
        self.schemas[data_source_id] = board_schema(**schema_options)
        return database_id, data_source_id

    def bot_user_id(self, token):
        """The bot user an integration's edits are signed with (one per token, like Notion's)."""
        return self._bots.setdefault(token, str(uuid.uuid4()))

    @staticmethod
    def _user(user_id):
        return {"object": "user", "id": user_id}

    def add_card(
        self, data_source_id, *, title, status="Draft", storyboard=None, task_id="", topic="",
        direction="", by=None,
    ):  # fmt: skip
        page_id = str(uuid.uuid4())
        properties = {
            "Title": {"title": [{"type": "text", "text": {"content": title}}]},
            "Status": {"status": {"name": status}},
        }
        for name, text in (("Topic", topic), ("Story Direction", direction)):
            if text:
                properties[name] = {"rich_text": [{"type": "text", "text": {"content": text}}]}
        if task_id:
            properties["Task ID"] = {"rich_text": [{"type": "text", "text": {"content": task_id}}]}
        now = _minute(self.clock())
        with self._state:
            page = {
                "object": "page",
                "id": page_id,
                "created_time": now,
                "last_edited_time": now,
                "created_by": self._user(by or self.person_id),
                "last_edited_by": self._user(by or self.person_id),
                "archived": False,
                "in_trash": False,
                "parent": {"type": "data_source_id", "data_source_id": data_source_id},
                "properties": {},
                "url": f"https://www.notion.so/{page_id.replace('-', '')}",
            }
            self._set_properties(page, properties)
            self.pages[page_id] = page
            self.blocks[page_id] = []
            if storyboard is not None:
                self.blocks[page_id].append(
                    {"object": "block", "id": str(uuid.uuid4()), "type": "paragraph",
                     "paragraph": {"rich_text": self._rich([{"text": {"content": "Notes"}}])}}
                )  # fmt: skip
                self.blocks[page_id].append(
                    {"object": "block", "id": str(uuid.uuid4()), "type": "code",
                     "code": {"language": "yaml", "caption": [],
                              "rich_text": self._rich([{"text": {"content": chunk}}
                                                       for chunk in _split_utf16(storyboard)])}}
                )  # fmt: skip
        return page_id

    def code_blocks(self, page_id, language="yaml"):
        """The text of each code block of that language in the page body, in order."""
        return [
            "".join(item["plain_text"] for item in block["code"]["rich_text"])
            for block in self.blocks[page_id]
            if block["type"] == "code" and block["code"]["language"] == language
        ]

    def edit_code_block(self, page_id, text, language="yaml"):
        """A person rewrites the first code block of that language in the page body."""
        with self._state:
            for block in self.blocks[page_id]:
                if block["type"] == "code" and block["code"]["language"] == language:
                    chunks = [{"text": {"content": chunk}} for chunk in _split_utf16(text)]
                    block["code"]["rich_text"] = self._rich(chunks)
                    break
            else:
                raise KeyError(f"page {page_id} has no {language} code block")
            self.pages[page_id]["last_edited_time"] = _minute(self.clock())
            self.pages[page_id]["last_edited_by"] = self._user(self.person_id)

    def move_card(self, page_id, status, *, by=None):
        """A person (`by`, a Notion user id; default `person_id`) drags the card to another
        column."""
        with self._state:
            page = self.pages[page_id]
            page["properties"]["Status"]["status"] = self._option(page, "Status", status)
            page["last_edited_time"] = _minute(self.clock())
            page["last_edited_by"] = self._user(by or self.person_id)

    def trash_card(self, page_id, *, by=None):
        """A person moves the card to the trash."""
        with self._state:
            page = self.pages[page_id]
            page["archived"] = page["in_trash"] = True
            page["last_edited_time"] = _minute(self.clock())
            page["last_edited_by"] = self._user(by or self.person_id)

    def rename_property(self, data_source_id, old, new):
        """A person renames a property (its id stays; pages show it under the new name)."""
        with self._state:
            schema = self.schemas[data_source_id]
            schema[new] = schema.pop(old)
            schema[new]["name"] = new
            for page in self.pages.values():
                if page["parent"]["data_source_id"] == data_source_id and old in page["properties"]:
                    page["properties"][new] = page["properties"].pop(old)

    def delete_option(self, data_source_id, property_name, option_name):
        """A person deletes a select or status option: cards showing it show nothing."""
        with self._state:
            prop = self.schemas[data_source_id][property_name]
            kind = prop["type"]
            prop[kind]["options"] = [o for o in prop[kind]["options"] if o["name"] != option_name]
            for page in self.pages.values():
                value = page["properties"].get(property_name, {}).get(kind)
                if value and value.get("name") == option_name:
                    page["properties"][property_name][kind] = None

    def value(self, page_id, name):
        prop = self.pages[page_id]["properties"].get(name)
        if prop is None:
            return None
        kind = prop["type"]
        if kind in ("title", "rich_text"):
            return "".join(item["plain_text"] for item in prop[kind])
        if kind in ("status", "select"):
            return prop[kind]["name"] if prop[kind] else None
        return prop[kind]

    def writes(self, method, path_part):
        return [r for r in self.requests if r.method == method and path_part in r.path]

    # ------------------------------------------------------------------ request handling

    def answer(self, request: Recorded) -> Reply:
        self.times.append((time.time(), request.method, request.path))
        if request.headers.get("notion-version") != NOTION_VERSION:
            self.problems.append(f"{request.method} {request.path}: Notion-Version header")
            return notion_error(400, "missing_version", "Notion-Version header is missing.")
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return notion_error(401, "unauthorized", "API token is invalid.")
        with self._state:
            if self._faults:
                return self._faults.popleft()
            if self._over_rate():
                self.rate_limited += 1
                return rate_limited(1)
            self._editor = self._user(self.bot_user_id(auth[7:]))
            try:
                return self._route(request)
            except Invalid as invalid:
                self.problems.append(f"{request.method} {request.path}: {invalid}")
                return notion_error(400, "validation_error", str(invalid))

    def _over_rate(self):
        """More than `rate_limit` answered requests in the last second (429s not counted)."""
        if not self.rate_limit:
            return False
        now = time.time()
        answered = getattr(self, "_answered", collections.deque())
        self._answered = answered
        while answered and answered[0] <= now - 1.0:
            answered.popleft()
        if len(answered) >= self.rate_limit:
            return True
        answered.append(now)
        return False

    def _route(self, request):
        routes = [
            ("GET", r"/v1/databases/([^/]+)", self._database),
            ("GET", r"/v1/data_sources/([^/]+)", self._data_source),
            ("PATCH", r"/v1/data_sources/([^/]+)", self._data_source_update),
            ("POST", r"/v1/data_sources/([^/]+)/query", self._query),
            ("POST", r"/v1/pages", self._page_create),
            ("GET", r"/v1/pages/([^/]+)", self._page),
            ("PATCH", r"/v1/pages/([^/]+)", self._page_update),
            ("GET", r"/v1/blocks/([^/]+)/children", self._children),
            ("PATCH", r"/v1/blocks/([^/]+)/children", self._children_append),
        ]
        for method, pattern, handler in routes:
            match = re.fullmatch(pattern, request.path)
            if method == request.method and match:
                body = request.json if request.body else {}
                if request.body and not isinstance(body, dict):
                    raise Invalid("body must be a JSON object")
                return handler(request, body, *(_dashed(group) for group in match.groups()))
        return notion_error(400, "invalid_request_url", "Invalid request URL.")

    @staticmethod
    def _keys(body, allowed, where):
        extra = set(body) - set(allowed)
        if extra:
            raise Invalid(f"{where}: unexpected body keys {sorted(extra)}")

    def _not_found(self, kind, object_id):
        return notion_error(404, "object_not_found", f"Could not find {kind} with ID: {object_id}.")

    def _database(self, request, body, database_id):
        if database_id not in self.databases:
            return self._not_found("database", database_id)
        sources = [{"id": ds, "name": "Board"} for ds in self.databases[database_id]]
        return Reply.json_body(
            200, {"object": "database", "id": database_id, "data_sources": sources}
        )

    def _data_source(self, request, body, data_source_id):
        if data_source_id not in self.schemas:
            return self._not_found("data source", data_source_id)
        return Reply.json_body(
            200,
            {
                "object": "data_source",
                "id": data_source_id,
                "properties": copy.deepcopy(self.schemas[data_source_id]),
            },
        )

    def _data_source_update(self, request, body, data_source_id):
        self._keys(body, {"properties", "title"}, "data source update")
        schema = self.schemas.get(data_source_id)
        if schema is None:
            return self._not_found("data source", data_source_id)
        for name, config in body.get("properties", {}).items():
            kinds = set(config) - {"name", "description"}
            if len(kinds) != 1 or not kinds <= PROPERTY_TYPES:
                raise Invalid(f"property {name}: one type key expected, got {sorted(config)}")
            kind = kinds.pop()
            if kind == "status":
                return notion_error(
                    400,
                    "validation_error",
                    "It is not possible to update the name or options of a status property.",
                )
            entry = schema.setdefault(
                name, {"id": uuid.uuid4().hex[:4], "name": name, "type": kind, kind: {}}
            )
            if entry["type"] != kind:
                entry.clear()
                entry.update({"id": uuid.uuid4().hex[:4], "name": name, "type": kind, kind: {}})
            settings = dict(config[kind])
            if kind == "select":
                options = []
                by_id = {o["id"]: o for o in entry[kind].get("options", [])}
                for option in settings.get("options", []):
                    if "id" in option and option["id"] in by_id:
                        options.append(by_id[option["id"]])
                    elif "name" in option:
                        options.append({"id": uuid.uuid4().hex[:4], "name": option["name"]})
                    else:
                        raise Invalid(f"property {name}: option needs an id or a name")
                settings["options"] = options
            entry[kind] = settings
        return self._data_source(request, {}, data_source_id)

    def _query(self, request, body, data_source_id):
        self._keys(body, {"filter", "sorts", "start_cursor", "page_size"}, "query")
        if data_source_id not in self.schemas:
            return self._not_found("data source", data_source_id)
        size = body.get("page_size", 100)
        if not isinstance(size, int) or not 1 <= size <= 100:
            raise Invalid(f"page_size must be 1-100, got {size!r}")
        match = self._filter(body.get("filter"))
        for sort in body.get("sorts", []):
            if sort != {"timestamp": "last_edited_time", "direction": "ascending"}:
                raise Invalid(f"unsupported sort {sort}")
        pages = [
            p
            for p in self.pages.values()
            if p["parent"]["data_source_id"] == data_source_id and not p["archived"] and match(p)
        ]
        pages.sort(key=lambda p: (p["last_edited_time"], p["created_time"], p["id"]))
        start = 0
        if body.get("start_cursor"):
            ids = [p["id"] for p in pages]
            if body["start_cursor"] not in ids:
                raise Invalid(f"start_cursor {body['start_cursor']} is not valid")
            start = ids.index(body["start_cursor"])
        chunk = pages[start : start + size]
        more = start + size < len(pages)
        return Reply.json_body(
            200,
            {
                "object": "list",
                "type": "page_or_data_source",
                "results": copy.deepcopy(chunk),
                "next_cursor": pages[start + size]["id"] if more else None,
                "has_more": more,
            },
        )

    def _filter(self, spec):
        if spec is None:
            return lambda page: True
        if spec.get("timestamp") == "last_edited_time":
            condition = spec.get("last_edited_time", {})
            if set(condition) != {"on_or_after"}:
                raise Invalid(f"unsupported last_edited_time filter {condition}")
            since = dt.datetime.fromisoformat(condition["on_or_after"].replace("Z", "+00:00"))
            return lambda page: (
                dt.datetime.fromisoformat(page["last_edited_time"].replace("Z", "+00:00")) >= since
            )
        if spec.get("property") and set(spec.get("rich_text", {})) == {"equals"}:
            name, wanted = spec["property"], spec["rich_text"]["equals"]
            return lambda page: self.value_of(page, name) == wanted
        raise Invalid(f"unsupported filter {spec}")

    @staticmethod
    def value_of(page, name):
        prop = page["properties"].get(name)
        if not prop or prop["type"] not in ("rich_text", "title"):
            return ""
        return "".join(item["plain_text"] for item in prop[prop["type"]])

    def _page_create(self, request, body, *_):
        self._keys(body, {"parent", "properties", "children"}, "page create")
        parent = body.get("parent", {})
        if parent.get("type") != "data_source_id" or "data_source_id" not in parent:
            raise Invalid(f"parent must be {{type: data_source_id, data_source_id}}, got {parent}")
        parent = {**parent, "data_source_id": _dashed(parent["data_source_id"])}
        if parent["data_source_id"] not in self.schemas:
            return self._not_found("data source", parent["data_source_id"])
        page_id = str(uuid.uuid4())
        now = _minute(self.clock())
        page = {
            "object": "page",
            "id": page_id,
            "created_time": now,
            "last_edited_time": now,
            "created_by": dict(self._editor),
            "last_edited_by": dict(self._editor),
            "archived": False,
            "in_trash": False,
            "parent": parent,
            "properties": {},
            "url": f"https://www.notion.so/{page_id.replace('-', '')}",
        }
        error = self._set_properties(page, body.get("properties", {}))
        if error:
            return error
        self.pages[page_id] = page
        self.blocks[page_id] = []
        self.creates += 1
        return Reply.json_body(200, copy.deepcopy(page))

    def _page(self, request, body, page_id):
        if page_id not in self.pages:
            return self._not_found("page", page_id)
        return Reply.json_body(200, copy.deepcopy(self.pages[page_id]))

    def _page_update(self, request, body, page_id):
        self._keys(body, {"properties", "archived", "in_trash"}, "page update")
        page = self.pages.get(page_id)
        if page is None:
            return self._not_found("page", page_id)
        if "archived" in body:
            self.problems.append(
                f"PATCH {request.path}: 'archived' is deprecated in 2025-09-03; use 'in_trash'"
            )
        restoring = body.get("in_trash") is False or body.get("archived") is False
        if page["in_trash"] and not restoring:
            return notion_error(
                400,
                "validation_error",
                "Can't edit block that is archived. You must unarchive the block before editing.",
            )
        staged = copy.deepcopy(page)
        error = self._set_properties(staged, body.get("properties", {}))
        if error:
            return error
        for flag in ("archived", "in_trash"):
            if flag in body:
                if not isinstance(body[flag], bool):
                    raise Invalid(f"{flag} must be a boolean")
                staged["archived"] = staged["in_trash"] = body[flag]
        staged["last_edited_time"] = _minute(self.clock())
        staged["last_edited_by"] = dict(self._editor)
        self.pages[page_id] = staged
        self.updates[page_id] += 1
        return Reply.json_body(200, copy.deepcopy(staged))

    def _children(self, request, body, block_id):
        if block_id not in self.blocks:
            return self._not_found("block", block_id)
        size = int(request.query.get("page_size", ["100"])[0])
        if not 1 <= size <= 100:
            raise Invalid(f"page_size must be 1-100, got {size}")
        blocks = self.blocks[block_id]
        start = 0
        if "start_cursor" in request.query:
            start = [b["id"] for b in blocks].index(request.query["start_cursor"][0])
        chunk, more = blocks[start : start + size], start + size < len(blocks)
        return Reply.json_body(
            200,
            {
                "object": "list",
                "results": copy.deepcopy(chunk),
                "next_cursor": blocks[start + size]["id"] if more else None,
                "has_more": more,
            },
        )

    def _children_append(self, request, body, block_id):
        if block_id not in self.blocks:
            return self._not_found("block", block_id)
        self._keys(body, {"children", "after", "position"}, "append block children")
        page = self.pages.get(block_id)
        if page and page["in_trash"]:
            raise Invalid("Can't edit block that is archived. You must unarchive the block first.")
        children = body.get("children")
        if not isinstance(children, list) or not 1 <= len(children) <= 100:
            raise Invalid("body.children should be an array of 1-100 blocks")
        made = [self._block(child) for child in children]
        self.blocks[block_id].extend(made)
        if page:
            page["last_edited_time"] = _minute(self.clock())
        return Reply.json_body(200, {"object": "list", "results": copy.deepcopy(made),
                                     "next_cursor": None, "has_more": False})  # fmt: skip

    def _block(self, child):
        if not isinstance(child, dict):
            raise Invalid(f"a block must be an object, got {child!r}")
        kind = child.get("type")
        self._keys(child, {"object", "type", kind}, "block")
        if kind not in BLOCK_TYPES or not isinstance(child.get(kind), dict):
            raise Invalid(f"block type {kind!r}: needs a {kind!r} object of a known block type")
        content = child[kind]
        if kind == "code":
            self._keys(content, {"rich_text", "language", "caption"}, "code block")
            if content.get("language") not in CODE_LANGUAGES:
                raise Invalid(
                    f"body.children[].code.language should be one of Notion's languages, "
                    f"instead was {content.get('language')!r}."
                )
            made = {"rich_text": self._rich(content.get("rich_text", [])),
                    "language": content["language"],
                    "caption": self._rich(content.get("caption", []))}  # fmt: skip
        else:
            self._keys(content, {"rich_text", "color"}, f"{kind} block")
            made = {"rich_text": self._rich(content.get("rich_text", [])), "color": "default"}
        return {"object": "block", "id": str(uuid.uuid4()), "type": kind, kind: made,
                "has_children": False, "in_trash": False}  # fmt: skip

    # ------------------------------------------------------------------ property values

    @staticmethod
    def _rich(items):
        if not isinstance(items, list):
            raise Invalid(f"rich text must be a list, got {items!r}")
        if len(items) > 100:
            raise TooLong(
                f"body failed validation: body.properties.rich_text.length should be ≤ `100`, "
                f"instead was `{len(items)}`."
            )
        result = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("text"), dict):
                raise Invalid(f"rich text items need a text object, got {item!r}")
            content = item["text"].get("content")
            if not isinstance(content, str):
                raise Invalid("rich text content must be a string")
            if utf16_length(content) > 2000:
                raise TooLong(
                    f"body failed validation: body.properties.text.content.length should be ≤ "
                    f"`2000`, instead was `{utf16_length(content)}`."
                )
            result.append(
                {"type": "text", "text": {"content": content, "link": None},
                 "plain_text": content, "href": None}
            )  # fmt: skip
        return result

    def _option(self, page, name, option_name):
        schema = self.schemas[page["parent"]["data_source_id"]]
        for option in schema[name]["status"]["options"]:
            if option["name"] == option_name:
                return {"id": option["id"], "name": option_name, "color": "default"}
        raise KeyError(option_name)

    def _set_properties(self, page, properties):
        """Apply request-shaped property values; a Notion-style 400 reply when one is wrong."""
        schema = self.schemas[page["parent"]["data_source_id"]]
        ids = {prop["id"]: prop_name for prop_name, prop in schema.items()}
        for key, value in properties.items():
            name = key if key in schema else ids.get(key)
            if name is None:
                return notion_error(
                    400, "validation_error", f"{key} is not a property that exists."
                )
            try:
                error = self._set_property(page, schema, name, value)
            except TooLong as too_long:
                return notion_error(400, "validation_error", str(too_long))
            if error:
                return error
        for name, prop in schema.items():
            if name not in page["properties"]:
                empty = [] if prop["type"] in ("title", "rich_text") else None
                page["properties"][name] = {"id": prop["id"], "type": prop["type"],
                                            prop["type"]: empty}  # fmt: skip
        return None

    def _set_property(self, page, schema, name, value):
        kind = schema[name]["type"]
        if not isinstance(value, dict) or set(value) - {"type"} != {kind}:
            return notion_error(
                400,
                "validation_error",
                f"{name} is expected to be {kind}.",
            )
        raw = value[kind]
        if kind in ("title", "rich_text"):
            stored = self._rich(raw)
        elif kind == "status":
            try:
                stored = self._option(page, name, raw["name"])
            except KeyError:
                return notion_error(
                    400,
                    "validation_error",
                    f'Invalid status option. Status option "{raw["name"]}" does not exist '
                    f'for property "{name}".',
                )
        elif kind == "select":
            stored = None if raw is None else {"name": raw["name"], "color": "default"}
        elif kind == "number":
            if raw is not None and not isinstance(raw, int | float):
                raise Invalid(f"{name}: number expected, got {raw!r}")
            stored = raw
        else:  # url
            if raw is not None and not isinstance(raw, str):
                raise Invalid(f"{name}: url string expected, got {raw!r}")
            if raw is not None and utf16_length(raw) > 2000:
                raise TooLong(
                    f"body failed validation: body.properties.{name}.url.length should be "
                    f"≤ `2000`, instead was `{utf16_length(raw)}`."
                )
            stored = raw
        page["properties"][name] = {"id": schema[name]["id"], "type": kind, kind: stored}
        return None

    def __repr__(self):
        return f"FakeNotion({self.url}, {len(self.pages)} pages)"


def as_json(document):
    return json.dumps(document, indent=2)
