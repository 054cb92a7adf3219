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


def test_every_variable_and_output_is_described(example_plans):
    undescribed = []

    def walk(module, where):
        for kind in ("variables", "outputs"):
            undescribed.extend(f"{where}{kind[:-1]}.{name}" for name, item in module.get(kind, {}).items()
                               if not item.get("description"))
        for name, call in module.get("module_calls", {}).items():
            walk(call["module"], f"{where}module.{name}.")

    walk(example_plans["minimal"].raw["configuration"]["root_module"], "")
    assert undescribed == []
