"""Where an exported script goes so that the batch's target can read it.

In order:

1. ``script_url``: already uploaded by the person (``hdfs://``, ``abfss://``, ...): used as is;
2. Fabric (not loopback): uploaded to the lakehouse's ``Files/`` on OneLake (``livy/onelake.py``)
   under ``upload_dir`` (default ``Files/fabric-livy-jobs``), submitted by its ``abfss://`` URL;
3. ``upload_dir``: a folder the cluster reads too (a shared mount): the file is written there;
4. a loopback server (the local server, either URL shape) shares this disk: the file is written
   to this user's cache folder;
5. otherwise a plain remote Livy server cannot read it: ConfigurationError saying what to give.

File names carry a hash of the script (``etl-3f2a9c01d4e5.py``), so submitting the same job twice
reuses one file and a changed notebook never overwrites a job that may still be running.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.endpoints import Endpoint, FabricEndpoint

if TYPE_CHECKING:
    from fabric_livy_magics.livy.transport import TokenSource

__all__ = ["DEFAULT_ONELAKE_DIR", "PlacedScript", "jobs_cache_dir", "place_script", "script_file_name"]

DEFAULT_ONELAKE_DIR = "Files/fabric-livy-jobs"


@dataclass(frozen=True)
class PlacedScript:
    """``file`` is what the batch request names; ``where`` says it for people;
    ``target_lakehouse`` is set for Fabric (``spark.targetLakehouse``)."""

    file: str
    where: str
    target_lakehouse: str | None = None


def script_file_name(source: str, script: str) -> str:
    """``{notebook stem}-{12 hex digits of the script's SHA-256}.py``, safe in any URL."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(source).stem).strip("-.") or "notebook"
    return f"{stem}-{hashlib.sha256(script.encode()).hexdigest()[:12]}.py"


def jobs_cache_dir() -> Path:
    """This user's folder for scripts a local server runs (next to the token cache)."""
    from fabric_livy_magics.auth.cache import default_cache_path

    return default_cache_path().parent / "jobs"


def place_script(script: str, file_name: str, endpoint: Endpoint, *,
                 upload_dir: str | None = None, script_url: str | None = None,
                 storage_token: TokenSource | None = None,
                 onelake_url: str | None = None, cache_dir: Path | None = None) -> PlacedScript:
    """Put ``script`` where ``endpoint``'s Spark can read it (rules in the module docstring).
    ``storage_token`` is a token source for OneLake (scope ``onelake.ONELAKE_SCOPE``), asked
    for only when the script goes there."""
    lakehouse = endpoint.lakehouse_id if isinstance(endpoint, FabricEndpoint) else None
    if script_url:
        return PlacedScript(script_url, script_url, lakehouse)
    if isinstance(endpoint, FabricEndpoint) and not endpoint.is_loopback:
        from fabric_livy_magics.livy.onelake import ONELAKE_URL, OneLakeClient, OneLakePath

        if storage_token is None:
            raise ConfigurationError("Uploading the script to OneLake needs a sign-in; none is set.")
        folder = (upload_dir or DEFAULT_ONELAKE_DIR).strip("/")
        path = OneLakePath(endpoint.workspace_id, endpoint.lakehouse_id, f"{folder}/{file_name}")
        with OneLakeClient(storage_token, base_url=onelake_url or ONELAKE_URL) as onelake:
            url = onelake.upload(path, script.encode("utf-8"))
        return PlacedScript(url, f"OneLake {path.path} of lakehouse {path.lakehouse}", lakehouse)
    if upload_dir:
        target = _write(Path(upload_dir).expanduser(), file_name, script)
        return PlacedScript(str(target), str(target), lakehouse)
    if endpoint.is_loopback:
        target = _write(cache_dir or jobs_cache_dir(), file_name, script)
        return PlacedScript(str(target), str(target), lakehouse)
    raise ConfigurationError(
        f"The Livy server at {endpoint.root} cannot read a file on this machine. Give --upload-dir "
        "DIR (a folder the cluster reads too), or upload the exported script yourself "
        "(fabric-livy export) and give --script-url URL.")


def _write(folder: Path, name: str, text: str) -> Path:
    """Write ``folder/name`` atomically (a running job never reads half a file)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = (folder / name).resolve()
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as exc:
        raise ConfigurationError(f"Cannot write the job script into {folder}: {exc.strerror}.") from None
    return target
