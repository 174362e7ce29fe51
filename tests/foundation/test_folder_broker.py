"""The embedded default's broker (videogen/folder_broker.py): a reader polling the folder while
writers put messages never reads a message before it is whole."""

import threading

from kombu import Connection

from videogen.folder_broker import Transport

MESSAGES = 200
WRITERS = 3


def _connection(folder):
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
               "processed_folder": str(folder / "processed"), "store_processed": False,
               "control_folder": str(folder / "control"),
               "polling_interval": 0.001}  # fmt: skip
    (folder / "processed").mkdir(exist_ok=True)
    (folder / "control").mkdir(exist_ok=True)
    return Connection("filesystem://localhost/", transport=Transport, transport_options=options)


def test_it_hands_every_message_over_whole_while_writers_race_the_reader(tmp_path):
    body = "x" * 200_000  # a large message: a wide window between a file's creation and its end
    received, errors = [], []

    def write(index):
        with _connection(tmp_path) as connection:
            queue = connection.SimpleQueue("units")
            for number in range(MESSAGES // WRITERS):
                queue.put({"writer": index, "number": number, "body": body})
            queue.close()

    writers = [threading.Thread(target=write, args=(index,)) for index in range(WRITERS)]
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("units")
        for writer in writers:
            writer.start()
        while len(received) + len(errors) < WRITERS * (MESSAGES // WRITERS):
            try:
                message = queue.get(timeout=20)
            except Exception as error:  # noqa: BLE001 - an empty or cut message lands here
                errors.append(error)
                break
            received.append(message.payload)
            message.ack()
        queue.close()
    for writer in writers:
        writer.join()

    assert errors == []
    assert all(payload["body"] == body for payload in received)
    assert len({(p["writer"], p["number"]) for p in received}) == WRITERS * (MESSAGES // WRITERS)
