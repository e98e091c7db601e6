"""A refused access on any fsspec backend, as one clear error naming the location."""

from __future__ import annotations

from distinc.exceptions import StorageAccessError


def access_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "access refused" on the installed backends.

    ``PermissionError`` is what local files (EACCES), s3fs (HTTP 403) and gcsfs raise; botocore
    raises its own error when it finds no credentials at all.
    """
    errors: list[type[BaseException]] = [PermissionError]
    try:
        from botocore.exceptions import NoCredentialsError
    except ImportError:
        pass
    else:
        errors.append(NoCredentialsError)
    return tuple(errors)


def refused(what: str, url: str, error: BaseException, *, option: str) -> StorageAccessError:
    """The error for ``what`` at ``url`` refusing access; ``option`` holds the location's own
    storage options (``store_options``, ``data_options``)."""
    return StorageAccessError(
        f"Access to {what} at {url!r} was refused ({type(error).__name__}: {error}). Give its "
        f"credentials in 'storage_options' or {option!r}, the distinc storage settings, or the "
        "backend's own environment (for S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
        "~/.aws).",
        url=url,
        options=("storage_options", option),
    )
