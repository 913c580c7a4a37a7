"""A minimal, valid single-page PDF with a few lines of text (for sample attachments).

Text is written in the standard Helvetica font, which has no Vietnamese glyphs, so diacritics
are folded to ASCII; the file is a real PDF any reader opens.
"""

from __future__ import annotations

import unicodedata


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in folded if ord(ch) < 128 and not unicodedata.combining(ch))
    return plain.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(lines: list[str], padding: int = 0) -> bytes:
    """Build the PDF; ``padding`` appends that many bytes of a compressed-looking comment
    stream so benchmarks can make large, still valid files."""
    text_ops = ["BT", "/F1 12 Tf", "72 770 Td", "14 TL"]
    for line in lines:
        text_ops.append(f"({_ascii(line)}) '")
    text_ops.append("ET")
    content = "\n".join(text_ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    if padding:
        import os

        blob = os.urandom(padding)  # incompressible, like real scanned documents
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(blob), blob))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
