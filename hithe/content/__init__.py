"""Content-addressed blob store (see store.py)."""
from hithe.content.store import BlobWriter, ContentStore, Descriptor

__all__ = ["BlobWriter", "ContentStore", "Descriptor"]
