"""The analyst notebook runs top to bottom (on a training subsample) and reports a macro-F1 for each view."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "analyst_walkthrough.ipynb"
SAMPLE = "400"  # stratified records to train on: enough for 5-fold CV with calibration inside each fold
MACRO_F1_LINE = re.compile(r"^(decision|triage) view: macro-F1 (\d\.\d{3}) ", re.MULTILINE)


def stream_text(cell: nbformat.NotebookNode) -> str:
    outputs = cell.get("outputs", [])
    return "".join(output.get("text", "") for output in outputs if output.get("output_type") == "stream")


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> tuple[nbformat.NotebookNode, Path]:
    work = tmp_path_factory.mktemp("notebook")
    out = work / "out"
    environment = {
        "NOTEBOOK_SAMPLE": SAMPLE,
        "NOTEBOOK_OUT": str(out),
        "NOTEBOOK_DATA": str(REPO / "data" / "lgsco_decisions.jsonl"),
        # the kernel imports this working tree, whatever the venv's (possibly stale) editable install points at
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)  # the kernel inherits this process' environment
    try:
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        # "python3" resolves to this interpreter (jupyter_client maps a bare "python" to sys.executable, and falls
        # back to ipykernel's own spec), so a fresh `make test` venv needs no kernelspec install.
        client = NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=False,
                                resources={"metadata": {"path": str(work)}})
        client.execute()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return notebook, out


def test_notebook_runs_without_errors(executed):
    notebook, _ = executed
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells and all(cell.get("execution_count") for cell in code_cells)
    errors = [output for cell in code_cells for output in cell.get("outputs", []) if output["output_type"] == "error"]
    assert errors == []
    assert any(output.get("data", {}).get("image/png") for cell in code_cells for output in cell.get("outputs", [])), \
        "the notebook draws plots"


def test_key_cell_reports_macro_f1_of_the_models_it_trained(executed):
    notebook, out = executed
    [key_cell] = [cell for cell in notebook.cells if "macro-f1" in cell.metadata.get("tags", [])]
    printed = {view: float(value) for view, value in MACRO_F1_LINE.findall(stream_text(key_cell))}
    assert set(printed) == {"decision", "triage"}
    for view, value in printed.items():
        [model_dir] = [p for p in (out / "models").iterdir() if p.name.startswith(f"{view}-")]
        meta = json.loads((model_dir / "metadata.json").read_text())
        assert meta["n_train"] + meta["dropped_empty_view_text"] == int(SAMPLE)
        assert value == pytest.approx(meta["metrics"]["cv"]["model"]["macro_f1"], abs=5e-4)


def test_notebook_writes_the_html_report(executed):
    _, out = executed
    reports = list((out / "models").glob("decision-*/report.html"))
    assert len(reports) == 1
    assert 'id="errors"' in reports[0].read_text(encoding="utf-8")


def test_notebook_is_committed_without_outputs():
    """Outputs hold machine paths and megabytes of images; the repository keeps the notebook clean."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in notebook.cells if cell.cell_type == "code")
