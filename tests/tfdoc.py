"""The root module's inputs and outputs as Markdown tables, kept in terraform/README.md.

The tables come from Terraform's own view of the configuration (the `configuration` of
`terraform show -json PLAN`), so they cannot drift from variables.tf and outputs.tf:
tests/plan/test_docs.py fails when the README's copy differs. To refresh it:

    terraform -chdir=terraform show -json PLAN | python tests/tfdoc.py terraform/README.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BEGIN, END = "<!-- BEGIN TFDOC -->", "<!-- END TFDOC -->"


def tables(configuration: dict) -> str:
    root = configuration["root_module"]
    rows = ["| input | description | default |", "|---|---|---|"]
    for name, var in sorted(root["variables"].items()):
        default = "required" if "default" not in var else f"`{json.dumps(var['default'])}`"
        sensitive = " (sensitive)" if var.get("sensitive") else ""
        rows.append(f"| `{name}` | {_cell(var.get('description', ''))}{sensitive} | {_cell(default)} |")
    rows += ["", "| output | description |", "|---|---|"]
    for name, out in sorted(root["outputs"].items()):
        sensitive = " (sensitive)" if out.get("sensitive") else ""
        rows.append(f"| `{name}` | {_cell(out.get('description', ''))}{sensitive} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def between_markers(readme: str) -> str:
    return readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()


if __name__ == "__main__":
    path = Path(sys.argv[1])
    text = path.read_text()
    head, rest = text.split(BEGIN, 1)
    path.write_text(f"{head}{BEGIN}\n{tables(json.load(sys.stdin)['configuration'])}\n{END}{rest.split(END, 1)[1]}")
