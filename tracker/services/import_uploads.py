"""Files uploaded on the administrator's import page wait in the instance folder, named by their
SHA-256, until the import is confirmed (the confirmation names the hash; the file is not sent
again). A confirmed import removes its file; `tracker maintenance purge` removes the files
nobody confirmed within TRACKER_IMPORT_UPLOAD_RETENTION_HOURS: they hold patients' data."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

FOLDER = "imports"


def kept_path(instance_path: str, sha256: str) -> Path:
    """Where an uploaded file waits for its confirmation: named by its hash only."""
    folder = Path(instance_path) / FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"{sha256}.jsonl"


def keep(instance_path: str, sha256: str, data: bytes) -> None:
    """Keep an uploaded file (readable by its owner only); uploading it again restarts its
    time."""
    fd = os.open(kept_path(instance_path, sha256), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def purge_uploads(instance_path: str, kept_before: datetime) -> int:
    """Remove the uploads kept (last uploaded) before `kept_before`; how many were removed."""
    folder = Path(instance_path) / FOLDER
    if not folder.is_dir():
        return 0
    limit = kept_before.timestamp()
    removed = 0
    for path in folder.glob("*.jsonl"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # confirmed (and removed) meanwhile
    return removed
