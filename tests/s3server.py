"""A real S3-protocol server on 127.0.0.1 (moto's server mode) that checks credentials.

The server starts with IAM authentication on: it lets the first four requests through (the
ones that create a user, its policy and its access key) and from then on refuses any request
not signed with that key. A test that reads through Dask workers therefore proves the key
reached the workers: they have no credentials of their own that the server would accept.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.clusterproc import free_port

# create_user, create_policy, attach_user_policy, create_access_key
_SETUP_REQUESTS = 4


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    key: str
    secret: str

    @property
    def options(self) -> dict[str, Any]:
        """fsspec storage options that reach this server with its only valid key."""
        return {"endpoint_url": self.endpoint, "key": self.key, "secret": self.secret}

    def flags(self, flag: str = "--storage-option") -> list[str]:
        pairs = [f"endpoint_url={self.endpoint}", f"key={self.key}", f"secret={self.secret}"]
        return [part for pair in pairs for part in (flag, pair)]

    def filesystem(self) -> Any:
        """A fresh s3fs instance of its own (no listing cache shared with the code under test)."""
        import s3fs

        return s3fs.S3FileSystem(**self.options, skip_instance_cache=True)

    def bucket(self, name: str) -> str:
        self.filesystem().mkdir(name)
        return name


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server at {url} did not start") from None
            time.sleep(0.1)


def _create_access_key(url: str) -> tuple[str, str]:
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    iam.create_user(UserName="distinc")
    policy = iam.create_policy(
        PolicyName="s3-all",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    iam.attach_user_policy(UserName="distinc", PolicyArn=policy["Policy"]["Arn"])
    key = iam.create_access_key(UserName="distinc")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@contextmanager
def moto_server() -> Iterator[S3Server]:
    """Start ``moto.server`` on a free port of 127.0.0.1; kill it on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(_SETUP_REQUESTS)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_until_up(url, process)
        key, secret = _create_access_key(url)
        yield S3Server(url, key, secret)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
