-- alembic-env-lsp for Neovim 0.7 and later, without plugins (put it in init.lua).
-- Starts one server per project (the folder holding alembic.ini) and attaches it to Python
-- buffers and to alembic.ini. The server itself only analyses Alembic env scripts.
-- tests/editors/test_nvim.py runs exactly this file, with vim.g.alembic_env_lsp_cmd set to
-- the test's virtualenv; without it, `alembic-env-lsp` must be on $PATH.
local cmd = vim.g.alembic_env_lsp_cmd or { 'alembic-env-lsp', 'serve' }
local clients = {} -- root folder -> client id

local function root_dir(bufnr)
  local folder = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':p:h')
  local ini = vim.fn.findfile('alembic.ini', folder .. ';')
  return ini ~= '' and vim.fn.fnamemodify(ini, ':p:h') or folder
end

local function attach(args)
  if vim.bo[args.buf].buftype ~= '' then return end
  local root = root_dir(args.buf)
  local id = clients[root]
  if not (id and vim.lsp.get_client_by_id(id)) then
    id = vim.lsp.start_client({ name = 'alembic-env-lsp', cmd = cmd, root_dir = root })
    clients[root] = id
  end
  if id then vim.lsp.buf_attach_client(args.buf, id) end
end

local group = vim.api.nvim_create_augroup('alembic-env-lsp', { clear = true })
vim.api.nvim_create_autocmd('FileType', { group = group, pattern = 'python', callback = attach })
vim.api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, { group = group, pattern = 'alembic.ini', callback = attach })
