"""The server's secret (keys' HMAC, signed result URLs): from settings, or generated once into the data dir."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from bgremover.config import Settings

SECRET_FILE = "secret_key"


def load_secret_key(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: when several processes start at once, exactly one writes it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    for _ in range(50):  # another process may be between create and write
        value = path.read_text().strip()
        if value:
            return value.encode()
        import time
        time.sleep(0.05)
    raise RuntimeError(f"secret key file {path} is empty")
