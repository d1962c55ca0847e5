"""JupyterLab opens ready: the notebooks declare the project's kernel ``semhash``; ``make lab`` registers it
inside the venv; a Jupyter server on 127.0.0.1 starts that kernel and runs a cell of notebook 00 on it; and
``semhash reproduce`` keeps running the notebooks on a machine where no ``semhash`` kernel is registered,
because it names its own kernel."""

from __future__ import annotations

import inspect
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KERNEL = "semhash"


def test_notebooks_declare_the_semhash_kernel():
    for path in NOTEBOOKS:
        spec = nbformat.read(path, as_version=4).metadata.get("kernelspec", {})
        assert spec.get("name") == KERNEL and spec.get("language") == "python", \
            f"{path.name}: kernelspec {spec} should name the project's kernel {KERNEL!r}"


def test_reproduce_names_its_own_kernel():
    """papermill would otherwise look up the notebooks' ``semhash`` kernel, which a fresh machine lacks."""
    from semhash_lib.reproduce import run_notebooks

    assert inspect.signature(run_notebooks).parameters["kernel"].default == "python3"
    assert "kernel_name=kernel" in inspect.getsource(run_notebooks)


def test_make_lab_registers_the_kernel_inside_the_venv():
    text = (ROOT / "Makefile").read_text()
    recipe = text.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert recipe.lstrip().startswith("setup")
    assert "-m ipykernel install --sys-prefix --name semhash" in recipe
    assert "jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1" in recipe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _message(msg_type: str, content: dict, session: str) -> dict:
    return {"header": {"msg_id": uuid.uuid4().hex, "username": "test", "session": session, "msg_type": msg_type,
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": []}


def _execute(ws, code: str, session: str, timeout: float = 120) -> tuple[list[str], dict]:
    """Run ``code`` over the kernel websocket; returns (stream and result texts, the execute_reply content)
    once both the shell's execute_reply and the iopub status "idle" of this request have arrived (the two
    channels share the websocket but not an order)."""
    msg = _message("execute_request", {"code": code, "silent": False, "store_history": False,
                                       "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}, session)
    ws.send(json.dumps(msg))
    texts, result, idle, deadline = [], None, False, time.monotonic() + timeout
    while time.monotonic() < deadline and not (result is not None and idle):
        reply = json.loads(ws.recv())
        if reply.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
            continue
        kind = reply["msg_type"]
        if kind == "stream":
            texts.append(reply["content"]["text"])
        elif kind in ("execute_result", "display_data"):
            data = reply["content"]["data"]
            texts.append("[widget]" if "application/vnd.jupyter.widget-view+json" in data else data.get("text/plain", ""))
        elif kind == "error":
            texts.append(f"{reply['content']['ename']}: {reply['content']['evalue']}")
        elif kind == "execute_reply":
            result = reply["content"]
        elif kind == "status" and reply["content"]["execution_state"] == "idle":
            idle = True
    if result is not None and idle:
        return texts, result
    raise TimeoutError(f"no execute_reply within {timeout} s for {code[:60]!r}")


@pytest.fixture
def jupyter_env(tmp_path):
    """Jupyter's folders in ``tmp_path`` (nothing in ~), the ``semhash`` kernel registered into a temporary
    prefix whose share/jupyter is on JUPYTER_PATH, as ``make lab`` registers it into the venv's prefix."""
    env = dict(os.environ)
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), IPYTHONDIR=str(tmp_path / "ipython"),
               JUPYTER_PATH=str(tmp_path / "prefix" / "share" / "jupyter"), JUPYTER_PLATFORM_DIRS="1")
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", str(tmp_path / "prefix"), "--name",
                    KERNEL, "--display-name", "Python (semhash)"], env=env, check=True, capture_output=True)
    return env


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_jupyter_server_runs_a_cell_of_notebook_00_on_the_semhash_kernel(jupyter_env, tmp_path):
    import requests
    import websocket

    port, token = _free_port(), uuid.uuid4().hex
    log = open(tmp_path / "server.log", "w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
         f"--ServerApp.root_dir={ROOT / 'notebooks'}", "--ServerApp.allow_remote_access=False",
         f"--ServerApp.allow_root={os.name != 'nt' and os.geteuid() == 0}"],
        env=jupyter_env, stdout=log, stderr=subprocess.STDOUT)
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/api/status", headers=headers, timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None, "the Jupyter server exited:\n" + (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the Jupyter server did not answer within 120 s"
            time.sleep(0.5)
        assert requests.get(f"{base}/api/status", timeout=5).status_code == 403   # the token is required
        specs = requests.get(f"{base}/api/kernelspecs", headers=headers, timeout=10).json()["kernelspecs"]
        assert KERNEL in specs, f"kernelspecs: {sorted(specs)}"
        assert specs[KERNEL]["spec"]["display_name"] == "Python (semhash)"
        assert specs[KERNEL]["spec"]["argv"][0] == sys.executable

        kernel = requests.post(f"{base}/api/kernels", headers=headers, json={"name": KERNEL}, timeout=60).json()
        assert kernel["name"] == KERNEL
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/api/kernels/{kernel['id']}/channels",
                                         header=[f"Authorization: token {token}"], timeout=120)
        try:
            session = uuid.uuid4().hex
            nb = nbformat.read(ROOT / "notebooks" / "00_the_method_on_a_toy.ipynb", as_version=4)
            params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
            exercise = next(c for c in nb.cells if "exercise" in c.metadata.get("tags", []))
            texts, reply = _execute(ws, "import sys; print(sys.executable)", session)
            assert reply["status"] == "ok" and texts[0].strip() == sys.executable
            texts, reply = _execute(ws, params.source, session)
            assert reply["status"] == "ok", texts
            texts, reply = _execute(ws, exercise.source + "\nprint('passed =', bool(passed))", session)
            out = "".join(texts)
            assert reply["status"] == "ok", out
            assert "similarity_loss: not written yet" in out and "passed = False" in out
            # the live controls: in a kernel that a frontend talks to, toy_controls(True) displays a widget
            texts, reply = _execute(ws, "%matplotlib agg\nfrom semhash_lib.plotting import toy_controls\n"
                                        "form = toy_controls(True, steps=5, per_class=2)\n"
                                        "form.controls['kl_weight'].value = 0.5\nprint(sorted(form.controls))", session)
            assert reply["status"] == "ok", texts
            assert "[widget]" in texts and "['bits', 'k', 'kl_weight', 'lr', 'variant']" in "".join(texts)
        finally:
            ws.close()
        assert requests.delete(f"{base}/api/kernels/{kernel['id']}", headers=headers, timeout=30).status_code == 204
        assert f"http://127.0.0.1:{port}/" in (tmp_path / "server.log").read_text()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_reproduce_runs_a_notebook_whose_kernel_is_not_registered(tmp_path):
    """A fresh machine has no ``semhash`` kernel: run_notebooks must not look up the notebook's kernelspec."""
    from semhash_lib.reproduce import run_notebooks

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "semhash-never-registered", "display_name": "Python (semhash)",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell("profile = 'x'\nfigures_dir = '.'\nresults_dir = '.'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# fresh"), params, nbformat.v4.new_code_cell("print(6 * 7)")]
    path = tmp_path / "nb" / "00_fresh.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    records = run_notebooks([path], "test", tmp_path / "out", tmp_path / "f", tmp_path / "r", progress=False)
    executed = nbformat.read(records[0]["output"], as_version=4)
    assert executed.cells[-1].outputs[0]["text"].strip() == "42"
