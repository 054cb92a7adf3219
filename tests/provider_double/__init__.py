"""Offline OpenStack provider double for tests (never for real deployments).

`install(workdir)` writes a `terraform-provider-openstack` plugin executable and a CLI
configuration whose dev_overrides make Terraform load it as
registry.terraform.io/terraform-provider-openstack/openstack. Point TF_CLI_CONFIG_FILE at
the returned path.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent
SOURCE = "terraform-provider-openstack/openstack"
VERSION = "3.4.0"  # the release whose schema schema.json holds


def install(workdir: Path) -> Path:
    workdir = Path(workdir).resolve()
    launcher = (f"#!{sys.executable}\n"
                "import sys\n"
                f"sys.path.insert(0, {str(TESTS_DIR)!r})\n"
                "from provider_double.server import main\n"
                "main()\n")
    # Terraform < 1.15 `init` still looks the overridden provider up, so the same launcher is
    # also offered as an unpacked filesystem mirror package; dev_overrides wins at run time.
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
    package = workdir / "mirror" / "registry.terraform.io" / SOURCE / VERSION / f"{sys.platform}_{arch}"
    for directory in (workdir, package):
        directory.mkdir(parents=True, exist_ok=True)
        plugin = directory / "terraform-provider-openstack"
        plugin.write_text(launcher)
        plugin.chmod(0o755)
    config = workdir / "provider-double.tfrc"
    config.write_text(
        "provider_installation {\n"
        f'  dev_overrides {{\n    "{SOURCE}" = "{workdir}"\n  }}\n'
        f'  filesystem_mirror {{\n    path    = "{workdir / "mirror"}"\n    include = ["{SOURCE}"]\n  }}\n'
        f'  direct {{\n    exclude = ["{SOURCE}"]\n  }}\n'
        "}\n"
    )
    return config
