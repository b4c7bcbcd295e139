"""kombu's filesystem transport (the broker `make run` uses: messages as files, no server), made safe for two
processes: kombu writes a message file in place, and a worker listing the folder meanwhile takes it half
written, fails to decode it and stops (`JSONDecodeError ... Unrecoverable error`). Here a message is
written under a name the worker never picks up, then renamed into place: it appears whole or not at all."""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")  # no reader matches a leading dot
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel
