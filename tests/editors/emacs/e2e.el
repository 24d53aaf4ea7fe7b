;;; e2e.el --- alembic-env-lsp in a real editor: batch Emacs 28+ with eglot  -*- lexical-binding: t -*-
;;
;; Loads the user configuration docs/editors.md shows (alembic-env-lsp.el), opens env.py of a
;; broken async project and goes through what a user does: diagnostics appear (flymake), hover
;; explains the engine call, the ENV021 quick fix is picked from `eglot-code-actions' and the
;; file saved, the diagnostic clears, the server shuts down.
;;
;; Run:  emacs --batch -l tests/editors/emacs/e2e.el
;; Env:  E2E_PROJECT  the project (a git repository, so project.el finds its root; modified in place!)
;;       E2E_CONFIG   the user configuration to load (alembic-env-lsp.el)
;;       PATH         must find the `alembic-env-lsp' the configuration starts
;; Exit: 0 when every step passed; otherwise the number of the failed step, with
;;       "FAIL step N (name): why" on stderr.  tests/editors/test_emacs.py runs this.

(require 'cl-lib)
(require 'subr-x)
(require 'eglot)
(require 'flymake)
(require 'python)

(defconst e2e-steps '(start diagnostics hover codeaction apply cleared shutdown))
(defconst e2e-fix-title "Guard with 'if config.config_file_name is not None:'")
(defconst e2e-guard "if config.config_file_name is not None:\n    fileConfig(config.config_file_name)\n")
(defconst e2e-timeout 20.0)
(defvar e2e-t0 (float-time))
(defvar e2e-step 0)

(defun e2e-log (fmt &rest args)
  (princ (format "[emacs %6.0fms] %s\n" (* 1000 (- (float-time) e2e-t0)) (apply #'format fmt args))))

(define-error 'e2e-failure "e2e failure")

(defun e2e-fail (fmt &rest args)
  (signal 'e2e-failure (list (apply #'format fmt args))))

(defun e2e-step (name)
  (setq e2e-step (1+ (cl-position name e2e-steps)))
  (e2e-log "step %d/%d: %s" e2e-step (length e2e-steps) name))

(defun e2e-env (name)
  (let ((value (getenv name)))
    (if (and value (not (string-empty-p value))) value (e2e-fail "environment variable %s is not set" name))))

(defun e2e-wait (pred &optional secs)
  "Run timers and process output until PRED is non-nil or SECS pass; PRED's last value."
  (let ((end (+ (float-time) (or secs e2e-timeout))) value)
    (while (and (not (setq value (funcall pred))) (< (float-time) end))
      (accept-process-output nil 0.05))
    value))

(defun e2e-line-of (needle)
  "1-based line of the first line containing NEEDLE, and the column where it starts."
  (save-excursion
    (goto-char (point-min))
    (unless (search-forward needle nil t) (e2e-fail "no line containing %S" needle))
    (goto-char (match-beginning 0))
    (cons (line-number-at-pos) (current-column))))

(defun e2e-diags ()
  "The diagnostics flymake shows for the current buffer: a list of (CODE LINE MESSAGE)."
  (flymake-start)
  (mapcar (lambda (d)
            (let ((lsp (cdr (assoc 'eglot-lsp-diag (flymake-diagnostic-data d)))))
              (list (plist-get lsp :code) (line-number-at-pos (flymake-diagnostic-beg d))
                    (flymake-diagnostic-text d))))
          (flymake-diagnostics)))

(defun e2e-describe (diags)
  (mapconcat (lambda (d) (format "  %d: %s %s" (nth 1 d) (nth 0 d) (nth 2 d))) diags "\n"))

(defun e2e-main ()
  (let* ((project (file-name-as-directory (expand-file-name (e2e-env "E2E_PROJECT"))))
         (config (e2e-env "E2E_CONFIG"))
         (env-py (expand-file-name "migrations/env.py" project))
         server engine fileconfig diags)
    (setq eglot-connect-timeout 60
          eglot-send-changes-idle-time 0.05
          eglot-autoshutdown nil)

    ;; 1. start: the configuration's hook starts eglot when env.py is opened
    (e2e-step 'start)
    (load config nil t)
    (find-file env-py)
    (unless (derived-mode-p 'python-mode) (e2e-fail "env.py opened in %s" major-mode))
    (run-hooks 'post-command-hook) ; eglot-ensure connects after the command that opened the file
    (setq server (e2e-wait (lambda () (and eglot--managed-mode (eglot-current-server)))))
    (unless server (e2e-fail "eglot does not manage env.py after %.0fs" e2e-timeout))
    (let ((command (process-command (jsonrpc--process server)))
          (root (file-name-as-directory (expand-file-name (project-root (eglot--project server))))))
      (unless (equal command '("alembic-env-lsp" "serve"))
        (e2e-fail "eglot started %S, not the configured alembic-env-lsp serve" command))
      (unless (equal (file-truename root) (file-truename project))
        (e2e-fail "project root is %s, expected %s" root project))
      (e2e-log "eglot manages env.py: %S (%s), root %s" command (executable-find "alembic-env-lsp") root))

    ;; 2. diagnostics
    (e2e-step 'diagnostics)
    (setq engine (e2e-line-of "async_engine_from_config(")
          fileconfig (e2e-line-of "fileConfig(config.config_file_name)"))
    (unless (e2e-wait (lambda () (let ((codes (mapcar #'car (e2e-diags))))
                                   (and (member "ENV001" codes) (member "ENV021" codes)))))
      (e2e-fail "ENV001 and ENV021 not both shown within %.0fs; got:\n%s" e2e-timeout (e2e-describe (e2e-diags))))
    (setq diags (e2e-diags))
    (e2e-log "%d diagnostics:\n%s" (length diags) (e2e-describe diags))
    (let ((env001 (assoc "ENV001" diags)) (env021 (assoc "ENV021" diags)))
      (unless (= (nth 1 env001) (car engine)) (e2e-fail "ENV001 on line %d, expected %d" (nth 1 env001) (car engine)))
      (unless (string-match-p "psycopg2" (nth 2 env001)) (e2e-fail "ENV001 does not name psycopg2: %s" (nth 2 env001)))
      (unless (= (nth 1 env021) (car fileconfig)) (e2e-fail "ENV021 on line %d, expected %d" (nth 1 env021) (car fileconfig))))
    (dolist (d diags)
      (when (string-match-p "secret" (nth 2 d)) (e2e-fail "diagnostic shows the password: %s" (nth 2 d))))

    ;; 3. hover on the async_engine_from_config call
    (e2e-step 'hover)
    (goto-char (point-min))
    (forward-line (1- (car engine)))
    (move-to-column (cdr engine))
    (let* ((hover (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams)))
           (contents (plist-get hover :contents))
           (text (cond ((stringp contents) contents) ((plist-get contents :value)) (t (format "%S" contents)))))
      (cl-flet ((bad (why) (e2e-fail "%s; the hover:\n%s" why text)))
        (unless (string-match-p "async" text) (bad "hover does not mention async"))
        (unless (string-match-p "psycopg2" text) (bad "hover does not mention psycopg2"))
        (when (string-match-p "secret" text) (bad "hover shows the password"))
        (let ((start 0) (seen nil))
          (while (string-match "^#+ ENV[0-9]+.*$" text start)
            (when (member (match-string 0 text) seen)
              (bad (format "hover repeats the section %S" (match-string 0 text))))
            (push (match-string 0 text) seen)
            (setq start (match-end 0)))))
      (e2e-log "hover (%d chars) mentions async and psycopg2, no password: %s"
               (length text) (car (split-string text "\n"))))

    ;; 4. code actions at the ENV021 line, picked from eglot's menu as a user does
    (e2e-step 'codeaction)
    (goto-char (point-min))
    (forward-line (1- (car fileconfig)))
    (let ((offered nil)
          (last-nonmenu-event ?\r)) ; a keyboard-invoked command: eglot prompts with completing-read
      (cl-letf (((symbol-function 'completing-read)
                 (lambda (_prompt collection &rest _)
                   (setq offered (mapcar #'car collection))
                   (if (member e2e-fix-title offered) e2e-fix-title
                     (e2e-fail "%S not offered; the menu: %S" e2e-fix-title offered)))))
        (eglot-code-actions (point) nil nil t))
      (e2e-log "eglot offered %S; picked %S" offered e2e-fix-title))

    ;; 5. the edit is in the buffer; save it
    (e2e-step 'apply)
    (unless (save-excursion (goto-char (point-min)) (search-forward e2e-guard nil t))
      (e2e-fail "the buffer has no guarded fileConfig() after the quick fix"))
    (save-buffer)
    (let ((on-disk (with-temp-buffer (insert-file-contents env-py) (buffer-string))))
      (unless (string-match-p (regexp-quote e2e-guard) on-disk)
        (e2e-fail "the saved file has no guarded fileConfig()")))
    (e2e-log "applied %S and saved %s" e2e-fix-title env-py)

    ;; 6. ENV021 clears, ENV001 moves down one line
    (e2e-step 'cleared)
    (unless (e2e-wait (lambda () (let ((ds (e2e-diags)))
                                   (and (not (assoc "ENV021" ds))
                                        (equal (nth 1 (assoc "ENV001" ds)) (1+ (car engine)))))))
      (e2e-fail "after the fix, expected ENV021 gone and ENV001 on line %d; got:\n%s"
                (1+ (car engine)) (e2e-describe (e2e-diags))))
    (e2e-log "ENV021 cleared; ENV001 now on line %d" (1+ (car engine)))

    ;; 7. shutdown
    (e2e-step 'shutdown)
    (let ((process (jsonrpc--process server)))
      (eglot-shutdown server)
      (unless (e2e-wait (lambda () (not (process-live-p process))))
        (e2e-fail "server process still alive after shutdown")))
    (e2e-log "server shut down")
    (e2e-log "PASS")))

(condition-case err
    (progn (e2e-main) (kill-emacs 0))
  (error
   (let ((n (max e2e-step 1)))
     (message "FAIL step %d (%s): %s" n (nth (1- n) e2e-steps)
              (if (eq (car err) 'e2e-failure) (cadr err) (error-message-string err)))
     (kill-emacs n))))
