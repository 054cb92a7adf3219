"""What the real provider (3.4.0) checks when Terraform configures it, before any resource is planned.

Its ConfigureProvider needs an identity endpoint or a clouds.yaml entry: `auth_url` (or
OS_AUTH_URL) or `cloud` (or OS_CLOUD), else "One of 'auth_url' or 'cloud' must be specified".
A `cloud` is looked up at once, in the first clouds.yaml found: OS_CLIENT_CONFIG_FILE if that
file exists, then clouds.yaml in the working directory, ~/.config/openstack/ (the home
directory of the user, not $HOME), /etc/openstack/.  No file, a file that is not YAML, a
missing entry, or an entry without auth_url (nor OS_AUTH_URL) each stop the plan.
Authentication itself waits until a resource needs the cloud (delayed_auth, on by default),
which a plan of new resources never does; so a dummy entry on 127.0.0.1 is enough to plan.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import yaml

NO_ENDPOINT = "One of 'auth_url' or 'cloud' must be specified"
# The wording of gophercloud/utils' clientconfig, wrapped the way the provider reports it.
NO_FILE = "unable to load clouds.yaml: no clouds.yml file found: file does not exist"
NOT_YAML = "unable to load clouds.yaml: failed to unmarshal yaml: {}"
NO_ENTRY = "cloud {} does not exist in clouds.yaml"
NO_AUTH_URL = "Missing input for argument [auth_url]"
EAGER_AUTH = ("delayed_auth = false makes the provider authenticate while it is configured; "
              "the offline double has no cloud to authenticate against")


def _setting(config: dict, name: str, env_var: str):
    """A provider argument, or the environment variable the provider falls back to."""
    value = config.get(name)
    return value if value not in (None, "") else os.environ.get(env_var) or None


def _home() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return os.environ.get("HOME", "")


def find_clouds_yaml() -> Path | None:
    explicit = os.environ.get("OS_CLIENT_CONFIG_FILE")
    if explicit and Path(explicit).is_file():
        return Path(explicit)
    for directory in (Path.cwd(), Path(_home()) / ".config" / "openstack", Path("/etc/openstack")):
        for name in ("clouds.yaml", "clouds.yml"):
            if (directory / name).is_file():
                return directory / name
    return None


def configure_error(config: dict) -> str | None:
    """The error the real provider's ConfigureProvider would return for this provider block, or None."""
    cloud = _setting(config, "cloud", "OS_CLOUD")
    auth_url = _setting(config, "auth_url", "OS_AUTH_URL")
    if not cloud and not auth_url:
        return NO_ENDPOINT
    if cloud:
        path = find_clouds_yaml()
        if path is None:
            return NO_FILE
        try:
            clouds = (yaml.safe_load(path.read_text()) or {}).get("clouds") or {}
        except (yaml.YAMLError, AttributeError) as err:
            return NOT_YAML.format(err)
        if cloud not in clouds:
            return NO_ENTRY.format(cloud)
        # With a cloud, the endpoint comes from the entry or OS_AUTH_URL, not from the block.
        if not ((clouds[cloud] or {}).get("auth") or {}).get("auth_url") and not os.environ.get("OS_AUTH_URL"):
            return NO_AUTH_URL
    delayed = config.get("delayed_auth")
    if delayed is False or (delayed is None and os.environ.get("OS_DELAYED_AUTH", "").lower() in ("false", "0")):
        return EAGER_AUTH
    return None
