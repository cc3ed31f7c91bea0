"""The static command table: which module holds which command.

Kept separate from the modules themselves so that ``hithe ps`` imports only
``container_list`` and ``hithe --help`` imports none of them.  Entries are
(module, attribute, short help); aliases point at another entry.
"""
from __future__ import annotations

Entry = tuple[str, str, str]

GROUPS: dict[str, tuple[str, dict[str, Entry], dict[str, str]]] = {
    "container": ("Manage containers", {
        "attach": ("hithe.cli.container_run", "ATTACH",
                   "Attach local standard input, output, and error streams to a running container"),
        "commit": ("hithe.cli.container_ops", "COMMIT", "Create a new image from a container's changes"),
        "cp": ("hithe.cli.container_info", "CP", "Copy files/folders between a container and the local filesystem"),
        "create": ("hithe.cli.container_run", "CREATE", "Create a new container"),
        "diff": ("hithe.cli.container_info", "DIFF", "Inspect changes to files or directories on a container's filesystem"),
        "exec": ("hithe.cli.container_exec", "EXEC", "Execute a command in a running container"),
        "export": ("hithe.cli.container_info", "EXPORT", "Export a container's filesystem as a tar archive"),
        "inspect": ("hithe.cli.inspect", "CONTAINER_INSPECT", "Display detailed information on one or more containers"),
        "kill": ("hithe.cli.container_ops", "KILL", "Kill one or more running containers"),
        "logs": ("hithe.cli.container_logs", "LOGS", "Fetch the logs of a container"),
        "ls": ("hithe.cli.container_list", "LS", "List containers"),
        "pause": ("hithe.cli.container_ops", "PAUSE", "Pause all processes within one or more containers"),
        "port": ("hithe.cli.container_info", "PORT", "List port mappings or a specific mapping for the container"),
        "prune": ("hithe.cli.container_ops", "PRUNE", "Remove all stopped containers"),
        "rename": ("hithe.cli.container_ops", "RENAME", "Rename a container"),
        "restart": ("hithe.cli.container_ops", "RESTART", "Restart one or more containers"),
        "rm": ("hithe.cli.container_ops", "RM", "Remove one or more containers"),
        "run": ("hithe.cli.container_run", "RUN", "Create and run a new container from an image"),
        "start": ("hithe.cli.container_run", "START", "Start one or more stopped containers"),
        "stats": ("hithe.cli.container_info", "STATS", "Display a live stream of container(s) resource usage statistics"),
        "stop": ("hithe.cli.container_ops", "STOP", "Stop one or more running containers"),
        "top": ("hithe.cli.container_info", "TOP", "Display the running processes of a container"),
        "unpause": ("hithe.cli.container_ops", "UNPAUSE", "Unpause all processes within one or more containers"),
        "update": ("hithe.cli.container_ops", "UPDATE", "Update configuration of one or more containers"),
        "wait": ("hithe.cli.container_ops", "WAIT", "Block until one or more containers stop, then print their exit codes"),
    }, {"list": "ls", "ps": "ls", "remove": "rm"}),
    "image": ("Manage images", {
        "build": ("hithe.cli.build", "BUILD", "Build an image from a Dockerfile"),
        "history": ("hithe.cli.image", "HISTORY", "Show the history of an image"),
        "import": ("hithe.cli.image_io", "IMPORT", "Import the contents from a tarball to create a filesystem image"),
        "inspect": ("hithe.cli.inspect", "IMAGE_INSPECT", "Display detailed information on one or more images"),
        "load": ("hithe.cli.image_io", "LOAD", "Load an image from a tar archive or STDIN"),
        "ls": ("hithe.cli.image", "LS", "List images"),
        "prune": ("hithe.cli.image", "PRUNE", "Remove unused images"),
        "pull": ("hithe.cli.registry_cmds", "PULL", "Download an image from a registry"),
        "push": ("hithe.cli.registry_cmds", "PUSH", "Upload an image to a registry"),
        "rm": ("hithe.cli.image", "RM", "Remove one or more images"),
        "save": ("hithe.cli.image_io", "SAVE", "Save one or more images to a tar archive (streamed to STDOUT by default)"),
        "tag": ("hithe.cli.image", "TAG", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    }, {"list": "ls", "remove": "rm"}),
    "volume": ("Manage volumes", {
        "create": ("hithe.cli.volume", "CREATE", "Create a volume"),
        "inspect": ("hithe.cli.volume", "INSPECT", "Display detailed information on one or more volumes"),
        "ls": ("hithe.cli.volume", "LS", "List volumes"),
        "prune": ("hithe.cli.volume", "PRUNE", "Remove unused local volumes"),
        "rm": ("hithe.cli.volume", "RM", "Remove one or more volumes"),
    }, {"list": "ls", "remove": "rm"}),
    "network": ("Manage networks", {
        "connect": ("hithe.cli.network", "CONNECT", "Connect a container to a network"),
        "create": ("hithe.cli.network", "CREATE", "Create a network"),
        "disconnect": ("hithe.cli.network", "DISCONNECT", "Disconnect a container from a network"),
        "inspect": ("hithe.cli.network", "INSPECT", "Display detailed information on one or more networks"),
        "ls": ("hithe.cli.network", "LS", "List networks"),
        "prune": ("hithe.cli.network", "PRUNE", "Remove all unused networks"),
        "rm": ("hithe.cli.network", "RM", "Remove one or more networks"),
    }, {"list": "ls", "remove": "rm"}),
    "system": ("Manage hithe", {
        "df": ("hithe.cli.system", "DF", "Show hithe disk usage"),
        "events": ("hithe.cli.system", "EVENTS", "Get real time events from the server"),
        "info": ("hithe.cli.system", "INFO", "Display system-wide information"),
        "prune": ("hithe.cli.system", "PRUNE", "Remove unused data"),
    }, {}),
}

# top-level shortcuts: name -> (group, subcommand)
COMMON = ["run", "exec", "ps", "build", "pull", "push", "images", "login", "logout", "version", "info"]
TOP: dict[str, tuple[str, str]] = {
    "attach": ("container", "attach"), "build": ("image", "build"), "commit": ("container", "commit"), "cp": ("container", "cp"),
    "create": ("container", "create"), "diff": ("container", "diff"), "events": ("system", "events"),
    "exec": ("container", "exec"), "export": ("container", "export"), "history": ("image", "history"),
    "images": ("image", "ls"), "import": ("image", "import"), "info": ("system", "info"),
    "kill": ("container", "kill"), "load": ("image", "load"), "logs": ("container", "logs"),
    "pause": ("container", "pause"), "port": ("container", "port"), "ps": ("container", "ls"),
    "pull": ("image", "pull"), "push": ("image", "push"), "rename": ("container", "rename"),
    "restart": ("container", "restart"), "rm": ("container", "rm"), "rmi": ("image", "rm"),
    "run": ("container", "run"), "save": ("image", "save"), "start": ("container", "start"),
    "stats": ("container", "stats"), "stop": ("container", "stop"), "tag": ("image", "tag"),
    "top": ("container", "top"), "unpause": ("container", "unpause"), "update": ("container", "update"),
    "wait": ("container", "wait"),
}
# commands with no group (or whose group we do not have)
STANDALONE: dict[str, Entry] = {
    "version": ("hithe.cli.system", "VERSION", "Show the hithe version information"),
    "inspect": ("hithe.cli.inspect", "INSPECT", "Return low-level information on hithe objects"),
    "login": ("hithe.cli.registry_cmds", "LOGIN", "Authenticate to a registry"),
    "logout": ("hithe.cli.registry_cmds", "LOGOUT", "Log out from a registry"),
}


def short_for(name: str) -> str:
    if name in STANDALONE:
        return STANDALONE[name][2]
    group, sub = TOP[name]
    return GROUPS[group][1][sub][2]
