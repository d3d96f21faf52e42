"""``%%configure [-f]``: the session settings of a Fabric (or sparkmagic) notebook's first cell.

The cell is a JSON object, as Fabric and sparkmagic spell it::

    %%configure -f
    {"driverMemory": "4g", "executorMemory": "4g", "numExecutors": 2,
     "conf": {"spark.sql.shuffle.partitions": "8"}}

The settings apply to the next session this notebook starts; ``-f`` restarts the current one
with them now (its variables are lost). Before any session exists, it only sets them; a session
still starting in the background after ``%livy connect`` (no cell has used it) is replaced by one
with them. Settings
add to those of ``%livy connect`` (a later ``%livy connect`` starts from its own options again).

The session options of this notebook carry a name, a kind, a Spark conf and a Fabric
Environment; the driver and executor sizes go in the conf under the keys Apache Livy itself
turns them into (``spark.driver.memory``, ``spark.executor.instances``, ... — Livy's
``InteractiveSession.create``), which the local server reads the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from fabric_livy_magics.livy.targets import KINDS, SessionOptions
from fabric_livy_magics.notebook.commands.parsing import parse, set_prog
from fabric_livy_magics.notebook.commands.state import NotebookState

__all__ = ["SIZING_CONF", "configure", "configure_magic", "register_configure", "session_options"]

#: Livy's request fields for sizes, and the Spark settings Livy turns them into.
SIZING_CONF = {
    "driverMemory": "spark.driver.memory",
    "driverCores": "spark.driver.cores",
    "executorMemory": "spark.executor.memory",
    "executorCores": "spark.executor.cores",
    "numExecutors": "spark.executor.instances",
}
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*[kmgtp]?b?$", re.IGNORECASE)
_OTHER_KEYS = ("conf", "name", "kind", "environment")
KNOWN_KEYS = (*SIZING_CONF, *_OTHER_KEYS)


@set_prog("%%configure")
@magic_arguments()
@argument("-f", "--force", action="store_true",
          help="Restart the current session now with these settings (its variables are lost).")
def configure_magic(line: str) -> None:
    """Session settings as a JSON object: driverMemory, driverCores, executorMemory,
    executorCores, numExecutors, conf, name, kind, environment ({"id": ...}, Fabric).

    Example::

        %%configure -f
        {"driverMemory": "4g", "numExecutors": 2, "conf": {"spark.sql.shuffle.partitions": "8"}}
    """


def _one_line(message: str) -> UsageError:
    return UsageError(f"%%configure: {message}")


def _parse_body(text: str) -> dict[str, Any]:
    if not text.strip():
        raise _one_line('the cell is empty; write a JSON object such as {"driverMemory": "4g"}.')
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise _one_line(f"the cell is not valid JSON ({exc}).") from None
    if not isinstance(body, dict):
        raise _one_line(f"the cell must be a JSON object {{...}}, not a {type(body).__name__}.")
    unknown = sorted(set(body) - set(KNOWN_KEYS))
    if unknown:
        raise _one_line(f"unknown setting(s) {', '.join(map(repr, unknown))}; known: {', '.join(KNOWN_KEYS)}.")
    return body


def _sizing(body: dict[str, Any]) -> dict[str, str]:
    conf: dict[str, str] = {}
    for key, spark_key in SIZING_CONF.items():
        if key not in body:
            continue
        value = body[key]
        if key.endswith("Memory"):
            if not isinstance(value, str) or not _MEMORY.match(value.strip()):
                raise _one_line(f"{key} takes a size such as \"4g\" or \"512m\", got {json.dumps(value)}.")
            conf[spark_key] = value.strip()
        else:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise _one_line(f"{key} takes a whole number >= 1, got {json.dumps(value)}.")
            conf[spark_key] = str(value)
    return conf


def _conf(body: dict[str, Any]) -> dict[str, str]:
    from fabric_livy_magics.livy.settings import looks_secret

    conf = body.get("conf", {})
    if not isinstance(conf, dict):
        raise _one_line(f"conf must be a JSON object of Spark settings, got {json.dumps(conf)}.")
    out: dict[str, str] = {}
    for key, value in conf.items():
        if looks_secret(key):
            raise _one_line(f"refusing conf {key}: it looks like a secret, and cells are saved in the "
                            "notebook. Put it in a Fabric Environment or the server's configuration.")
        if isinstance(value, (dict, list)) or value is None:
            raise _one_line(f"conf {key} takes a text, number or true/false value, got {json.dumps(value)}.")
        out[str(key)] = json.dumps(value) if isinstance(value, bool) else str(value)
    return out


def session_options(base: SessionOptions, body: dict[str, Any]) -> SessionOptions:
    """``base`` with the checked settings of a ``%%configure`` body on top."""
    changes: dict[str, Any] = {"conf": {**dict(base.conf), **_conf(body), **_sizing(body)}}
    if "name" in body:
        if not isinstance(body["name"], str) or not body["name"].strip():
            raise _one_line(f"name takes a text, got {json.dumps(body['name'])}.")
        changes["name"] = body["name"]
    if "kind" in body:
        if body["kind"] not in KINDS:
            raise _one_line(f"kind must be one of {', '.join(KINDS)}, got {json.dumps(body['kind'])}.")
        changes["kind"] = body["kind"]
    if "environment" in body:
        environment = body["environment"]
        ident = environment.get("id") if isinstance(environment, dict) else environment
        if not isinstance(ident, str) or not ident.strip():
            raise _one_line('environment takes {"id": "<Environment id>"}.')
        changes["environment_id"] = ident.strip()
    return replace(base, **changes)


def configure(state: NotebookState, line: str, cell: str) -> None:
    """Check the settings (nothing remote on a mistake), then apply them as the module says."""
    args = parse(configure_magic, line)
    body = _parse_body(cell)
    probe = session_options(SessionOptions(), body)  # every value checked before anything changes
    target, options = state.ensure_target()
    if probe.environment_id and not target.is_fabric:
        raise _one_line("environment works only with Fabric targets.")
    updated = session_options(options, body)
    summary = ", ".join(f"{key} {json.dumps(body[key])}" for key in body) or "none"
    if state.slot.starter is not None:
        # Started in the background after `%livy connect` (eager start): no cell has used it
        # yet, so it is replaced by one with these settings, as a first-cell %%configure means.
        state.close_session()
        state.options = updated
        state.start_in_background()
        print(f"Session settings set: {summary}. The session starting in the background was replaced "
              "by one with them.")
        return
    state.options = updated
    session = state.session
    if session is not None:
        session.options = updated  # what its next start (or restart) uses
    if session is None or not session.started:
        print(f"Session settings set: {summary}. The next session starts with them.")
        return
    if not args.force:
        print(f"Session settings set: {summary}. Session {session.session_id} keeps running with its "
              "old settings: `%%configure -f` or `%livy restart` starts one with these.")
        return
    old = session.session_id
    restarted = session.restart()
    print(f"Session {restarted.session_id} started with: {summary} (session {old} was replaced).")


def register_configure(shell: Any) -> bool:
    """Register ``%%configure`` unless another extension owns the name (sparkmagic has one);
    returns whether it was registered."""
    if "configure" in shell.magics_manager.magics["cell"]:
        return False

    def configure_cell(line: str, cell: str) -> None:
        from fabric_livy_magics.notebook.commands.cell import state_of

        configure(state_of(shell), line, cell)

    configure_cell.__doc__ = configure_magic.__doc__
    shell.register_magic_function(configure_cell, magic_kind="cell", magic_name="configure")
    return True


def unregister_configure(shell: Any) -> None:
    """Forget ``%%configure`` if it is ours (``%unload_ext``)."""
    cell_magics = shell.magics_manager.magics["cell"]
    if getattr(cell_magics.get("configure"), "__name__", "") == "configure_cell":
        cell_magics.pop("configure", None)
