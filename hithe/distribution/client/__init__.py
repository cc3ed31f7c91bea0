"""The engine's registry client: pull, push and login against any v2 registry.

Layers, bottom up: ``http`` (HTTP/1.1 over asyncio streams, TLS by stdlib
``ssl``), ``endpoint`` (which URL and which TLS rules a registry name gets),
``auth`` (``WWW-Authenticate`` challenges, Bearer tokens, Basic), ``session``
(authenticated requests to one repository), ``manifest`` (media types and
platform choice), ``blobs`` (verified download, upload).  ``pull``, ``push``
and ``login`` put them to work for the image service.
"""
