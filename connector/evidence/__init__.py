"""Evidence for auditors: the notary that signs the hash chain's head (``notary``) and the
bundles an auditor verifies with ``python -m signing verify-bundle`` (``bundle``). The chain
itself is appended inside the store's transactions (``connector.store``)."""
