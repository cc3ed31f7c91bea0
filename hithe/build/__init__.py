"""Dockerfile builds (the classic builder): parser → instructions → executor, cache, .dockerignore."""
