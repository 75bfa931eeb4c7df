"""Fixtures for the emulated phone (see tests/phone/README.md).

* ``adb_server``: an isolated adb server, once per session per adb binary: parametrized over Debian's adb 29
  (``/usr/bin/adb``) and the adb 36.0.0 of the adbutils==2.12.0 wheel (``request.param``: "adb29"/"adb36",
  also ``adb_server.name``). Killed with ``adb kill-server`` at the end.
* ``phone_factory(profile="galaxy-s24", faults=None, connect="device", **options)``: starts an emulated phone,
  ``adb connect``s it and waits for the state ``connect`` (None: don't connect); stopped after the test.
* ``phone``: one connected Galaxy S24.

Missing tools fail the test (never skip) with what install.sh should have installed. Other test directories
can use these with ``from tests.phone.conftest import adb_server, phone, phone_factory  # noqa: F401``.
"""

from __future__ import annotations

import pytest

from tests.phone.harness import ADB_BINARIES, AdbServer, EmulatedPhone, PhoneSetupError


@pytest.fixture(scope="session", params=sorted(ADB_BINARIES))
def adb_server(request, tmp_path_factory):
    try:
        adb = ADB_BINARIES[request.param]()
    except PhoneSetupError as e:
        pytest.fail(str(e))
    server = AdbServer(adb, tmp_path_factory.mktemp(f"adb-server-{request.param}"))
    server.name = request.param
    try:
        server.start()
    except PhoneSetupError as e:
        pytest.fail(str(e))
    yield server
    server.stop()


@pytest.fixture
def phone_factory(adb_server):
    phones: list[EmulatedPhone] = []

    def make(
        profile: str = "galaxy-s24", faults: dict | None = None, connect: str | None = "device", **options
    ):
        try:
            p = EmulatedPhone(profile=profile, faults=faults, **options)
            phones.append(p)
            p.start()
        except PhoneSetupError as e:
            pytest.fail(str(e))
        if connect:
            p.connect(adb_server, expect=connect)
        else:
            p.server = adb_server
        return p

    yield make
    for p in phones:
        p.stop()


@pytest.fixture
def phone(phone_factory) -> EmulatedPhone:
    return phone_factory()
