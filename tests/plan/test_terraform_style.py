"""terraform fmt and validate, as a pre-commit hook would run them."""

import subprocess

from paths import REPO


def test_terraform_is_formatted(terraform_binary):
    result = subprocess.run([terraform_binary, "fmt", "-check", "-recursive", "-diff", str(REPO)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"not formatted:\n{result.stdout}{result.stderr}"


def test_root_module_validates(terraform):
    out = terraform("terraform").execute_command("validate", "-no-color")
    assert out.retcode == 0 and "The configuration is valid" in out.out, out.out + out.err
