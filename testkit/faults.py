"""Seeing the connector refuse, whatever the transport: one way to read the documented fault code
(``connector.errors.ErrorCode``) and one way to assert it, and a record of every code seen.

Reading. A domain call raises a ``ConnectorError`` (``code_of``); over SOAP the code travels in
the fault's typed detail, ``<detail><tns:ConnectorFault><tns:code>`` (``detail_code``), whether
zeep raised the fault (``documented_code``) or a raw ``requests`` response carries it
(``fault_of``); SOAP's own ``faultcode`` must be the standard class the code belongs to (WS-I BP
R1031). Asserting. One function per transport, each checking the code with ``expect``:

- ``refused_call(code, call, *args)``: a domain call (``ExchangeService``, the store, ...);
- ``refused_parse(data, code)``: the hardened edXML parser;
- ``refused_over_soap(code, call, *args)``: a zeep client's call;
- ``refused_response(response, code)``: an HTTP response already received;
- ``refused_envelope(live, body, code)``: a raw envelope posted to a live connector, which
  must leave every row of its store as it was.

Recording. Every code read here is also noted (``saw``) in a file of this process (one per
pytest-xdist worker) in the directory named by the ``TESTKIT_FAULTS_SEEN`` environment variable,
when it is set; ``tests/conftest.py`` sets it for the session and checks, at the end of a full
run, that every ``ErrorCode`` was seen (``seen`` reads the record back).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
import requests
import zeep
from lxml import etree

from connector.edxml import EdxmlError, ParseLimits, parse
from connector.errors import ConnectorError, ErrorCode
from testkit.live import LiveConnector, row_counts
from testkit.rawsoap import post

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "urn:vn:lienthong:connector:1"
RECORD = "TESTKIT_FAULTS_SEEN"  # the environment variable naming the record's directory

_noted: set[tuple[str, str]] = set()  # (directory, code) already written by this process


# ---- the record ---------------------------------------------------------------------------
def saw(code: str) -> str:
    """Note that a test observed the connector answer with ``code``; returns it."""
    directory = os.environ.get(RECORD)
    if directory and (directory, code) not in _noted:
        _noted.add((directory, code))
        with (Path(directory) / f"{os.getpid()}.codes").open("a", encoding="utf-8") as record:
            record.write(code + "\n")
    return code


def seen(directory: Path) -> set[str]:
    """Every code noted in ``directory``, by any process."""
    return {line for path in directory.glob("*.codes") for line in path.read_text(encoding="utf-8").split()}


# ---- reading the code ---------------------------------------------------------------------
class Fault(NamedTuple):
    code: str  # the documented code, e.g. "Client.SchemaInvalid"
    message: str  # the faultstring


def code_of(error: ConnectorError) -> str:
    """The documented code of an error the connector raised."""
    return saw(error.code.value)


def detail_code(detail: etree._Element | None) -> str:
    """``Client.SchemaInvalid`` from ``<detail><tns:ConnectorFault><tns:code>``."""
    assert detail is not None, "the fault has no detail"
    code = detail.findtext(f"{{{TNS}}}ConnectorFault/{{{TNS}}}code")
    assert code, etree.tostring(detail)
    return saw(code)


def standard_faultcode(fault: etree._Element) -> tuple[str, str]:
    """(namespace, local name) of a SOAP 1.1 ``faultcode`` QName, its prefix resolved."""
    element = fault.find("faultcode")
    prefix, _, local = element.text.strip().rpartition(":")
    return element.nsmap.get(prefix or None, ""), local


def documented_code(fault: zeep.exceptions.Fault) -> str:
    """The documented code of a fault zeep raised, after checking that its faultcode is the
    standard SOAP code the documented one belongs to."""
    code = detail_code(fault.detail)
    assert fault.code.split(":")[-1] == code.split(".")[0], (fault.code, code)
    return code


def fault_of(response: requests.Response) -> Fault:
    """The SOAP 1.1 fault of a response, checking that it is one (HTTP 500, text/xml, a Fault)
    and that its faultcode is SOAP's own class of the documented code."""
    assert response.status_code == 500, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("text/xml"), response.headers["Content-Type"]
    fault = etree.fromstring(response.content).find(f"{{{SOAP11_ENV}}}Body/{{{SOAP11_ENV}}}Fault")
    assert fault is not None, response.text[:300]
    code = detail_code(fault.find("detail"))
    assert standard_faultcode(fault) == (SOAP11_ENV, code.split(".")[0])
    return Fault(code, fault.findtext("faultstring"))


# ---- asserting it, per transport ----------------------------------------------------------
def expect(got: str, code: ErrorCode, context: object = None) -> None:
    """The one assertion: the documented code read is ``code``."""
    assert got == code.value, context if context is not None else got


def refused_call(code: ErrorCode, call: Callable[..., object], *args: object, **kwargs: object) -> ConnectorError:
    """``call(*args, **kwargs)`` raises a ``ConnectorError`` with ``code``; returns it."""
    with pytest.raises(ConnectorError) as caught:
        call(*args, **kwargs)
    expect(code_of(caught.value), code, caught.value)
    return caught.value


def refused_parse(data: bytes, code: ErrorCode, limits: ParseLimits = ParseLimits()) -> EdxmlError:
    """The hardened parser refuses ``data`` with ``code``; returns the error (its issues)."""
    error = refused_call(code, parse, data, limits)
    assert isinstance(error, EdxmlError), error
    return error


def refused_over_soap(code: ErrorCode, call: Callable[..., object], *args: object, **kwargs: object):
    """A zeep client's ``call(*args, **kwargs)`` gets a SOAP fault with ``code``; returns the
    ``zeep.exceptions.Fault``."""
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call(*args, **kwargs)
    expect(documented_code(caught.value), code, caught.value.message)
    return caught.value


def refused_response(response: requests.Response, code: ErrorCode) -> str:
    """The response is a SOAP fault with ``code``; returns its message (faultstring)."""
    fault = fault_of(response)
    expect(fault.code, code, fault.message)
    return fault.message


def refused_envelope(live: LiveConnector, body: bytes | str, code: ErrorCode, **kwargs: object) -> Fault:
    """Post ``body`` (``testkit.rawsoap.post``) to ``live``; assert the fault ``code`` and that
    no row changed anywhere in its store (authentication's bookkeeping aside)."""
    before = row_counts(live)
    fault = fault_of(post(live.url, body, **kwargs))
    expect(fault.code, code, fault)
    assert row_counts(live) == before
    return fault
