"""What the connector calls on partner systems: the contracts (``contracts``), the zeep clients
(``clients``) and the reference simulators (``simulators``)."""
