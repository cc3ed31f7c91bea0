"""hithe-registry: a private registry server speaking the OCI distribution spec (Docker's registry v2)."""
