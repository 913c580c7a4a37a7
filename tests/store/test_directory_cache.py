"""The request path reads the directory from a per-process snapshot: an import is seen at once by
the process that made it, and by every other process (another worker, node or the command
line) within ``max_age`` seconds, through the generation each import bumps."""

from __future__ import annotations

from connector.exchange.directory import Directory, OrganizationEntry, SystemEntry, SystemKind
from connector.store import DirectoryCache, Store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def one_stop(system_id: str, agencies: tuple[str, ...]) -> Directory:
    return Directory(
        organizations=[OrganizationEntry("000.00.13.H31", "UBND huyện")],
        systems=[SystemEntry(system_id, "000.00.13.H31", SystemKind.ONESTOP, agencies=agencies)],
    )


def test_the_importing_process_sees_its_import_at_once(store):
    store.import_directory(one_stop("igate", ("000.00.31.H31",)))
    assert store.system("igate").agencies == ("000.00.31.H31",)
    store.import_directory(one_stop("igate", ("000.00.31.H31", "000.00.00.H31")))
    assert store.system("igate").agencies == ("000.00.31.H31", "000.00.00.H31")
    assert store.system_for("000.00.13.H31", SystemKind.ONESTOP).system_id == "igate"
    assert store.organization("000.00.13.H31").name == "UBND huyện"


def test_another_process_sees_an_import_after_max_age_and_only_then(store, database_url):
    store.import_directory(one_stop("igate", ()))
    clock = Clock()
    other = Store(database_url)  # the server, while `directory import` runs elsewhere
    cache = DirectoryCache(other._read, max_age=1.0, clock=clock)
    try:
        assert cache.get().systems["igate"].agencies == ()
        store.import_directory(one_stop("igate", ("000.00.31.H31",)))
        clock.now += 0.5
        assert cache.get().systems["igate"].agencies == ()  # still within max_age: not looked at
        clock.now += 0.6
        assert cache.get().systems["igate"].agencies == ("000.00.31.H31",)
    finally:
        other.close()


def test_an_unchanged_generation_keeps_the_snapshot(store, database_url):
    store.import_directory(one_stop("igate", ()))
    clock = Clock()
    other = Store(database_url)
    cache = DirectoryCache(other._read, max_age=1.0, clock=clock)
    try:
        first = cache.get()
        clock.now += 5
        assert cache.get() is first  # one generation query, no reload
    finally:
        other.close()
