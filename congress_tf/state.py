"""Per-environment files beside env.yaml, in .congress-tf/<name>/.

    tfvars.json          the root module's variables, no secret in it (safe to read and share)
    secrets.json         generated secrets (tfvars format: {"secrets": {...}}), mode 0600,
                         created once and never rewritten
    terraform.tfstate    Terraform state (local backend; else the backend env.yaml names)
    backups/             a copy of the state before each apply and destroy
    tls/                 haproxy_tls without the operator's files: the generated CA (ca.pem, for
                         clients; ca-key.pem 0600) and the API's certificate (api.pem, api-key.pem
                         0600), see congress_tf.tls
    lock                 held (flock) by the one congress-tf run working on the environment
    work/                a copy of the package's terraform/ and cloudinit/, brought up to date each run;
                         the package's own copy stays read-only
    tf-data/             TF_DATA_DIR: providers and modules, kept between runs

Nothing here is created before env.yaml has been validated.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import secrets as _secrets
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from congress_tf.envfile import Env, HttpState, S3State

DIRNAME = ".congress-tf"
GENERATED = ("db_password", "rabbit_password", "cluster_auth_key", "vrrp_password", "encryption_key", "erlang_cookie")
BACKEND_FILE = "congress_tf_backend.tf.json"  # written into the working copy
# Files holding secrets (Terraform's state and saved plan carry every one of them in clear).
PRIVATE_FILES = ("secrets.json", "secrets.tfvars.json", "terraform.tfstate", "terraform.tfstate.backup", "last.tfplan")
SECRET_CHARS_OK = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-")


class LockedError(Exception):
    """Another congress-tf run holds the environment."""


class SecretsError(Exception):
    """A secret is missing or unusable (bad input: exit 2)."""


def new_secret(name: str = "") -> str:
    """32 URL-safe characters: within Terraform's [A-Za-z0-9._~-], well over 16; for
    encryption_key a Fernet key (32 random bytes, URL-safe base64), as Congress reads it."""
    if name == "encryption_key":
        return base64.urlsafe_b64encode(_secrets.token_bytes(32)).decode()
    return _secrets.token_urlsafe(24)


def is_fernet_key(value: str) -> bool:
    try:
        return len(value) == 44 and len(base64.urlsafe_b64decode(value.encode())) == 32 \
            and base64.urlsafe_b64encode(base64.urlsafe_b64decode(value.encode())).decode() == value
    except (ValueError, UnicodeError):
        return False


class StateDir:
    def __init__(self, env_file: str | Path, name: str):
        self.env_file = Path(env_file).resolve()
        self.name = name
        self.root = self.env_file.parent / DIRNAME / name

    tfvars = property(lambda self: self.root / "tfvars.json")
    secrets_file = property(lambda self: self.root / "secrets.json")
    state_file = property(lambda self: self.root / "terraform.tfstate")
    backups = property(lambda self: self.root / "backups")
    lock_file = property(lambda self: self.root / "lock")
    work = property(lambda self: self.root / "work")
    module = property(lambda self: self.root / "work" / "terraform")
    data_dir = property(lambda self: self.root / "tf-data")
    plan_file = property(lambda self: self.root / "last.tfplan")
    tls_dir = property(lambda self: self.root / "tls")

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def make_private(self) -> None:
        """Mode 0600 on every file holding secrets, whatever the umask or an older run left."""
        for name in PRIVATE_FILES:
            path = self.root / name
            if path.is_file():
                os.chmod(path, 0o600)

    # --- lock ---------------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the environment for this run; a second run is refused, naming the holder's pid."""
        self.create()
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                raise LockedError(f"environment {self.name!r} is in use by another congress-tf run "
                                  f"(pid {holder}; lock {self.lock_file}); wait for it to finish") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock

    # --- secrets ------------------------------------------------------------------------------

    def secrets(self, env: Env, environ: dict[str, str] | None = None) -> dict[str, str]:
        """Generated secrets (created once, mode 0600, never rewritten) plus the ones the operator
        gives through the environment variables env.yaml names (keystone and fencing passwords)."""
        environ = os.environ if environ is None else environ
        if not self.secrets_file.exists():
            self.create()
            self._write_secrets({name: new_secret(name) for name in GENERATED}, exclusive=True)
        stored = json.loads(self.secrets_file.read_text())["secrets"]
        missing = [name for name in GENERATED if name not in stored]
        if missing:
            # A file from an older congress-tf: the new secrets are made once and added; the
            # others stay as they are.
            stored.update({name: new_secret(name) for name in missing})
            self._write_secrets(stored, exclusive=False)
        if not is_fernet_key(stored["encryption_key"]):
            raise SecretsError(f"secrets.encryption_key in {self.secrets_file} must be a Fernet key: 32 bytes "
                               "in URL-safe base64 (44 characters ending in =)")
        values = {name: stored[name] for name in GENERATED}
        given = {"keystone_password": (env.auth_strategy == "keystone", env.keystone.password_env),
                 "fencing_password": (env.fencing is not None, env.fencing.password_env if env.fencing else "")}
        for name, (needed, var) in given.items():
            value = environ.get(var) or stored.get(name) or ""
            if needed and not value:
                raise SecretsError(f"secrets.{name}: {'auth_strategy keystone' if 'keystone' in name else 'fencing'} "
                                   f"needs it: set ${var} or add \"{name}\" to {self.secrets_file}")
            if value and (len(value) < 16 or not set(value) <= SECRET_CHARS_OK):
                raise SecretsError(f"secrets.{name} (from ${var} or {self.secrets_file.name}) must be at least "
                                   "16 characters of A-Z, a-z, 0-9 and . _ ~ -")
            values[name] = value
        return values

    def _write_secrets(self, values: dict[str, str], exclusive: bool) -> None:
        """secrets.json, mode 0600 from its first byte; replaced in one rename when it exists."""
        path = self.secrets_file if exclusive else self.secrets_file.with_suffix(".json.new")
        flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"secrets": values}, out, indent=2)
            out.write("\n")
        if not exclusive:
            os.replace(path, self.secrets_file)

    # --- Terraform's working copy ----------------------------------------------------------------

    def prepare_work(self, env: Env, terraform_dir: Path, cloudinit_dir: Path, tfvars: dict[str, Any] | None,
                     secret_values: dict[str, str] | None,
                     sensitive_vars: dict[str, Any] | None = None) -> tuple[Path, Path, bool]:
        """The module's working copy brought up to date, the backend file, tfvars.json and the secrets var file
        (those two left as they are when None: commands that only read state). `sensitive_vars`
        (e.g. haproxy_tls) go into the secrets var file beside `secrets`.

        Returns (tfvars path, secrets var file path, whether `terraform init` is needed)."""
        self.create()
        # Brought up to date file by file rather than copied afresh: the same files (stale ones go,
        # the provider lock file Terraform wrote stays) without rewriting ~70 unchanged ones each run.
        ignore = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*", "*.tfvars", "*.tfvars.json",
                                        "*.tfplan", "__pycache__")
        _sync_tree({"terraform": terraform_dir, "cloudinit": cloudinit_dir}, self.work, ignore,
                   keep=(".terraform.lock.hcl", BACKEND_FILE))
        backend = self.backend(env)
        write_file(self.module / BACKEND_FILE, json.dumps(backend, indent=2) + "\n", 0o600)
        if tfvars is not None:
            write_file(self.tfvars, json.dumps(tfvars, indent=2, sort_keys=True) + "\n", 0o644)
        # Terraform reads secrets from a var file of its own: tfvars.json stays free of them.
        secrets_vars = self.root / "secrets.tfvars.json"
        if secret_values is not None:
            write_file(secrets_vars, json.dumps({"secrets": secret_values, **(sensitive_vars or {})}) + "\n", 0o600)
        stamp_file = self.root / "init.stamp"
        needs_init = not (stamp_file.exists() and stamp_file.read_text() == self._init_stamp()
                          and self.data_dir.exists())
        return self.tfvars, secrets_vars, needs_init

    def init_done(self) -> None:
        (self.root / "init.stamp").write_text(self._init_stamp())

    def _init_stamp(self) -> str:
        """What `terraform init` depends on: the module's files (the backend file among them) and the
        provider lock file, as init left them."""
        return hashlib.sha256(_tree_digest(self.module)).hexdigest()

    def backend(self, env: Env) -> dict[str, Any]:
        state = env.state
        if isinstance(state, S3State):
            config: dict[str, Any] = {"bucket": state.bucket, "key": state.key, "region": state.region,
                                      "use_path_style": state.use_path_style}
            if state.endpoint:
                config.update(endpoints={"s3": state.endpoint}, skip_credentials_validation=True,
                              skip_region_validation=True, skip_requesting_account_id=True,
                              skip_metadata_api_check=True, skip_s3_checksum=True)
            return {"terraform": {"backend": {"s3": config}}}
        if isinstance(state, HttpState):
            config = {"address": state.address}
            if state.lock_address:
                config["lock_address"] = state.lock_address
            if state.unlock_address:
                config["unlock_address"] = state.unlock_address
            return {"terraform": {"backend": {"http": config}}}
        return {"terraform": {"backend": {"local": {"path": str(self.state_file)}}}}

    def terraform_env(self) -> dict[str, str]:
        return {"TF_DATA_DIR": str(self.data_dir)}

    # --- backups ---------------------------------------------------------------------------------

    def backup(self, state_text: str | None = None) -> Path | None:
        """Keep a copy of the state as it is now (the local file, or `state_text` pulled from a
        remote backend); None when there is no state yet."""
        if state_text is None:
            if not self.state_file.exists() or self.state_file.stat().st_size == 0:
                return None
            state_text = self.state_file.read_text()
        if not state_text.strip():
            return None
        self.backups.mkdir(parents=True, exist_ok=True)
        os.chmod(self.backups, 0o700)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = self.backups / f"terraform.tfstate.{stamp}.{os.getpid()}"
        write_file(path, state_text, 0o600)
        return path


