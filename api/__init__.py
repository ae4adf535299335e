"""The operations HTTP API (FastAPI)."""
