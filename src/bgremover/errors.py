"""Every error bgremover raises on purpose, in one tree.

    BgRemoverError                 base; carries a stable machine-readable ``code``
    ├── InvalidImage               the bytes are not an image we accept
    │   ├── UnsupportedImage       unsupported_image: not JPEG, PNG or WebP
    │   ├── CorruptImage           corrupt_image: truncated or undecodable
    │   └── ImageTooLarge          image_too_large: bytes or pixels over the limit
    ├── ModelError
    │   ├── UnknownModel           unsupported_model: no such model or preset
    │   ├── ModelNotAvailable      model_not_available: weights not fetched
    │   ├── LicenseNotAccepted     license_not_accepted: AGPL weights without opt-in
    │   ├── ModelCorrupt           model_corrupt: file on disk fails its checksum
    │   └── FetchFailed            model_fetch_failed: client missing, network down, checksum differs
    └── ImageFetchFailed           image_fetch_failed: the image URL could not be fetched
        └── ForbiddenAddress       image_fetch_forbidden: SSRF policy refused the address

The service maps ``code`` to HTTP statuses in one place (``web/errors.py``); the engine
never knows about HTTP.
"""
from __future__ import annotations


class BgRemoverError(Exception):
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidImage(BgRemoverError):
    code = "unsupported_image"


class UnsupportedImage(InvalidImage):
    code = "unsupported_image"


class CorruptImage(InvalidImage):
    code = "corrupt_image"


class ImageTooLarge(InvalidImage):
    code = "image_too_large"


class ModelError(BgRemoverError):
    code = "model_error"


class UnknownModel(ModelError):
    code = "unsupported_model"


class ModelNotAvailable(ModelError):
    code = "model_not_available"


class LicenseNotAccepted(ModelError):
    code = "license_not_accepted"


class ModelCorrupt(ModelError):
    code = "model_corrupt"


class FetchFailed(ModelError):
    code = "model_fetch_failed"


class ImageFetchFailed(BgRemoverError):
    code = "image_fetch_failed"


class ForbiddenAddress(ImageFetchFailed):
    code = "image_fetch_forbidden"
