-- End-to-end check of alembic-env-lsp in a real editor: headless Neovim 0.7+ with the user
-- configuration from alembic-env-lsp.lua (the snippet docs/editors.md shows).
--
-- Run:  nvim --headless --clean -c "luafile tests/editors/nvim/e2e.lua"
-- Env:  E2E_PROJECT  a copy of a project whose migrations/env.py is alembic's async template with
--                    a psycopg2 URL in alembic.ini and an unguarded fileConfig() (modified in place!)
--       E2E_CONFIG   the user configuration to load (alembic-env-lsp.lua)
--       E2E_PYTHON   python with alembic-env-lsp installed (sets vim.g.alembic_env_lsp_cmd)
-- Exit: 0 when every step passed; otherwise the number of the failed step (see STEPS), with
--       "FAIL step N (name): why" on stderr. tests/editors/test_nvim.py runs this.

local STEPS = { 'start', 'diagnostics', 'hover', 'codelens', 'codeaction', 'apply', 'cleared', 'ini', 'shutdown' }
local FIX_TITLE = "Guard with 'if config.config_file_name is not None:'"
local GUARD = 'if config.config_file_name is not None:'
local TIMEOUT = tonumber(os.getenv('E2E_TIMEOUT_MS') or '') or 20000

local T0 = vim.loop.hrtime()
local current = 0

local function log(fmt, ...)
  io.stdout:write(string.format('[nvim %6.0fms] ', (vim.loop.hrtime() - T0) / 1e6) .. string.format(fmt, ...) .. '\n')
  io.stdout:flush()
end

local Failure = {}

local function fail(fmt, ...)
  error(setmetatable({ msg = string.format(fmt, ...) }, Failure), 0)
end

local function step(n, name)
  assert(STEPS[n] == name, 'step table out of date: ' .. name)
  current = n
  log('step %d/%d: %s', n, #STEPS, name)
end

local function env(name)
  local value = os.getenv(name)
  if not value or value == '' then fail('environment variable %s is not set', name) end
  return value
end

local function read_file(path)
  local fh = assert(io.open(path, 'r'))
  local text = fh:read('*a')
  fh:close()
  return text
end

-- The line (0-based) of the first buffer line containing `needle` (plain text) and the byte column.
local function find(bufnr, needle)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    local col = line:find(needle, 1, true)
    if col then return i - 1, col - 1 end
  end
  fail('no line containing %q in the buffer', needle)
end

local function by_code(bufnr)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    found[d.code] = found[d.code] or {}
    table.insert(found[d.code], d)
  end
  return found
end

local function describe(diags)
  local out = {}
  for _, d in ipairs(diags) do
    table.insert(out, string.format('  %d:%d %s %s [%s]', d.lnum + 1, d.col + 1, tostring(d.code), d.message, tostring(d.source)))
  end
  return table.concat(out, '\n')
end

-- The clients attached to a buffer (vim.lsp.get_clients from 0.10, buf_get_clients before).
local function clients_of(bufnr)
  if vim.lsp.get_clients then return vim.lsp.get_clients({ bufnr = bufnr }) end
  return vim.lsp.buf_get_clients(bufnr)
end

-- The LSP diagnostics on the cursor line, as vim.lsp.buf.code_action() puts them in the context.
local function line_diagnostics(bufnr, lnum)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr, { lnum = lnum })) do
    local lsp = d.user_data and d.user_data.lsp or {}
    if lsp.range then -- 0.10+ keeps the whole LSP diagnostic
      table.insert(out, lsp)
    else -- 0.7-0.9: rebuild it (columns are ASCII here, so bytes = UTF-16 units)
      table.insert(out, vim.tbl_extend('keep', {
        range = { start = { line = d.lnum, character = d.col }, ['end'] = { line = d.end_lnum, character = d.end_col } },
        severity = d.severity, message = d.message, source = d.source, code = d.code,
      }, lsp))
    end
  end
  return out
end

-- One request, synchronously; returns the result of `client_id` or fails naming the method.
local function request(bufnr, client_id, method, params)
  local res, err = vim.lsp.buf_request_sync(bufnr, method, params, TIMEOUT)
  if not res then fail('%s: no answer (%s)', method, tostring(err)) end
  local answer = res[client_id]
  if not answer then fail('%s: no answer from alembic-env-lsp: %s', method, vim.inspect(res)) end
  if answer.err then fail('%s: error %s', method, vim.inspect(answer.err)) end
  return answer.result
end

