"""congress-tf: deploy OpenStack Congress in its HA layout with Terraform."""


def __getattr__(name: str) -> str:
    # __version__ is looked up when asked for: importlib.metadata would cost every command ~20 ms.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("congress-tf")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
