"""Safe tar extraction and creation (layers, rootfs imports and exports).

See ARCHITECTURE.md §3 "Tar": tarfile only parses headers; everything on
disk is written by us through directory file descriptors.
"""
from .compression import compress_gzip_writer, open_decompressed
from .create import write_layer_tar, write_tree_tar
from .extract import ExtractStats, extract_tar

__all__ = [
    "ExtractStats",
    "compress_gzip_writer",
    "extract_tar",
    "open_decompressed",
    "write_layer_tar",
    "write_tree_tar",
]
