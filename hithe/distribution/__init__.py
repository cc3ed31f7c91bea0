"""Distribution: the registry client (pull, push, auth) and the hithe-registry server."""
