"""One process of the rate test: N page updates through our client, started together.
The token comes from the environment (NOTION_TOKEN), never argv."""

import os
import sys
import time

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")
django.setup()

from django.conf import settings  # noqa: E402

from pipeline.integrations.notion_client import NotionApi  # noqa: E402

api = NotionApi(settings.NOTION_TOKEN, owner="rate test")
page_id, count = os.environ["RATE_PAGE_ID"], int(os.environ["RATE_COUNT"])
signals = os.environ["RATE_SIGNAL_DIR"]
open(os.path.join(signals, f"ready-{os.getpid()}"), "w").close()  # noqa: SIM115
go = os.path.join(signals, "go")
while not os.path.exists(go):  # all three start together
    time.sleep(0.01)
for number in range(count):
    api.call(
        f"updating page {page_id}",
        api.client.pages.update,
        page_id,
        properties={"Progress": {"number": number / count}},
    )
