"""The admin web console at ``/admin``: server-rendered pages for operators (docs/admin.md)."""
