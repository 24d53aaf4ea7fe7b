;; alembic-env-lsp with eglot (built into Emacs 29+, the elpa-eglot package on Emacs 28).
;; Eglot talks to one server per buffer: this entry replaces your usual Python server
;; (docs/editors.md shows how to run both). tests/editors/test_emacs.py loads exactly this
;; file, with the test's virtualenv first on PATH.
(with-eval-after-load 'eglot
  (add-to-list 'eglot-server-programs
               '((python-mode python-ts-mode) . ("alembic-env-lsp" "serve"))))
(add-hook 'python-mode-hook #'eglot-ensure)
(add-hook 'python-ts-mode-hook #'eglot-ensure)
