"""What WS-I Basic Profile and older encoders send that a strict reading would refuse.

- UTF-16 envelopes with a byte-order mark (BP 1.1 R1012: a receiver must take UTF-8 and UTF-16);
- ``xsi:type`` naming the XSD built-in type a field derives from (Perl SOAP::Lite, Axis 1 write
  ``xsi:type="xsd:string"`` on every value);
- and, for what stays refused, a message that shows the expected namespace when a child is
  unqualified or in another namespace (SOAP::Lite's default).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import xmlschema
from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSI_TYPE = f"{{{XSI}}}type"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_DECLARED_ENCODING = re.compile(r"""^(<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
_HAS_XSI_TYPE = etree.XPath("boolean(descendant-or-self::*[@xsi:type])", namespaces={"xsi": XSI})


def as_utf8(data: bytes) -> bytes:
    """A UTF-16 document with its byte-order mark, as the same document in UTF-8 (declaration
    included); anything else unchanged. Without a BOM, UTF-16 is not told apart: XML requires it."""
    if not data.startswith(_UTF16_BOMS):
        return data
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError:
        return data  # the parser names the defect
    return _DECLARED_ENCODING.sub(r"\1\2UTF-8\2", text, count=1).encode("utf-8")


@functools.cache
def explaining_schema(path: Path) -> xmlschema.XMLSchema10:
    """The contract's XSD as xmlschema reads it: declared types by path (loaded once)."""
    return xmlschema.XMLSchema10(str(path), allow="sandbox", defuse="always")


def drop_builtin_xsi_types(payload: etree._Element, schema_path: Path) -> None:
    """Remove ``xsi:type`` where it names an XSD built-in type the declared type is (or derives
    from): it says nothing the schema does not. Other ``xsi:type`` values stay for the schema
    to judge (a built-in the field does not derive from is still refused)."""
    if not _HAS_XSI_TYPE(payload):
        return
    schema = explaining_schema(schema_path)
    for element in payload.iter():
        if not isinstance(element.tag, str) or (value := element.get(XSI_TYPE)) is None:
            continue
        prefix, _, local = value.strip().rpartition(":")
        if element.nsmap.get(prefix or None) != XS:
            continue
        builtin = schema.maps.types.get(f"{{{XS}}}{local}")
        declared = _declared_type(schema, element)
        if builtin is not None and declared is not None and (declared is builtin or declared.is_derived(builtin)):
            del element.attrib[XSI_TYPE]


def _declared_type(schema: xmlschema.XMLSchema10, element: etree._Element):  # noqa: ANN202 - an xmlschema type
    steps = []
    node: etree._Element | None = element
    while node is not None:
        steps.append(node.tag)
        node = node.getparent()
        if node is not None and node.tag.endswith("}Body"):
            break
    declaration = schema.find("/".join(reversed(steps)))
    return declaration.type if declaration is not None else None


def foreign_element(payload: etree._Element, namespace: str) -> etree._Element | None:
    """The first element of the request that is not in the contract's namespace."""
    for element in payload.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace != namespace:
            return element
    return None


def namespace_hint(element: etree._Element, namespace: str) -> str:
    qname = etree.QName(element)
    actual = f"namespace {qname.namespace}" if qname.namespace else "no namespace"
    return (
        f"element {qname.localname!r} is in {actual}; expected {{{namespace}}}{qname.localname} "
        f'(every element of the request is qualified: xmlns="{namespace}")'
    )
