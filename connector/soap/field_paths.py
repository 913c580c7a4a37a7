"""The ``field`` of a fault: one notation everywhere, real element names joined by ``/``.

A request field is named from the operation's request element down, as the contract writes
it: ``sendDocument/kind``, ``sendDocument/dossier/applicant``, ``getStatus/dossierCode``, and a
field inside the package from ``edxmlPackage`` on: ``sendDocument/edxmlPackage/MessageHeader/
DocumentId``. Parts of the SOAP message itself are named from the envelope (``Envelope``,
``Envelope/Header``, ``Envelope/Body``). Never libxml2's anonymous ``*/*[3]`` (what it writes for
elements in a default namespace, as hand-written envelopes and most generated clients send
them) and never dots; a position only where an element repeats (``To[2]``).
"""

from __future__ import annotations

from lxml import etree

ENVELOPE = "Envelope"
HEADER = "Envelope/Header"
BODY = "Envelope/Body"
PACKAGE = "edxmlPackage"
_DOMAIN_PACKAGE = "package"  # the domain's name for what the contract calls edxmlPackage


def element_path(element: etree._Element) -> str:
    """``sendDocument/dossier/applicant`` for an element of a request; from ``Envelope`` for
    one outside the Body."""
    names: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        parent = node.getparent()
        if parent is not None and etree.QName(parent).localname == "Body" and parent.getparent() is not None:
            names.append(etree.QName(node).localname)  # the request element: where request fields start
            break
        names.append(_step(node, parent))
        node = parent
    return "/".join(reversed(names))


def _step(node: etree._Element, parent: etree._Element | None) -> str:
    name = etree.QName(node).localname
    if parent is None:
        return name
    same = [sibling for sibling in parent if sibling.tag == node.tag]
    return f"{name}[{same.index(node) + 1}]" if len(same) > 1 else name


def schema_error_path(validated: etree._Element, xpath: str | None) -> str | None:
    """The element a libxml2 schema error points at, named by ``element_path``; None when the
    XPath cannot be followed. ``xpath`` starts at ``validated`` (lxml validates the request
    element as a document of its own) and may be anonymous (``/*/*[3]``)."""
    steps = (xpath or "").strip("/").split("/")
    if not steps[0]:
        return None
    if len(steps) == 1:
        return element_path(validated)
    namespaces = {prefix: uri for node in validated.iter() for prefix, uri in node.nsmap.items() if prefix}
    try:
        found = validated.xpath("/".join(steps[1:]), namespaces=namespaces)
    except (etree.XPathError, TypeError):
        return None
    if isinstance(found, list) and len(found) == 1 and isinstance(found[0], etree._Element):
        return element_path(found[0])
    return None


def request_field(operation: str | None, field: str | None) -> str | None:
    """A domain error's field (``senderUsername``, ``dossier/procedureCode``,
    ``package/MessageHeader/DocumentId``) as the contract names it, from the operation's element."""
    if not field:
        return field
    if field == _DOMAIN_PACKAGE or field.startswith(_DOMAIN_PACKAGE + "/"):
        field = PACKAGE + field[len(_DOMAIN_PACKAGE) :]
    return f"{operation}/{field}" if operation else field
