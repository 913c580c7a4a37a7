"""The XSDs in ``schemas/``, compiled once per process and never fetched from the network.

lxml's ``XMLSchema`` decides (fast: the accept path); xmlschema explains (exact paths and
reasons) when lxml says no.
"""

from __future__ import annotations

import functools
from pathlib import Path

import xmlschema
from lxml import etree

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
EDXML_XSD = SCHEMA_DIR / "edxml.xsd"


@functools.cache
def lxml_schema(path: Path = EDXML_XSD) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


@functools.cache
def explaining_schema(path: Path = EDXML_XSD) -> xmlschema.XMLSchema10:
    # allow="sandbox": imports only from inside schemas/; defuse: no DTDs in schema files.
    return xmlschema.XMLSchema10(str(path), allow="sandbox", defuse="always")
