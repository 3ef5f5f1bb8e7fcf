"""S3-compatible object stores on loopback, one per region: the "near storage" of the local federation.

Each store is one SeaweedFS process (``weed mini``: master, volume server, filer and S3 gateway in one
process), built from its Go module by ``hack/build-binaries.sh`` like the control-plane binaries, with
its data under ``<state dir>/stores/<region>/`` and every port on 127.0.0.1 chosen free. Its S3
credentials come from a config file written here (SeaweedFS's ``-s3.config`` identities file); the
same key pair is written as a credentials directory (files ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, what ``computenet stage`` reads) and is what a Secret for the store holds.

Stores are opt-in: ``make dev-up`` starts them (see :mod:`computenet.testing.devenv`) and the tests
that move bytes start them with a fixture; the plain federation fixture does not, so other tests
start no faster or slower. Started through a federation's supervisor, they stop with it
(``make dev-down``).

    python -m computenet.testing.stores up --dir .dev-stores --regions cn-east,cn-west
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from computenet.testing.federation import find_bin_dir, free_port, wait_for
from computenet.testing.processes import Supervisor

__all__ = [
    "STORE_BINARY",
    "Store",
    "launch_store",
    "load_stores",
    "start_store",
    "start_stores",
    "store_process",
    "wait_ready",
]

STORE_BINARY = "weed"
START_TIMEOUT_S = 120.0
STATE_FILE = "stores.json"


@dataclass(frozen=True)
class Store:
    """A running store: its S3 endpoint, the bucket made at start, and its one key pair."""

    region: str
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    credentials_dir: str
    """Directory holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as `computenet stage` reads them."""
    log: str

    def client_store(self) -> object:
        """The mover's view of this store (a :class:`computenet.data.s3.Store`)."""
        from computenet.data.s3 import Store as MoverStore

        return MoverStore(self.endpoint, self.access_key, self.secret_key)

    def secret_data(self) -> dict[str, str]:
        """The keys of a Kubernetes Secret for this store (plain text, for ``stringData``)."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}


def store_process(region: str) -> str:
    """The supervisor's name for a region's store process."""
    return f"store-{region}"


def _identities(access: str, secret: str) -> dict[str, object]:
    """SeaweedFS's S3 identities file: one identity allowed everything (weed/s3api/auth_credentials.go)."""
    return {
        "identities": [
            {
                "name": "computenet",
                "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


def _ready(store: Store) -> bool:
    """The S3 gateway answers and the bucket exists (HeadBucket with the store's own key)."""
    from computenet.data.s3 import Store as MoverStore
    from computenet.data.s3 import StoreError

    client = MoverStore(
        store.endpoint, store.access_key, store.secret_key, connect_timeout_s=2, read_timeout_s=5, attempts=1
    )
    try:
        client.call(store.bucket, "HeadBucket", client.client.head_bucket)
    except StoreError:
        return False
    return True


def start_store(
    supervisor: Supervisor, state_dir: Path, region: str, bucket: str, bin_dir: Path | None = None
) -> Store:
    """Start the store of ``region`` with ``bucket`` made; returns once the bucket answers.

    Raises ComponentFailed if the process exits, TimeoutError if it does not answer in time.
    """
    store = launch_store(supervisor, state_dir, region, bucket, bin_dir)
    wait_ready(supervisor, store)
    return store


def wait_ready(supervisor: Supervisor, store: Store) -> None:
    """Return once the store's bucket answers; raises ComponentFailed or TimeoutError."""
    name = store_process(store.region)
    wait_for(f"the {store.region} store's S3 endpoint", lambda: _ready(store), START_TIMEOUT_S,
             lambda: supervisor.check_running(name))  # fmt: skip


def launch_store(
    supervisor: Supervisor, state_dir: Path, region: str, bucket: str, bin_dir: Path | None = None
) -> Store:
    """Start the store process of ``region`` without waiting for it to answer."""
    weed = (bin_dir or find_bin_dir()) / STORE_BINARY
    if not weed.exists():
        raise RuntimeError(f"missing {weed}: build it with hack/build-binaries.sh")
    home = (state_dir / "stores" / region).resolve()
    data, creds = home / "data", home / "credentials"
    data.mkdir(parents=True, exist_ok=True)
    creds.mkdir(parents=True, exist_ok=True)
    access, secret = f"cn{secrets.token_hex(8)}", secrets.token_urlsafe(24)
    config = home / "s3.json"
    config.write_text(json.dumps(_identities(access, secret), indent=2))
    config.chmod(0o600)
    for name, value in (("AWS_ACCESS_KEY_ID", access), ("AWS_SECRET_ACCESS_KEY", secret)):
        (creds / name).write_text(value)
        (creds / name).chmod(0o600)
    s3_port = free_port()
    ports = {
        "master.port": free_port(),
        "master.port.grpc": free_port(),
        "volume.port": free_port(),
        "volume.port.grpc": free_port(),
        "filer.port": free_port(),
        "filer.port.grpc": free_port(),
        "s3.port": s3_port,
        "s3.port.grpc": free_port(),
    }
    argv = [
        str(weed), "mini",
        f"-dir={data}",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        f"-bucket={bucket}",
        "-webdav=false", "-admin.ui=false", "-admin.port.legacy=0",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=256",
        f"-filer.localSocket={home / 'filer.sock'}",
        f"-s3.localSocket={home / 's3.sock'}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]  # fmt: skip
    log = state_dir / "logs" / f"{store_process(region)}.log"
    name = store_process(region)
    supervisor.start(name, argv, log)
    return Store(region, f"http://127.0.0.1:{s3_port}", bucket, access, secret, str(creds), str(log))


def start_stores(
    supervisor: Supervisor, state_dir: Path, regions: Sequence[str], bin_dir: Path | None = None
) -> list[Store]:
    """One store per region (bucket ``<region>-data``), recorded in ``<state dir>/stores.json``."""
    bins = bin_dir or find_bin_dir()
    stores = [launch_store(supervisor, state_dir, r, f"{r}-data", bins) for r in dict.fromkeys(regions)]
    for store in stores:  # they start side by side
        wait_ready(supervisor, store)
    (state_dir / STATE_FILE).write_text(json.dumps([asdict(s) for s in stores], indent=2))
    return stores


def load_stores(state_dir: Path) -> list[Store]:
    """The stores a previous ``start_stores`` recorded in ``state_dir``."""
    return [Store(**raw) for raw in json.loads((state_dir / STATE_FILE).read_text())]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m computenet.testing.stores", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--dir", type=Path, default=Path(".dev-stores"))
    parser.add_argument("--regions", default="cn-east,cn-west")
    args = parser.parse_args(argv)
    state = args.dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(state)
    if args.command == "down":
        supervisor.stop_all()
        return 0
    stores = start_stores(supervisor, state, [r for r in args.regions.split(",") if r])
    supervisor.disown()
    for s in stores:
        print(f"  {s.region:<9} {s.endpoint}  bucket {s.bucket}  credentials {s.credentials_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
