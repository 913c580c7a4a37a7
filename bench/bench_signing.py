"""Sign/verify throughput of ``signing`` (signxml) next to python-xmlsec (libxmlsec1, C).

Run: ``.venv/bin/pip install -r requirements-bench.txt`` then ``.venv/bin/python bench/bench_signing.py``.
Both sides do the same work per operation: parse the package bytes, sign (enveloped,
exclusive C14N, RSA-SHA256, preloaded key, certificate in X509Data) or verify against the
CA, and serialise. Our verify additionally runs the policy checks (chain, KeyUsage, wrapping,
sender) – that is the price of the product, so it is included. Results are written to the
"Signing" section of docs/benchmarks-signing.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from signing import VerificationPolicy, init_dev_keys, sign_package, verify_package
from signing.profile import edxml
from signing.xmlparse import hardened_parser
from testkit.packages import SENDER, Attachment, PackageSpec, build_package, fake_pdf

ROOT = Path(__file__).resolve().parents[1]

SIZES = {"5 KB": 5 * 1024, "1 MB": 1024 * 1024, "20 MB": 20 * 1024 * 1024}
REPEATS = {"5 KB": 200, "1 MB": 10, "20 MB": 3}
DOC = ROOT / "docs" / "benchmarks-signing.md"
START, END = "<!-- bench_signing:start -->", "<!-- bench_signing:end -->"


def make_package(target: int) -> bytes:
    # base64 of a zip of incompressible bytes is ~4/3 of the file: size the file to hit the target.
    skeleton = len(build_package(PackageSpec(attachments=())))
    file_size = max(int((target - skeleton - 600) * 3 / 4), 64)
    return build_package(PackageSpec(attachments=(Attachment("cid:bench", "ho-so.pdf", fake_pdf(file_size)),)))


def best_of(operation: Callable[[], object], repeats: int) -> float:
    """Median seconds per call (median resists the noisy neighbours of a shared machine)."""
    operation()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


class XmlsecReference:
    """The same operations with python-xmlsec (libxmlsec1)."""

    def __init__(self, key_path: Path, cert_path: Path, ca_path: Path) -> None:
        import xmlsec

        self.xmlsec = xmlsec
        self.key = xmlsec.Key.from_file(str(key_path), xmlsec.KeyFormat.PEM)
        self.key.load_cert_from_file(str(cert_path), xmlsec.KeyFormat.PEM)
        # Trusted CA loaded once, as our VerificationPolicy is built once.
        self.manager = xmlsec.KeysManager()
        self.manager.load_cert(str(ca_path), xmlsec.KeyFormat.PEM, xmlsec.KeyDataType.TRUSTED)

    def sign(self, data: bytes) -> bytes:
        xmlsec = self.xmlsec
        root = etree.fromstring(data, hardened_parser())
        signature = xmlsec.template.create(root, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA256, ns="ds")
        root.find(f"{edxml('edXMLEnvelope')}/{edxml('edXMLHeader')}").append(signature)
        reference = xmlsec.template.add_reference(signature, xmlsec.Transform.SHA256, uri="")
        xmlsec.template.add_transform(reference, xmlsec.Transform.ENVELOPED)
        xmlsec.template.add_transform(reference, xmlsec.Transform.EXCL_C14N)
        xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
        context = xmlsec.SignatureContext()
        context.key = self.key
        context.sign(signature)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def verify(self, data: bytes) -> None:
        xmlsec = self.xmlsec
        root = etree.fromstring(data, hardened_parser())
        signature = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
        xmlsec.SignatureContext(self.manager).verify(signature)


def profile_top(operation: Callable[[], object], lines: int = 12) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    operation()
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(lines)
    text = stream.getvalue()
    return "\n".join(line for line in text.splitlines()[text.splitlines().index("") + 1 :] if line.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only, do not update the docs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        layout = init_dev_keys(Path(tmp))
        identity = layout.identity(SENDER)  # loaded once: signing uses a preloaded key object
        policy = VerificationPolicy(trust_anchors=tuple(layout.trust_store))
        entry = layout.orgs[SENDER]
        try:
            reference: XmlsecReference | None = XmlsecReference(
                layout.directory / entry.key_file, layout.directory / entry.cert_file, layout.ca_path
            )
        except ImportError:
            reference = None
            print(
                "python-xmlsec not installed (pip install -r requirements-bench.txt): no C reference", file=sys.stderr
            )

        rows, profiles = [], {}
        for label, size in SIZES.items():
            package = make_package(size)
            ours_signed = sign_package(package, identity)
            repeats = REPEATS[label]
            sign_ours = best_of(lambda: sign_package(package, identity), repeats)  # noqa: B023
            verify_ours = best_of(lambda: verify_package(ours_signed, policy), repeats)  # noqa: B023
            sign_c = verify_c = float("nan")
            if reference is not None:
                c_signed = reference.sign(package)
                verify_package(c_signed, policy)  # the C-signed package is valid for us too
                reference.verify(ours_signed)  # and ours for libxmlsec1
                sign_c = best_of(lambda: reference.sign(package), repeats)  # noqa: B023
                verify_c = best_of(lambda: reference.verify(ours_signed), repeats)  # noqa: B023
            rows.append((label, len(package), sign_ours, sign_c, verify_ours, verify_c))
            print(
                f"{label:>6} ({len(package):>9} B): sign {sign_ours * 1000:8.2f} ms vs C {sign_c * 1000:8.2f} ms "
                f"({sign_ours / sign_c:4.2f}x) | verify {verify_ours * 1000:8.2f} ms vs C {verify_c * 1000:8.2f} ms "
                f"({verify_ours / verify_c:4.2f}x)"
            )
            if label == "20 MB":
                profiles["verify 20 MB"] = profile_top(lambda: verify_package(ours_signed, policy))  # noqa: B023
                profiles["sign 20 MB"] = profile_top(lambda: sign_package(package, identity))  # noqa: B023

    if not args.no_write:
        write_doc(rows, profiles)
        print(f"updated {DOC.relative_to(ROOT)}")


def write_doc(rows: list[tuple[str, int, float, float, float, float]], profiles: dict[str, str]) -> None:
    targets = {"5 KB": 2.0, "1 MB": 1.5, "20 MB": 1.5}
    table = [
        "| Package | Bytes | sign (ours) | sign (C) | ratio | verify (ours) | verify (C) | ratio | verify target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, size, sign_o, sign_c, verify_o, verify_c in rows:
        ratio = verify_o / verify_c
        verdict = "met" if ratio <= targets[label] else "**missed**"
        table.append(
            f"| {label} | {size} | {sign_o * 1000:.2f} ms | {sign_c * 1000:.2f} ms | {sign_o / sign_c:.2f}× "
            f"| {verify_o * 1000:.2f} ms | {verify_c * 1000:.2f} ms | {ratio:.2f}× | ≤ {targets[label]}× {verdict} |"
        )
    body = [
        START,
        f"Measured by `bench/bench_signing.py` on {time.strftime('%Y-%m-%d %H:%M')} (Python "
        f"{sys.version.split()[0]}; median of repeated runs; RSA-2048, exclusive C14N, preloaded key).",
        "",
        *table,
        "",
        *(
            f"Where the time goes ({name}, cProfile, by own time):\n\n```\n{text}\n```\n"
            for name, text in profiles.items()
        ),
        END,
    ]
    block = "\n".join(body)
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks: signing\n\n## Signing\n\n"
    if START in current:
        current = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, current, flags=re.S)
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(current, encoding="utf-8")


if __name__ == "__main__":
    main()
