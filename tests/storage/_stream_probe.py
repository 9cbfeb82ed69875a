"""Run in a subprocess: stream N MiB into a storage backend and print the tracemalloc peak.

A subprocess keeps the in-process moto server's own buffers out of the measurement.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from cliply.storage import LocalStorage, S3Storage

MIB = 1024 * 1024


def chunks(total_mib: int) -> Iterator[bytes]:
    for i in range(total_mib):
        yield bytes([i % 251]) * MIB


def main() -> None:
    backend, target, bucket, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if backend == "local":
        store: LocalStorage | S3Storage = LocalStorage(
            Path(target), url_secret="s", public_base_url="http://x"
        )
    else:
        store = S3Storage(
            endpoint_url=target,
            bucket=bucket,
            prefix="cliply",
            part_size=5 * MIB,
            access_key="testing",
            secret_key="testing",
            region="us-east-1",
        )
        store.exists("warm/up")  # build the client's lazy machinery before measuring
    tracemalloc.start()
    written = store.put_stream("big/object.bin", chunks(total))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{written} {peak} {store.size('big/object.bin')}")


if __name__ == "__main__":
    main()
