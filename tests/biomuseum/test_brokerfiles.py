"""The filesystem broker under a concurrent producer and consumer (two real processes, as web and worker)."""

import multiprocessing

import pytest
from kombu import Connection

COUNT = 3000


def _produce(folder: str, transport: str) -> None:
    options = {"data_folder_in": folder, "data_folder_out": folder}
    with Connection("filesystem://", transport=transport, transport_options=options) as connection:
        queue = connection.SimpleQueue("jobs")
        for number in range(COUNT):
            queue.put({"n": number, "padding": "x" * 200_000})  # big enough to be caught half written


@pytest.mark.parametrize("transport", ["biomuseum.brokerfiles:Transport"])
def test_brokerfiles_consumer_never_reads_a_half_written_message(tmp_path, transport):
    folder = str(tmp_path)
    producer = multiprocessing.get_context("spawn").Process(target=_produce, args=(folder, transport))
    producer.start()
    received = []
    options = {"data_folder_in": folder, "data_folder_out": folder, "polling_interval": 0}  # a worker always looking
    with Connection("filesystem://", transport=transport, transport_options=options) as connection:
        queue = connection.SimpleQueue("jobs")
        while len(received) < COUNT:
            message = queue.get(timeout=30)
            received.append(message.payload["n"])
            message.ack()
    producer.join(timeout=30)
    assert sorted(received) == list(range(COUNT))
