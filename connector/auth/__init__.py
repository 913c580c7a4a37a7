"""Who is calling: WS-Security UsernameToken, HTTP Basic over TLS and client certificates
(through a trusted TLS proxy), checked against the credentials in the store.

Framework-free: the SOAP layer hands over the ``wsse:Security`` header element and the transport
facts (``transport.TransportFacts``); the answer is a ``Caller`` the service authorises.
"""

from connector.auth.authenticator import Authenticator
from connector.auth.caller import AuthMethod, Caller
from connector.auth.transport import TransportFacts, transport_facts

__all__ = ["AuthMethod", "Authenticator", "Caller", "TransportFacts", "transport_facts"]
