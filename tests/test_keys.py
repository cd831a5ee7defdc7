"""The secret key: made once on first start, kept owner-only, shared by every process that should share it."""

from __future__ import annotations

import os
import re
import stat
import threading
from pathlib import Path

import pytest

from assay import keys
from assay.errors import Invalid
from assay.settings import Config

EXTERNAL = "postgresql+psycopg://assay@db.internal/assay"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_data_dir_gets_a_strong_owner_only_key_that_is_kept(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "assay-data"  # not even there yet
    first = keys.load(Config(data_dir=data))
    path = data / "secret_key"
    assert (first.source, first.path) == ("generated", path)
    key = first.config.secret_key
    assert key is not None and len(key) == 64 and int(key, 16) >= 0  # 256 random bits, as hex
    assert path.read_text() == key + "\n"
    assert _mode(path) == 0o600
    again = keys.load(Config(data_dir=data))
    assert (again.source, again.config.secret_key) == ("file", key)
    assert sorted(p.name for p in data.iterdir()) == ["secret_key"]  # no temporary file left behind


def test_the_key_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        found = keys.load(Config(data_dir=tmp_path))
    finally:
        os.umask(old)
    assert found.path is not None and _mode(found.path) == 0o600


def test_servers_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path)
    start = threading.Barrier(8)
    found: list[keys.Key] = []
    lock = threading.Lock()

    def boot() -> None:
        start.wait()
        key = keys.load(config)
        with lock:
            found.append(key)

    threads = [threading.Thread(target=boot) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({k.config.secret_key for k in found}) == 1
    assert [k.source for k in found].count("generated") == 1
    assert (tmp_path / "secret_key").read_text().strip() == found[0].config.secret_key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]


def test_an_existing_key_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text("an operator's own key, long enough\n")
    path.chmod(0o600)
    found = keys.load(Config(data_dir=tmp_path))
    assert (found.source, found.config.secret_key) == ("file", "an operator's own key, long enough")
    key, made = keys.create(path, make_parent=False)
    assert (key, made) == ("an operator's own key, long enough", False)
    assert path.read_text() == "an operator's own key, long enough\n"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secret_key"
    path.write_text("k" * 64)
    path.chmod(mode)
    with pytest.raises(Invalid) as info:
        keys.load(Config(data_dir=tmp_path))
    assert info.value.message == (
        f"the secret key file {path} can be read by other users (mode {mode:04o}); "
        f"make it owner-only with `chmod 600 {path}`"
    )
    assert "k" * 64 not in info.value.message


@pytest.mark.parametrize(
    ("content", "problem"),
    [("changeme\n", "is a placeholder"), ("short\n", "is too short"), ("", "is a placeholder")],
)
def test_a_placeholder_in_the_key_file_is_refused(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "secret_key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(Invalid, match=f"^{re.escape(f'the key in {path} {problem}')}"):
        keys.load(Config(data_dir=tmp_path))
    assert path.read_text() == content  # refused, not "repaired" with a new key


def test_the_environment_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    found = keys.load(Config(data_dir=tmp_path, secret_key="k" * 40))
    assert (found.source, found.config.secret_key) == ("environment", "k" * 40)
    assert list(tmp_path.iterdir()) == []


def test_with_an_external_database_no_key_is_made_and_start_up_says_what_to_set(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path, database_url=EXTERNAL)
    found = keys.load(config)
    assert (found.source, found.config.secret_key) == ("none", None)
    assert list(tmp_path.iterdir()) == []  # no per-process (per-machine) key behind a load balancer
    advice = keys.missing(config, operator=True)  # the start-up log: this server's own path
    assert f"ASSAY_SECRET_KEY_FILE={(tmp_path / 'secret_key').resolve()}" in advice
    assert "ASSAY_SECRET_KEY " in advice and "\n" not in advice
    public = keys.missing(config)  # the pages: anyone may read them, so no path of this machine
    assert str(tmp_path) not in public and "ASSAY_SECRET_KEY_FILE=/srv/assay/secret_key" in public


def test_with_an_external_database_every_process_shares_the_named_key_file(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    one = keys.load(
        Config(data_dir=tmp_path / "host-1", database_url=EXTERNAL, secret_key_file=shared / "key")
    )
    two = keys.load(
        Config(data_dir=tmp_path / "host-2", database_url=EXTERNAL, secret_key_file=shared / "key")
    )
    assert (one.source, two.source) == ("generated", "file")
    assert one.config.secret_key == two.config.secret_key
    assert _mode(shared / "key") == 0o600


def test_an_external_database_uses_a_key_file_already_in_the_data_dir(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("k" * 64)
    (tmp_path / "secret_key").chmod(0o600)
    found = keys.load(Config(data_dir=tmp_path, database_url=EXTERNAL))
    assert (found.source, found.config.secret_key) == ("file", "k" * 64)


def test_a_named_key_file_in_a_missing_directory_is_refused_not_created(tmp_path: Path) -> None:
    path = tmp_path / "not-mounted" / "key"
    with pytest.raises(Invalid, match=r"its directory .*not-mounted does not exist"):
        keys.load(Config(data_dir=tmp_path, database_url=EXTERNAL, secret_key_file=path))
    assert not path.parent.exists()


def test_a_key_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret_key").mkdir(mode=0o700)
    with pytest.raises(Invalid, match="is not a regular file"):
        keys.load(Config(data_dir=tmp_path))
