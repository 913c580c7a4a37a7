"""The serving layer: the one place that assembles a process. ``runtime`` builds the parts from
``Settings`` (store, keys, policy, service, delivery worker, notary); ``app`` is the HTTP front
(SOAP, admin console, health, metrics, WSDL); ``process`` starts one serving process;
``supervisor`` runs ``--workers N``; ``admission`` and ``memory`` keep large requests within the
memory budget. ``connector.wsgi`` is the entry point for any WSGI server."""
