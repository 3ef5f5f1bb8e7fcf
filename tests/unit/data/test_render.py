"""The mover's command and the init containers rendered for a staging plan (computenet.data.render)."""

from __future__ import annotations

from computenet.data.render import copy_argv, fetch_argv, stage_in
from computenet.data.staging import Copy, Fetch, StagingPlan, StoreRef

WEST = StoreRef("http://west:8333", "store-cn-west")
USER = StoreRef("https://s3.example.com", "user-keys")
SHA = "sha256:" + "2" * 64


def test_copy_argv_names_both_stores_and_their_mounted_keys() -> None:
    argv = copy_argv(Copy("s3://train/x.bin", USER, "s3://cn-west-data/t/x.bin", WEST, SHA))
    assert argv == [
        "python", "-m", "computenet", "stage", "copy",
        "--from=s3://train/x.bin", "--from-endpoint=https://s3.example.com",
        "--from-credentials=/var/run/computenet/stores/user-keys",
        "--to=s3://cn-west-data/t/x.bin", "--to-endpoint=http://west:8333",
        "--to-credentials=/var/run/computenet/stores/store-cn-west",
        "--part-size-mib=16", "--concurrency=4", "--deadline=3600",
        f"--checksum={SHA}",
    ]  # fmt: skip


def test_no_checksum_no_flag() -> None:
    assert not [a for a in fetch_argv(Fetch(0, "s3://b1c/x", WEST, "/d", None)) if a.startswith("--checksum")]


def test_stage_in_fetches_each_input_and_mounts_it_at_its_path() -> None:
    plan = StagingPlan(
        (),
        (
            Fetch(0, "s3://cn-west-data/a.bin", WEST, "/data/a.bin", SHA),
            Fetch(1, "s3://cn-west-data/shards/", WEST, "/data/shards", None),
        ),
        (),
    )
    rendered = stage_in(plan, "computenet:1.0")
    assert [v["name"] for v in rendered.volumes] == ["computenet-data", "computenet-store-0"]
    assert rendered.volumes[1]["secret"]["secretName"] == "store-cn-west"
    first = rendered.init_containers[0]
    assert first["image"] == "computenet:1.0"
    assert first["command"][:5] == ["python", "-m", "computenet", "stage", "fetch"]
    assert "--to=/var/run/computenet/data/in-0" in first["command"]
    assert {
        "name": "computenet-store-0",
        "mountPath": "/var/run/computenet/stores/store-cn-west",
        "readOnly": True,
    } in (first["volumeMounts"])
    assert rendered.mounts == (
        {"name": "computenet-data", "mountPath": "/data/a.bin", "subPath": "in-0", "readOnly": True},
        {"name": "computenet-data", "mountPath": "/data/shards", "subPath": "in-1", "readOnly": True},
    )