def write_file(path: Path, text: str, mode: int) -> None:
    """`text` into `path` with `mode`, replaced in one rename; left as it is when it holds `text`."""
    try:
        if path.read_text() == text:
            os.chmod(path, mode)
            return
    except (OSError, UnicodeDecodeError):
        pass
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _tree_digest(root: Path) -> bytes:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.tf")) + sorted(root.rglob("*.tf.json")) + sorted(root.glob(".terraform.lock.hcl")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.digest()


def _sync_tree(entries: dict[str, Path], dest: Path, ignore, keep: tuple[str, ...] = ()) -> None:
    """Make directory `dest` hold exactly `entries` (name -> source file or directory, directories
    copied whole but for what `ignore` leaves out, as shutil.copytree), writing only the files that
    differ. Names in `keep` are left alone wherever they are."""
    dest.mkdir(exist_ok=True)
    for name in os.listdir(dest):
        if name not in entries and name not in keep:
            _remove(dest / name)
    for name, source in entries.items():
        target = dest / name
        if source.is_dir():
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                _remove(target)
            names = os.listdir(source)
            skipped = ignore(str(source), names)
            _sync_tree({n: source / n for n in names if n not in skipped}, target, ignore, keep)
        elif not (target.is_file() and not target.is_symlink() and target.read_bytes() == source.read_bytes()):
            if target.exists() or target.is_symlink():
                _remove(target)
            shutil.copy2(source, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
