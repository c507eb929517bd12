"""The prompt-tuning notebook runs top to bottom on the embedded model (a handful of judge calls)."""
from pathlib import Path

import pytest
from support.paths import ROOT

NOTEBOOK = ROOT / "notebooks" / "prompt_tuning.ipynb"


@pytest.mark.slow
def test_prompt_tuning_notebook_runs_top_to_bottom(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    from radlabel.lm.embedded import installed

    if not installed():
        pytest.skip("embedded model chunk packages are not installed")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "demos; compile cost" in outputs
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
