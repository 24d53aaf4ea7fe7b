"""One module per request, each answering from a snapshot (see ../snapshot.py).

- diagnostic.py   textDocument/diagnostic (pull diagnostics)
- hover.py        textDocument/hover
- code_action.py  textDocument/codeAction and codeAction/resolve
- code_lens.py    textDocument/codeLens
- commands.py     workspace/executeCommand: explain, convert to async, fix all
- rewrite.py      the async conversion as a WorkspaceEdit (code action and command)
- results.py      the analysis a command works on (open, or the file on disk)

Each takes the session, asks it for a snapshot (which waits for the current analysis), and
builds the answer with convert.py. None of them changes the session's state.
"""
