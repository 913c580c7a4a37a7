"""Names and locations in an edXML tree: qualified names, readable element paths, date formats.

Shared by the parser, the builder, attachment decoding and validation (its own module so that
none of them imports another just for these).
"""

from __future__ import annotations

from lxml import etree

from connector.edxml.model import NAMESPACE

DATE_FORMAT = "%Y/%m/%d"
TIMESTAMP_FORMAT = "%Y/%m/%d %H:%M:%S"


def q(local: str) -> str:
    """The edXML namespace's qualified name for ``local``."""
    return f"{{{NAMESPACE}}}{local}"


def path_of(element: etree._Element) -> str:
    """A readable path like /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To[2]/OrganId."""
    parts = []
    while element is not None:
        parent = element.getparent()
        name = etree.QName(element).localname
        if parent is not None:
            same = [c for c in parent if c.tag == element.tag]
            if len(same) > 1:
                name += f"[{same.index(element) + 1}]"
        parts.append(name)
        element = parent
    return "/" + "/".join(reversed(parts))
