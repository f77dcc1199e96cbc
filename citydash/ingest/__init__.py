"""Connectors: one module per source format, each returning a citydash.contract.Extract."""
