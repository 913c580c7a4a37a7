"""Operations: what an operator watches. Request logs (``logs``), Prometheus metrics
(``metrics``), readiness checks (``health``) and the connector's certificates and their expiry
(``certificates``). Each takes the parts it reads as arguments, never the whole runtime."""
