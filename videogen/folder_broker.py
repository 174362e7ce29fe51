"""The embedded default's broker: kombu's filesystem transport, with each message put in place
whole.

kombu writes a message straight into the folder its readers list (open, lock, write), and a
reader moves and reads a file without taking the lock: a reader that lists the folder between
the writer's open and its write reads an empty message, and the worker stops on the JSON error.
Here a message is written under a name no reader picks (a leading dot) and renamed into place,
which is atomic within one file system. (With the folder polled every 0.1 s, settings.py, the
window was hit within one demo run.)
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel
