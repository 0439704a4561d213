"""A classroom cluster in a box: the project's image as a Ray head, sandbox workers (each its own container with
its own CPU quota) and web edges (``CLASSROOM_EXECUTION=cluster``), all on one Docker network of this machine.

PostgreSQL and Redis are this machine's own services: they listen on 127.0.0.1 only, which containers cannot
reach, so a forwarder (:mod:`load.forward`) listens on the network's gateway address and relays to them.
Ray's token authentication is on (one random ``RAY_AUTH_TOKEN`` for every node of the box), and so is Ray's TLS
(``tls=True``, the default): a CA made for the box, and for each container a certificate naming its fixed address
on the box's network (:mod:`classroom.sandboxes.ray_tls`), mounted at /tls.

Used by tests/deploy/test_box.py and load/bench_scale.py. Everything it creates carries its own random name
prefix, and :meth:`Box.close` removes exactly that.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "classroom:box"
IMAGE_UID = 10001  # the image's user: the head and the web edges run as it (workers as root)


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])}…: {done.stderr.strip()[-400:]}")
    return done.stdout.strip()


def build_image(tag: str = IMAGE) -> str:
    """Build (or reuse from Docker's cache) the project's image with scripts/build-image.sh."""
    subprocess.run(["bash", str(ROOT / "scripts" / "build-image.sh"), tag], check=True, cwd=ROOT)
    return tag


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Box:
    """Start with :meth:`start`; each ``add_*`` starts one container and returns its name."""

    def __init__(
        self, image: str, *, postgres_url: str, redis_url: str, worker_cpus: float, slots: int = 2, tls: bool = True
    ) -> None:
        self.image = image
        self.tls = tls
        self._tls_dir = Path(tempfile.mkdtemp(prefix="cbox-tls-")) if tls else None
        self._ca: Any = None
        self._addresses: list[str] = []  # fixed addresses still free on the box's network
        self.id = f"cbox-{secrets.token_hex(3)}"
        self.worker_cpus = worker_cpus
        self.slots = slots
        self.token = secrets.token_hex(32)
        self.secret = secrets.token_urlsafe(48)
        self.containers: list[str] = []
        self.webs: dict[str, int] = {}  # container -> published port on 127.0.0.1
        self.workers: list[str] = []
        self.addresses: dict[str, str] = {}  # container -> its fixed address on the box's network
        self._postgres, self._redis = postgres_url, redis_url
        self._forwarder: subprocess.Popen[str] | None = None
        self._cgroup_parents: list[str] = []

    # -- life cycle --------------------------------------------------------------------------------------------

    def start(self, *, workers: int, webs: int) -> None:
        # Fixed addresses need a subnet of our own choosing: take the one Docker picks, then ask for it explicitly.
        docker("network", "create", self.id)
        config = json.loads(docker("network", "inspect", self.id))[0]["IPAM"]["Config"][0]
        docker("network", "rm", self.id)
        docker("network", "create", "--subnet", config["Subnet"], "--gateway", config["Gateway"], self.id)
        self.gateway = config["Gateway"]
        network = ipaddress.ip_network(config["Subnet"])
        self._addresses = [str(network.network_address + i) for i in range(10, min(250, network.num_addresses - 1))]
        if self.tls:
            from classroom.sandboxes.ray_tls import make_ca

            self._ca = make_ca(f"classroom box {self.id}")
        self._forward()
        self._run("head", ["classroom", "head", "--block"], extra=["--hostname", "head"])
        for _ in range(workers):
            self.add_worker()
        if webs:
            # Migrate once before the replicas start, as a deployment's migration job does: replicas that
            # migrate a fresh database at the same moment race on CREATE TABLE (and one of them exits).
            docker("run", "--rm", "--network", self.id, f"--env=CLASSROOM_DATABASE_URL={self.postgres_in_box}",
                   f"--env=CLASSROOM_SECRET_KEY={self.secret}", self.image, "classroom", "migrate")  # fmt: skip
        for _ in range(webs):
            self.add_web()

    def close(self) -> None:
        for name in self.containers:
            docker("rm", "-f", name, check=False)
        docker("network", "rm", self.id, check=False)
        for parent in self._cgroup_parents:  # only the parents this box made, deepest first
            for controller in Path("/sys/fs/cgroup").iterdir():
                for d in (controller / parent / "classroom", controller / parent):
                    if d.is_dir():
                        for child in d.iterdir():
                            if child.is_dir():
                                with contextlib.suppress(OSError):
                                    child.rmdir()
                        with contextlib.suppress(OSError):
                            d.rmdir()
        if self._forwarder is not None:
            self._forwarder.kill()
            self._forwarder.wait()
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)

    def _forward(self) -> None:
        pg_port, redis_port = _free_port(), _free_port()
        pg = self._postgres.split("@", 1)[1].split("/", 1)[0]
        rd = self._redis.split("://", 1)[1].split("/", 1)[0]
        self._forwarder = subprocess.Popen(
            [sys.executable, str(ROOT / "load" / "forward.py"),
             f"{self.gateway}:{pg_port}={pg}", f"{self.gateway}:{redis_port}={rd}"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self._forwarder.stdout is not None
        if self._forwarder.stdout.readline().strip() != "ready":
            raise RuntimeError("the PostgreSQL/Redis forwarder did not start")
        user, _, rest = self._postgres.partition("@")
        self.postgres_in_box = f"{user}@{self.gateway}:{pg_port}/{rest.split('/', 1)[1]}"
        self.redis_in_box = f"redis://{self.gateway}:{redis_port}/{self._redis.rsplit('/', 1)[1]}"

    def _run(self, role: str, command: list[str], *, extra: list[str] = (), env: dict[str, str] | None = None) -> str:  # type: ignore[assignment]
        name = f"{self.id}-{role}"
        address = self._addresses.pop(0)
        environment = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token, **(env or {})}
        mounts: list[str] = []
        if self._ca is not None and self._tls_dir is not None:
            from classroom.sandboxes.ray_tls import ENV, write_node

            # The node's key belongs to the user its processes run as (root in a worker reads it anyway).
            certs = write_node(self._ca, self._tls_dir / role, address, (role,), owner=IMAGE_UID)
            environment |= ENV
            mounts = ["--volume", f"{certs}:/tls:ro"]
        flags = [f"--env={k}={v}" for k, v in environment.items()]
        docker("run", "-d", "--name", name, "--network", self.id, "--ip", address, "--shm-size=256m", *flags,
               *mounts, *extra, self.image, *command)  # fmt: skip
        self.addresses[name] = address
        self.containers.append(name)
        return name

    def add_worker(self) -> str:
        """A sandbox worker with a CPU quota of :attr:`worker_cpus` cores for itself *and* its runs.

        What bubblewrap needs in a container (this Docker refuses ``--privileged``, and it would be too much):
        root with CAP_SYS_ADMIN (namespaces, mounts), seccomp/AppArmor unconfined (unshare and mount are filtered
        by Docker's defaults), an unmasked /proc (a fresh procfs cannot be mounted over a masked one) and the
        cgroup tree writable. The container lives in a cgroup parent of its own, created here with the CPU quota,
        and its sandboxes' cgroups are made under that same parent (``CLASSROOM_EXEC_CGROUP_PARENT``), so the
        quota bounds the worker and every run it executes.
        """
        n = len(self.workers) + 1
        parent = f"{self.id}-worker{n}"
        self._cgroup_parents.append(parent)
        cpu = Path("/sys/fs/cgroup/cpu") / parent
        cpu.mkdir(exist_ok=True)
        period = int((cpu / "cpu.cfs_period_us").read_text())
        (cpu / "cpu.cfs_quota_us").write_text(str(int(period * self.worker_cpus)))
        name = self._run(
            f"worker{n}",
            ["classroom", "worker", "--address", "head:6379", "--slots", str(self.slots), "--num-cpus", "1", "--block"],
            extra=[
                "--hostname", f"worker{n}", "--user", "0", "--cap-add", "SYS_ADMIN",
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                "--security-opt", "systempaths=unconfined", f"--cgroup-parent=/{parent}",
                "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            ],
            env={"CLASSROOM_EXEC_CGROUP_PARENT": f"{parent}/classroom"},
        )  # fmt: skip
        self.workers.append(name)
        return name

    def add_web(self) -> str:
        n = len(self.webs) + 1
        env = {
            "CLASSROOM_EXECUTION": "cluster",
            "CLASSROOM_RAY_ADDRESS": "head:6379",
            "CLASSROOM_DATABASE_URL": self.postgres_in_box,
            "CLASSROOM_REDIS_URL": self.redis_in_box,
            "CLASSROOM_SECRET_KEY": self.secret,
            "CLASSROOM_RUNS_PER_MINUTE": "100000",
            "CLASSROOM_ALLOWED_ORIGINS": "http://127.0.0.1:8000",
        }
        name = self._run(f"web{n}", ["classroom", "serve"], extra=["--hostname", f"web{n}", "-p", "127.0.0.1::8000"],
                         env=env)  # fmt: skip
        self.webs[name] = int(docker("port", name, "8000/tcp").rsplit(":", 1)[1])
        return name

    def kill(self, name: str) -> None:
        docker("kill", name)

    # -- looking in --------------------------------------------------------------------------------------------

    def url(self, web: str) -> str:
        return f"http://127.0.0.1:{self.webs[web]}"

    def readyz(self, web: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(self.url(web) + "/readyz", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except OSError:
            return 0, {}

    def wait_ready(self, web: str, *, slots: int, timeout: float = 180) -> dict[str, Any]:
        """Wait until ``web`` answers /readyz 200 with at least ``slots`` ready slots; its runs detail."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status, body = self.readyz(web)
            last = body
            runs = (body.get("components", {}).get("runs") or {}).get("detail") or {}
            if status == 200 and len(runs.get("slot_hosts", {})) >= slots:
                return dict(runs)
            time.sleep(1)
        raise TimeoutError(f"{web} not ready with {slots} slots in {timeout:.0f} s: {json.dumps(last)[:1500]}\n"
                           + self.logs(web))  # fmt: skip

    def logs(self, name: str, lines: int = 40) -> str:
        done = subprocess.run(["docker", "logs", "--tail", str(lines), name], capture_output=True, text=True)
        return done.stdout + done.stderr


# -- clients of the box -----------------------------------------------------------------------------------------


async def make_users(postgres_url: str, secret: str, n: int) -> list[dict[str, str]]:
    """``n`` staff users in the box's database (staff may run code outside a class) with API and socket tokens."""
    import uuid
    from datetime import UTC, datetime

    from classroom import db
    from classroom.auth import tokens
    from classroom.settings import load_settings
    from classroom.tables import User

    settings = load_settings({"CLASSROOM_DATABASE_URL": postgres_url, "CLASSROOM_SECRET_KEY": secret}, dotenv=None)
    db.bind(db.engine_from_url(postgres_url))
    out = []
    for i in range(n):
        user = User(id=uuid.uuid4(), display_name=f"box{i}", role="instructor", created_at=datetime.now(UTC))
        await user.save().run()
        out.append(
            {
                "api": tokens.issue_jwt(settings, user.id, tokens.API_AUDIENCE, 3600),
                "ws": tokens.issue_jwt(settings, user.id, tokens.WS_AUDIENCE, 3600),
            }
        )
    return out


async def submit(base: str, creds: dict[str, str], code: str) -> str:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        auth = {"authorization": f"Bearer {creds['api']}"}
        response = await http.post("/api/runs", json={"code": code}, headers=auth)
    if response.status_code != 202:
        raise RuntimeError(f"submit: {response.status_code} {response.text}")
    return str(response.json()["id"])


async def follow(base: str, creds: dict[str, str], run_id: str) -> tuple[str, str]:
    """Stream run ``run_id`` from ``base`` to its end: (verdict, stdout)."""
    import websockets

    out: list[str] = []
    ws_base = base.replace("http", "ws", 1)
    async with websockets.connect(f"{ws_base}/api/runs/{run_id}/stream?token={creds['ws']}") as ws:
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "stdout":
                out.append(message.get("data", ""))
            if message["type"] == "exit":
                return str(message["verdict"]), "".join(out)
    return "closed", "".join(out)
