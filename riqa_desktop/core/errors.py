"""Typed errors, each carrying one line a photographer can act on.

Bad input must never surface as a traceback: the CLI and the GUI catch
`InputError` and show `str(error)`, then carry on with the next file.
"""


class RiqaError(Exception):
    """Base of every error the app reports to a person."""


class InputError(RiqaError):
    """A file could not be read as a photo; `reason` is the one-line message."""

    reason = "cannot read this file"

    def __init__(self, reason: str | None = None):
        super().__init__(reason or self.reason)


class FileIncompleteError(InputError):
    reason = "file is still being written (or was cut short)"


class NotAnImageError(InputError):
    reason = "not an image"


class UnsupportedFormatError(InputError):
    reason = "unsupported file format"


class ImageTooLargeError(InputError):
    reason = "image is too large to open safely"


class DicomNoPixelsError(InputError):
    reason = "DICOM without pixel data"


class UnsupportedCompressionError(InputError):
    reason = "unsupported compression"


class NotAFundusPhotoError(InputError):
    """The DICOM header says what the picture is, and it is not a fundus photo (never decoded)."""

    reason = "not a fundus photo"


class FileAccessError(InputError):
    reason = "file cannot be opened (permission denied or missing)"


class ModelError(RiqaError):
    """A shipped model is missing, altered or does not fit its card."""


class ModelMissingError(ModelError):
    pass


class WeightsIntegrityError(ModelError):
    pass
