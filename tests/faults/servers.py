"""Throwaway Redis and PostgreSQL servers for fault tests that stop or restart them.

Each one runs on a free port from a temporary directory and is removed afterwards. They never touch
the machine's shared PostgreSQL (127.0.0.1:5432) or Redis (6379), which other tests and CI rely on
(design.md, "Reliability").
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port, timeout=0.2):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_until(predicate, *, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready within {timeout} s")


class ThrowawayRedis:
    """redis-server on a free port with persistence off: a restart loses every message."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="videogen-redis-"))
        self.process = None
        self.log_path = self.dir / "redis.log"

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
            "--save", "", "--appendonly", "no", "--daemonize", "no",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603
            command,
            stdout=open(self.log_path, "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_until(lambda: _answers(self.port), timeout=10, what="throwaway redis")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()  # abrupt, like a crash: nothing is saved (persistence is off)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self):
        self.stop()
        self.start()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


def _postgres_bin():
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    if not candidates:
        raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
    return Path(candidates[-1])


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own (initdb + pg_ctl) on a free port, trust auth, its socket in
    its own directory. PostgreSQL refuses to run as root, so when we are root the server runs as
    the `postgres` OS user, which owns the temporary directory."""

    def __init__(self, database="videogen"):
        self.port = free_port()
        self.bin = _postgres_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="videogen-pg-"))
        self.data = self.dir / "data"
        self.socket_dir = self.dir / "socket"
        self.log_path = self.dir / "postgres.log"
        self.database = database
        self.socket_dir.mkdir()
        self.log_path.touch()
        if os.geteuid() == 0:
            os.chmod(self.dir, 0o755)
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
            shutil.chown(self.log_path, "postgres", "postgres")
        self.initialized = False

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *command, check=True):
        command = [str(part) for part in command]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(  # noqa: S603
            command, check=check, capture_output=True, text=True, timeout=60
        )

    def start(self):
        if not self.initialized:
            self._run(
                self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                "--no-sync", "-E", "UTF8", "--locale=C",
            )  # fmt: skip
            self.initialized = True
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            self.bin / "pg_ctl", "-D", self.data, "-l", self.log_path, "-o", options, "-w",
            "-t", "30", "start",
        )  # fmt: skip
        if not hasattr(self, "_created"):
            self._run(
                self.bin / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres",
                self.database,
            )  # fmt: skip
            self._created = True
        return self

    def stop(self, mode="fast"):
        """fast: disconnects every client (what a restart does to the application)."""
        if self.initialized and (self.data / "postmaster.pid").exists():
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def restart(self):
        self.stop()
        self.start()

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cleanup(self):
        try:
            self.stop(mode="immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


class S3Server:
    """An S3-compatible server on 127.0.0.1 (moto's server mode, a dev dependency) on a free
    port, for the media store's bucket: start(), url, stop(). It keeps its objects in memory."""

    # Requests moto serves before it checks keys: enough for key_pair() to make a user, give it
    # a policy and a key; after them every request must be signed with a key it issued.
    SETUP_REQUESTS = 3

    def __init__(self, *, checks_keys=False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.checks_keys = checks_keys
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open for the server's life
            prefix="moto-", suffix=".log", delete=False
        )

    def start(self):
        import sys

        from pipeline.processes import die_with_parent

        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env={
                **os.environ,
                **(
                    {"INITIAL_NO_AUTH_ACTION_COUNT": str(self.SETUP_REQUESTS)}
                    if self.checks_keys
                    else {}
                ),
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - an aborted run leaves no server behind
        )
        try:
            _wait_until(lambda: _answers(self.port), timeout=30, what=f"S3 server on {self.url}")
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"{Path(self.log.name).read_text()[-2000:]}") from None
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        Path(self.log.name).unlink(missing_ok=True)

    def key_pair(self):
        """(access key id, secret) of a user allowed everything (a server that checks keys)."""
        import json

        import boto3

        iam = boto3.client(
            "iam", endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id="setup", aws_secret_access_key="setup",
        )  # fmt: skip
        iam.create_user(UserName="videogen")
        policy = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}  # fmt: skip
        iam.put_user_policy(
            UserName="videogen", PolicyName="all", PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName="videogen")["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]