local function main()
  local project = env('E2E_PROJECT')
  local config_file = env('E2E_CONFIG')
  vim.g.alembic_env_lsp_cmd = { env('E2E_PYTHON'), '-m', 'alembic_env_lsp', 'serve' }
  local env_py = project .. '/migrations/env.py'

  -- 1. start: the user configuration starts the server when env.py is opened --------------
  step(1, 'start')
  local started, exited = nil, nil
  local start_client = vim.lsp.start_client
  vim.lsp.start_client = function(config) -- observe what the configuration starts, and its exit
    started = config
    config.on_exit = function(code, signal) exited = { code = code, signal = signal } end
    return start_client(config)
  end
  vim.cmd('luafile ' .. vim.fn.fnameescape(config_file))
  vim.cmd('edit ' .. vim.fn.fnameescape(env_py))
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].filetype ~= 'python' then fail('env.py has filetype %q', vim.bo[bufnr].filetype) end
  if not started then fail('opening env.py started no language server') end
  local client
  local ok = vim.wait(TIMEOUT, function()
    for _, c in pairs(clients_of(bufnr)) do
      if c.name == 'alembic-env-lsp' and c.initialized then client = c end
    end
    return client ~= nil or exited ~= nil
  end, 20)
  if not ok or not client then
    fail('the server did not initialize within %d ms (exit: %s); cmd = %s', TIMEOUT, vim.inspect(exited), vim.inspect(started.cmd))
  end
  if vim.loop.fs_realpath(client.config.root_dir) ~= vim.loop.fs_realpath(project) then
    fail('root_dir is %s, expected the project %s', client.config.root_dir, project)
  end
  log('server initialized: %s, root_dir=%s, offset_encoding=%s', vim.inspect(client.config.cmd, { newline = ' ', indent = '' }),
      client.config.root_dir, tostring(client.offset_encoding))

  -- 2. diagnostics pushed after didOpen --------------------------------------------------------
  step(2, 'diagnostics')
  local engine_line, engine_col = find(bufnr, 'async_engine_from_config(')
  local fileconfig_line = find(bufnr, 'fileConfig(config.config_file_name)')
  ok = vim.wait(TIMEOUT, function()
    local found = by_code(bufnr)
    return found.ENV001 ~= nil and found.ENV021 ~= nil
  end, 20)
  local diags = vim.diagnostic.get(bufnr)
  if not ok then fail('ENV001 and ENV021 not both published within %d ms; got:\n%s', TIMEOUT, describe(diags)) end
  log('%d diagnostics:\n%s', #diags, describe(diags))
  local found = by_code(bufnr)
  local env001, env021 = found.ENV001[1], found.ENV021[1]
  for _, d in ipairs(diags) do
    if d.source ~= 'alembic-env' then fail('diagnostic %s has source %q', tostring(d.code), tostring(d.source)) end
    if d.message:find('secret', 1, true) then fail('diagnostic %s shows the password: %s', d.code, d.message) end
  end
  if env001.lnum ~= engine_line then fail('ENV001 on line %d, expected %d (the engine call)', env001.lnum + 1, engine_line + 1) end
  if env001.severity ~= vim.diagnostic.severity.ERROR then fail('ENV001 severity %s, expected ERROR', tostring(env001.severity)) end
  if not env001.message:find('psycopg2', 1, true) then fail('ENV001 message does not name psycopg2: %s', env001.message) end
  if env021.lnum ~= fileconfig_line then fail('ENV021 on line %d, expected %d (fileConfig)', env021.lnum + 1, fileconfig_line + 1) end
  local lsp_env021 = env021.user_data and env021.user_data.lsp or {}
  if not (lsp_env021.codeDescription and lsp_env021.codeDescription.href) then
    fail('ENV021 has no codeDescription link: %s', vim.inspect(lsp_env021))
  end
  log('ENV001 on line %d names psycopg2; ENV021 on line %d links %s', env001.lnum + 1, env021.lnum + 1, lsp_env021.codeDescription.href)

  -- 3. hover on the async_engine_from_config call -------------------------------------------
  step(3, 'hover')
  vim.api.nvim_win_set_cursor(0, { engine_line + 1, engine_col })
  local hover = request(bufnr, client.id, 'textDocument/hover', vim.lsp.util.make_position_params(0, client.offset_encoding))
  if not hover or not hover.contents then fail('no hover on async_engine_from_config') end
  local text = table.concat(vim.lsp.util.convert_input_to_markdown_lines(hover.contents), '\n')
  local function hover_fail(why) fail('%s; the hover:\n%s', why, text) end
  if not text:lower():find('async', 1, true) then hover_fail('hover does not mention async') end
  if not text:find('psycopg2', 1, true) then hover_fail('hover does not mention psycopg2') end
  if text:find('secret', 1, true) then hover_fail('hover shows the password') end
  if not text:find('ENV001', 1, true) then hover_fail('hover over the ENV001 range does not explain ENV001') end
  for heading in text:gmatch('\n(#+ ENV%d+[^\n]*)') do
    local _, times = text:gsub('\n' .. vim.pesc(heading) .. '\n', '')
    if times > 1 then hover_fail(string.format('hover repeats the section %q %d times', heading, times)) end
  end
  local first = vim.split(text, '\n', { plain = true })
  log('hover (%d lines) mentions async and psycopg2, no password:\n    %s', #first,
      table.concat(vim.list_slice(first, 1, 8), '\n    '))

  -- 4. code lens at the top of the env script ---------------------------------------------------
  step(4, 'codelens')
  local lenses = request(bufnr, client.id, 'textDocument/codeLens', { textDocument = vim.lsp.util.make_text_document_params() }) or {}
  if #lenses == 0 then fail('no code lens') end
  local lens = lenses[1]
  if not lens.command then
    lens = request(bufnr, client.id, 'codeLens/resolve', lens)
  end
  local title = lens.command and lens.command.title or ''
  log('code lens on line %d: %s', lens.range.start.line + 1, title)
  if lens.range.start.line ~= 0 then fail('code lens on line %d, expected line 1', lens.range.start.line + 1) end
  if not title:lower():find('async', 1, true) then fail('code lens title does not say async: %q', title) end
  if title:find('secret', 1, true) then fail('code lens shows the password: %q', title) end

  -- 5. code actions on the ENV021 line, as :lua vim.lsp.buf.code_action() asks for them ---------
  step(5, 'codeaction')
  vim.api.nvim_win_set_cursor(0, { fileconfig_line + 1, 0 })
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  params.context = { diagnostics = line_diagnostics(bufnr, fileconfig_line) }
  if #params.context.diagnostics == 0 then fail('no diagnostics on the fileConfig line for the context') end
  local actions = request(bufnr, client.id, 'textDocument/codeAction', params) or {}
  local titles, action = {}, nil
  for _, a in ipairs(actions) do
    table.insert(titles, string.format('%q (%s)', a.title, tostring(a.kind)))
    if a.title == FIX_TITLE then action = a end
  end
  log('%d code actions: %s', #actions, table.concat(titles, ', '))
  if not action then fail('no %q action', FIX_TITLE) end
  if action.kind ~= 'quickfix' then fail('%q has kind %s, expected quickfix', FIX_TITLE, tostring(action.kind)) end
  if not action.edit and not action.command then
    action = request(bufnr, client.id, 'codeAction/resolve', action)
  end
  if not action.edit then fail('%q has no edit: %s', FIX_TITLE, vim.inspect(action)) end

  -- 6. apply the quick fix and write the file ----------------------------------------------------
  step(6, 'apply')
  vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
  vim.cmd('silent write')
  local on_disk = read_file(env_py)
  local guarded = on_disk:find(GUARD .. '\n    fileConfig(config.config_file_name)\n', 1, true)
  if not guarded then fail('the file on disk has no guarded fileConfig():\n%s', on_disk:sub(1, 800)) end
  if vim.bo[bufnr].modified then fail('buffer still modified after :write') end
  log('applied %q and wrote %s', FIX_TITLE, env_py)

  -- 7. the server re-checks the changed text: ENV021 clears, ENV001 moves down one line -----------
  step(7, 'cleared')
  ok = vim.wait(TIMEOUT, function()
    found = by_code(bufnr)
    return found.ENV021 == nil and found.ENV001 ~= nil and found.ENV001[1].lnum == engine_line + 1
  end, 20)
  diags = vim.diagnostic.get(bufnr)
  if not ok then fail('after the fix, expected ENV021 gone and ENV001 on line %d; got:\n%s', engine_line + 2, describe(diags)) end
  log('ENV021 cleared; ENV001 now on line %d; %d diagnostics left', found.ENV001[1].lnum + 1, #diags)

  -- 8. alembic.ini: the configuration attaches the same server; the URL line shows ENV001 ------
  step(8, 'ini')
  vim.cmd('edit ' .. vim.fn.fnameescape(project .. '/alembic.ini'))
  local ini = vim.api.nvim_get_current_buf()
  local attached = false
  for _, c in pairs(clients_of(ini)) do attached = attached or c.id == client.id end
  if not attached then fail('alembic.ini is not attached to the alembic-env-lsp client') end
  local url_line = find(ini, 'sqlalchemy.url =')
  ok = vim.wait(TIMEOUT, function() return by_code(ini).ENV001 ~= nil end, 20)
  diags = vim.diagnostic.get(ini)
  if not ok then fail('no ENV001 on alembic.ini within %d ms; got:\n%s', TIMEOUT, describe(diags)) end
  local ini001 = by_code(ini).ENV001[1]
  if ini001.lnum ~= url_line then fail('ENV001 on alembic.ini line %d, expected %d (sqlalchemy.url)', ini001.lnum + 1, url_line + 1) end
  if ini001.message:find('secret', 1, true) then fail('alembic.ini diagnostic shows the password: %s', ini001.message) end
  log('alembic.ini: ENV001 on line %d (sqlalchemy.url)', ini001.lnum + 1)

  -- 9. shutdown + exit: the server process ends cleanly ---------------------------------------
  step(9, 'shutdown')
  vim.lsp.stop_client(client.id)
  if not vim.wait(TIMEOUT, function() return exited ~= nil end, 20) then fail('server still running %d ms after shutdown', TIMEOUT) end
  if exited.code ~= 0 then fail('server exited with code %s signal %s', tostring(exited.code), tostring(exited.signal)) end
  log('server exited with code 0')
  log('PASS')
end

local ok, err = xpcall(main, function(e)
  if getmetatable(e) == Failure then return e.msg end
  return debug.traceback(tostring(e), 2)
end)
if ok then
  vim.cmd('qall!')
else
  local n = current > 0 and current or 1
  io.stderr:write(string.format('FAIL step %d (%s): %s\n', n, STEPS[n], err))
  io.stderr:flush()
  vim.cmd('cquit ' .. n)
end
