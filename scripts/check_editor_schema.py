"""Check that the spec schema drives completion, hover and diagnostics in an editor.

A manual check, not part of the tests. It needs node and an installed
yaml-language-server (``npm install yaml-language-server``), and speaks LSP to it
over stdio:

    python scripts/check_editor_schema.py node_modules/yaml-language-server

It prints the completion labels inside an Affine layer and at a ``type:`` value,
hovers over a layer type and a property, the diagnostics of a document with
mistakes in it, and the diagnostics of every spec in specs/ (which should have none).
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "nnspec.schema.json"
SETTINGS = {"validate": True, "completion": True, "hover": True, "schemas": {SCHEMA.as_uri(): ["*.yaml"]}}

DOC = f"""# yaml-language-server: $schema={SCHEMA}
nnspec: 1
layers:
  - name: x
    type: Input
    size: [16]
  - name: fc
    type: Affine
    out_shape: 10
    OutShape: 3
{"    "}
  - name: t
    type: Tanhh
"""  # line 11 is four spaces: where completion is asked
# (line, character) positions in DOC
IN_AFFINE, TYPE_VALUE = (10, 4), (12, 12)
HOVERS = {"type: Affine": (7, 11), "out_shape": (8, 6)}


class Server:
    def __init__(self, server_dir):
        main = Path(server_dir) / "bin" / "yaml-language-server"
        self.proc = subprocess.Popen(
            ["node", str(main), "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.responses, self.diagnostics, self.next_id = queue.Queue(), {}, 0
        threading.Thread(target=self._read, daemon=True).start()

    def _send(self, message):
        body = json.dumps(dict(message, jsonrpc="2.0")).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def _read(self):
        out = self.proc.stdout
        while True:
            length = None
            while line := out.readline().strip():
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length is None:
                return  # server closed its output
            message = json.loads(out.read(length))
            method = message.get("method")
            if method and "id" in message:  # a request from the server
                result = None
                if method == "workspace/configuration":
                    result = [SETTINGS for _ in message["params"]["items"]]
                self._send({"id": message["id"], "result": result})
            elif method == "textDocument/publishDiagnostics":
                self.diagnostics[message["params"]["uri"]] = message["params"]["diagnostics"]
            elif "id" in message:
                self.responses.put(message)

    def request(self, method, params):
        self.next_id += 1
        self._send({"id": self.next_id, "method": method, "params": params})
        while True:
            message = self.responses.get(timeout=30)
            if message["id"] == self.next_id:
                return message.get("result")

    def notify(self, method, params):
        self._send({"method": method, "params": params})

    def start(self):
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": ROOT.as_uri(),
                "capabilities": {
                    "workspace": {"configuration": True},
                    "textDocument": {
                        "completion": {"completionItem": {"documentationFormat": ["markdown"]}},
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                    },
                },
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": {"yaml": SETTINGS}})

    def open(self, uri, text):
        self.notify(
            "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}
        )
        deadline = time.time() + 15
        while uri not in self.diagnostics and time.time() < deadline:
            time.sleep(0.1)
        return self.diagnostics.get(uri)

    def at(self, method, uri, position):
        line, character = position
        return self.request(method, {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})

    def stop(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        self.proc.wait(timeout=5)


def show_diagnostics(diagnostics):
    for d in diagnostics or []:
        print(f"    line {d['range']['start']['line'] + 1}: {d['message'][:120]}")


def main(server_dir):
    server = Server(server_dir)
    server.start()
    uri = (ROOT / "editor-check.yaml").as_uri()  # never written; the text is sent to the server
    diagnostics = server.open(uri, DOC)

    items = server.at("textDocument/completion", uri, IN_AFFINE)
    items = items["items"] if isinstance(items, dict) else items
    print("completion inside the Affine layer:", [i["label"] for i in items])
    items = server.at("textDocument/completion", uri, TYPE_VALUE)
    items = items["items"] if isinstance(items, dict) else items
    labels = [i["label"] for i in items]
    print(
        f"completion at a type value: {len(labels)} labels, with 'Tan':", [label for label in labels if "Tan" in label]
    )
    for what, position in HOVERS.items():
        hover = server.at("textDocument/hover", uri, position)
        text = hover["contents"]["value"] if hover else ""
        print(f"hover over {what}:", text.split("Allowed Values")[0].strip()[:300])
    print("diagnostics of the document with mistakes (OutShape, Tanhh):")
    show_diagnostics(diagnostics)

    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        found = server.open(spec.as_uri(), spec.read_text())
        print(f"{spec.name}: {len(found or [])} diagnostics")
        show_diagnostics(found)
    server.stop()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
