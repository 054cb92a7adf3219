"""`pip install .` as README says: the wheel holds the package and its Terraform and cloud-init
files, and the build leaves nothing behind in the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from paths import REPO


def test_building_the_wheel_leaves_no_build_directory_in_the_tree(tmp_path):
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    tree = tmp_path / "src"
    for name in filter(None, tracked.decode().split("\0")):
        source = REPO / name
        if source.is_file():  # a file another change deleted is not in the tree
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes(source.read_bytes())
    before = {p.name for p in tree.iterdir()}
    # As `pip install .` builds: in an isolated environment with setuptools from the index.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path / "dist"), str(tree)], check=True, capture_output=True)
    left = {p.name for p in tree.iterdir()} - before
    assert left <= {"congress_tf.egg-info"}, left  # egg-info is .gitignore'd; build/ would not be
    (wheel,) = (tmp_path / "dist").glob("congress_tf-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "congress_tf/_terraform/main.tf" in names and "congress_tf/_cloudinit/scripts/congress-tf-lib.sh" in names
    assert not any(n.startswith(("tests/", "build_backend")) for n in names)
