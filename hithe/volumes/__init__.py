"""Volumes: the local volume driver, its records in the metadata DB, and Docker's rules for them.

A volume is a directory `<data-root>/volumes/<name>/_data`, optionally with a mount on it
(the local driver's `type`/`device`/`o` options) while a running container uses it.
"""
