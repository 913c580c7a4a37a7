"""Keys for a simulator: its organisation's signing identity and the CA it trusts, both from the
development key set the connector uses (``signing keys init``; ``data/keys`` by default).

Received packages are verified before they are read, as a real partner would, and only the
verified bytes (``signed_xml``) are parsed: reading the original bytes after a successful
verification is how signature-wrapping attacks get in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from connector.edxml import EdxmlError, MiB, Package, ParseLimits, StatusPackage, parse
from signing import (
    OrgSpec,
    SignatureVerificationError,
    SigningIdentity,
    VerificationPolicy,
    init_dev_keys,
    verify_package,
)
from simulators.partner_service import PartnerRejection

# What the connector accepts by default (its max_package_bytes): whatever it took must fit here.
PACKAGE_LIMIT = 72 * MiB


@dataclass(frozen=True)
class SimulatorKeys:
    identity: SigningIdentity
    policy: VerificationPolicy

    @classmethod
    def development(cls, keys_dir: Path, organ_id: str, organ_name: str) -> SimulatorKeys:
        # init_dev_keys is idempotent: it reuses the CA and identities the connector made and only
        # adds ours if missing, so a simulator may start before the connector has ever run.
        layout = init_dev_keys(keys_dir, [OrgSpec(organ_id, organ_name)])
        return cls(
            layout.identity(organ_id), VerificationPolicy.from_paths(trust=[layout.ca_path], max_bytes=PACKAGE_LIMIT)
        )

    def read_status(self, data: bytes, status_code: str) -> StatusPackage:
        """A delivered status package, which must say what the delivery says it says."""
        package = self.read(data)
        if not isinstance(package, StatusPackage):
            raise PartnerRejection("deliverStatus needs a status package")
        if package.status_code.value != status_code:
            raise PartnerRejection(
                f"statusCode {status_code!r} differs from the package's {package.status_code.value!r}"
            )
        return package

    def read(self, data: bytes, limits: ParseLimits = ParseLimits(max_bytes=PACKAGE_LIMIT)) -> Package:
        """Verify then parse a received package; anything unusable is a rejection (Client fault)."""
        try:
            verified = verify_package(data, self.policy)
            return parse(verified.signed_xml, limits)
        except SignatureVerificationError as exc:
            raise PartnerRejection(f"package refused: {exc}") from None
        except EdxmlError as exc:
            raise PartnerRejection(f"package is not usable edXML: {exc}") from None
